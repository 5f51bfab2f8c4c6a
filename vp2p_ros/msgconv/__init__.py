"""ROS message data <-> numpy, written against message-shaped objects (no rclpy needed)."""

from vp2p_ros.msgconv.image import ENCODINGS, array_to_image, image_to_array, image_to_rgb8
from vp2p_ros.msgconv.pointcloud2 import (
    POINTFIELD_DTYPES,
    CloudArrays,
    arrays_to_pointcloud2,
    pointcloud2_to_arrays,
)

__all__ = [
    "ENCODINGS",
    "POINTFIELD_DTYPES",
    "CloudArrays",
    "array_to_image",
    "arrays_to_pointcloud2",
    "image_to_array",
    "image_to_rgb8",
    "pointcloud2_to_arrays",
]
