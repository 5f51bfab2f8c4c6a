"""PJLab CalibAnything sample frames (``calib.png|jpg``, ``calib.pcd``, ``calib.txt``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vp2p_ros.camera import CameraModel
from vp2p_ros.data.frame import Frame
from vp2p_ros.data.io import read_key_value_calib, read_rgb, require
from vp2p_ros.data.pcd import read_pcd
from vp2p_ros.errors import DatasetError

__all__ = ["load_pjlab"]


def load_pjlab(folder: str | Path) -> Frame:
    """Load one CalibAnything frame.

    ``calib.txt`` holds ``K`` (3x3), ``D`` (OpenCV k1 k2 p1 p2 [k3]) and ``T`` (3x4 LiDAR ->
    camera); the image is the raw distorted one, so the camera model is ``plumb_bob``.
    """
    folder = Path(folder)
    path = folder / "calib.txt"
    calib = read_key_value_calib(path)
    K = require(calib, "K", 9, path).reshape(3, 3)
    if "D" not in calib:
        raise DatasetError(f"{path}: missing entry 'D'")
    T = np.vstack([require(calib, "T", 12, path).reshape(3, 4), [0, 0, 0, 1]])
    img_path = next(
        (folder / n for n in ("calib.png", "calib.jpg") if (folder / n).is_file()),
        folder / "calib.png",
    )
    image = read_rgb(img_path)
    cloud = read_pcd(folder / "calib.pcd")
    xyz = np.stack([cloud["x"], cloud["y"], cloud["z"]], -1).astype(np.float32)
    keep = np.all(np.isfinite(xyz), axis=1)
    inten = cloud["intensity"].astype(np.float32) if "intensity" in cloud.dtype.names else None
    stamp = 0
    if "timestamp" in cloud.dtype.names and keep.any():
        stamp = int(float(np.median(cloud["timestamp"][keep])) * 1e9)
    h, w = image.shape[:2]
    return Frame(
        image=image,
        points=xyz[keep],
        intensity=None if inten is None else inten[keep],
        camera=CameraModel(w, h, K, calib["D"], "plumb_bob"),
        T_cam_lidar=T,
        stamp_ns=stamp,
        points_stamp_ns=stamp,
        name=f"pjlab/{folder.name}",
    )
