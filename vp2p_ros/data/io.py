"""Small file readers shared by the dataset loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vp2p_ros.errors import DatasetError

__all__ = ["read_rgb", "read_velodyne_bin", "read_key_value_calib"]


def read_rgb(path: str | Path) -> np.ndarray:
    """Read a PNG/JPEG as (H, W, 3) uint8 RGB.

    Raises:
        DatasetError: missing or undecodable file.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"image not found: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError(f"cannot decode image {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


def read_velodyne_bin(path: str | Path, columns: int = 4) -> np.ndarray:
    """Read a KITTI / nuScenes float32 scan (N, columns).

    Raises:
        DatasetError: missing file or a size that is not a multiple of the row size.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"scan not found: {path}")
    size = path.stat().st_size
    if size % (4 * columns):
        raise DatasetError(
            f"{path}: {size} bytes is not a multiple of {columns} float32 "
            f"columns (truncated file or wrong column count)"
        )
    return np.fromfile(path, dtype="<f4").reshape(-1, columns)


def read_key_value_calib(path: str | Path) -> dict[str, np.ndarray]:
    """Parse ``key: v1 v2 ...`` calibration files (KITTI, pjlab); non-numeric lines are skipped.

    Raises:
        DatasetError: missing file.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"calibration file not found: {path}")
    out = {}
    for line in path.read_text().splitlines():
        if ":" not in line:
            continue
        key, _, rest = line.partition(":")
        try:
            out[key.strip()] = np.array([float(v) for v in rest.split()], dtype=np.float64)
        except ValueError:
            continue  # e.g. calib_time: 15-Mar-2012 11:37:16
    return out


def require(calib: dict, key: str, size: int, path) -> np.ndarray:
    """Return ``calib[key]`` checked to have ``size`` values."""
    if key not in calib:
        raise DatasetError(f"{path}: missing entry {key!r} (have {sorted(calib)})")
    if calib[key].size != size:
        raise DatasetError(f"{path}: {key!r} has {calib[key].size} values, expected {size}")
    return calib[key]
