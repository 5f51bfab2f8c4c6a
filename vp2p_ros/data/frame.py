"""The one sample type every reader returns and every stage consumes."""

from __future__ import annotations

import dataclasses

import numpy as np

from vp2p_ros.camera import CameraModel

__all__ = ["Frame"]


@dataclasses.dataclass
class Frame:
    """One synchronised camera image and LiDAR scan.

    Attributes:
        image: (H, W, 3) uint8 RGB, the raw (possibly distorted) image ``camera`` describes.
        points: (N, 3) float32, metres, LiDAR frame.
        intensity: (N,) float32 as the sensor reports it (KITTI reflectance 0..1, many drivers
            0..255), or None.
        camera: intrinsics of ``image``.
        T_cam_lidar: (4, 4) ground-truth or reference extrinsic (LiDAR -> camera optical
            frame), or None when unknown.
        stamp_ns: image capture time (ns since the epoch, or since the sequence start).
        points_stamp_ns: scan time (ns), same clock.
        name: a human-readable id (dataset/sequence/index).
        normals: optional (N, 3) unit surface normals in the LiDAR frame.
    """

    image: np.ndarray
    points: np.ndarray
    intensity: np.ndarray | None
    camera: CameraModel
    T_cam_lidar: np.ndarray | None = None
    stamp_ns: int = 0
    points_stamp_ns: int = 0
    name: str = ""
    normals: np.ndarray | None = None

    @classmethod
    def from_pinhole_scan(
        cls,
        image: np.ndarray,
        scan: np.ndarray,
        K: np.ndarray,
        T_cam_lidar: np.ndarray,
        name: str,
        stamp_ns: int,
        points_stamp_ns: int,
    ) -> Frame:
        """Frame of a rectified (distortion-free) image and an (N, >=4) x, y, z, intensity scan."""
        h, w = image.shape[:2]
        return cls(
            image=image,
            points=scan[:, :3],
            intensity=scan[:, 3],
            camera=CameraModel(w, h, K, [], "plumb_bob"),
            T_cam_lidar=T_cam_lidar,
            stamp_ns=stamp_ns,
            points_stamp_ns=points_stamp_ns,
            name=name,
        )

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"image must be (H, W, 3) uint8, got {self.image.shape} {self.image.dtype}"
            )
        if (self.image.shape[1], self.image.shape[0]) != (self.camera.width, self.camera.height):
            raise ValueError(
                f"image is {self.image.shape[1]}x{self.image.shape[0]} but the "
                f"camera model is {self.camera.width}x{self.camera.height}"
            )
        self.points = np.asarray(self.points, dtype=np.float32)
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"points must be (N, 3), got {self.points.shape}")
        if self.intensity is not None:
            self.intensity = np.asarray(self.intensity, dtype=np.float32).reshape(-1)
            if len(self.intensity) != len(self.points):
                raise ValueError(
                    f"{len(self.intensity)} intensities for {len(self.points)} points"
                )
        if self.normals is not None and np.shape(self.normals) != self.points.shape:
            raise ValueError(f"normals must be {self.points.shape}, got {np.shape(self.normals)}")
        if self.T_cam_lidar is not None:
            T = np.asarray(self.T_cam_lidar, dtype=np.float64)
            if T.shape != (4, 4) or not np.all(np.isfinite(T)):
                raise ValueError("T_cam_lidar must be a finite 4x4 matrix")
            self.T_cam_lidar = T
