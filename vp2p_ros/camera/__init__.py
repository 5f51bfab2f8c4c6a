"""Camera models (pinhole, plumb_bob, rational_polynomial, equidistant)."""

from vp2p_ros.camera.models import DISTORTION_MODELS, CameraModel
from vp2p_ros.camera.projection import (
    CameraTensors,
    grid_coordinates,
    project_components,
    project_points,
)

__all__ = [
    "CameraModel",
    "CameraTensors",
    "DISTORTION_MODELS",
    "grid_coordinates",
    "project_components",
    "project_points",
]
