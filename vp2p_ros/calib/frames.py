"""Synchronised sensor messages -> a :class:`Frame` (ROS-free: messages are duck-typed)."""

from __future__ import annotations

from typing import Any

from vp2p_ros.camera import CameraModel
from vp2p_ros.data import Frame
from vp2p_ros.errors import MalformedMessageError
from vp2p_ros.msgconv import image_to_rgb8, pointcloud2_to_arrays

__all__ = ["frame_from_messages", "stamp_ns"]


def stamp_ns(header: Any) -> int:
    """``header.stamp`` in integer nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def frame_from_messages(image: Any, info: Any, cloud: Any, min_points: int = 100) -> Frame:
    """Convert one synchronised (Image, CameraInfo, PointCloud2) set.

    Raises:
        MessageConversionError (or a subclass), CameraModelError: the messages cannot be used;
            the caller reports it and keeps running.
    """
    camera = CameraModel.from_camera_info(info)
    rgb = image_to_rgb8(image)
    if rgb.shape[:2] != (camera.height, camera.width):
        raise MalformedMessageError(
            f"image is {rgb.shape[1]}x{rgb.shape[0]} but camera_info says "
            f"{camera.width}x{camera.height}"
        )
    arrays = pointcloud2_to_arrays(cloud)
    if len(arrays.xyz) < min_points:
        raise MalformedMessageError(
            f"point cloud has {len(arrays.xyz)} finite points (< {min_points})"
        )
    return Frame(
        image=rgb,
        points=arrays.xyz.astype("float32"),
        intensity=None if arrays.intensity is None else arrays.intensity.astype("float32"),
        camera=camera,
        stamp_ns=stamp_ns(image.header),
        points_stamp_ns=stamp_ns(cloud.header),
        name=image.header.frame_id,
    )
