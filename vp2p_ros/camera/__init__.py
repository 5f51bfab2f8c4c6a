"""Camera models (pinhole, plumb_bob, rational_polynomial, equidistant)."""

from vp2p_ros.camera.models import DISTORTION_MODELS, CameraModel

__all__ = ["CameraModel", "DISTORTION_MODELS"]
