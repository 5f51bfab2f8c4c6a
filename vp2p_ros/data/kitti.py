"""KITTI readers: raw (synced + rectified drives), odometry (VP2P's layout) and object.

All return :class:`Frame` with ``T_cam_lidar`` mapping Velodyne points into the *rectified*
camera-k frame whose intrinsics are ``P_rect_0k[:, :3]``: the stereo baseline folded into
``P`` is moved into the extrinsic, as VP2P's loader does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vp2p_ros.data.frame import Frame
from vp2p_ros.data.io import read_key_value_calib, read_rgb, read_velodyne_bin, require
from vp2p_ros.errors import DatasetError

__all__ = [
    "split_projection_matrix",
    "load_kitti_raw",
    "load_kitti_object",
    "load_kitti_odometry",
    "kitti_raw_indices",
]

_PERIOD_NS = 100_000_000  # KITTI sensors run at 10 Hz


def split_projection_matrix(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a rectified 3x4 ``P = K [I | t]`` into K (3, 3) and the 4x4 translation T(t).

    Same decomposition as VP2P's ``kitti_dataset.py``: ``tz = P[2,3]``,
    ``tx = (P[0,3] - cx tz) / fx``, ``ty = (P[1,3] - cy tz) / fy``.
    """
    P = np.asarray(P, dtype=np.float64).reshape(3, 4)
    K = P[:, :3].copy()
    tz = P[2, 3]
    T = np.eye(4)
    T[:3, 3] = ((P[0, 3] - K[0, 2] * tz) / K[0, 0], (P[1, 3] - K[1, 2] * tz) / K[1, 1], tz)
    return K, T


def _pad4(R: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R.reshape(3, 3)
    if t is not None:
        T[:3, 3] = t
    return T


def _frame(image, scan, K, T, name, index, stamps=None) -> Frame:
    stamp = int(stamps[index]) if stamps is not None else index * _PERIOD_NS
    return Frame.from_pinhole_scan(image, scan, K, T, name, stamp, stamp)


def _find_calib(root: Path, name: str) -> Path:
    for d in (root, root.parent):
        if (d / name).is_file():
            return d / name
    raise DatasetError(f"{name} not found in {root} or {root.parent}")


def _read_timestamps(path: Path) -> np.ndarray | None:
    """KITTI raw timestamps.txt ('2011-09-26 13:02:25.964389445' per line) -> ns, or None."""
    if not path.is_file():
        return None
    out = []
    for line in path.read_text().split("\n"):
        if line.strip():
            out.append(np.datetime64(line.strip().replace(" ", "T"), "ns").astype(np.int64))
    return np.asarray(out, dtype=np.int64)


def kitti_raw_indices(drive: str | Path, camera: int = 2) -> list[int]:
    """Frame indices present in a KITTI raw drive folder (images with a matching scan)."""
    drive = Path(drive)
    imgs = {int(p.stem) for p in (drive / f"image_{camera:02d}" / "data").glob("*.png")}
    scans = {int(p.stem) for p in (drive / "velodyne_points" / "data").glob("*.bin")}
    return sorted(imgs & scans)


def load_kitti_raw(drive: str | Path, index: int, camera: int = 2) -> Frame:
    """Load one frame of a KITTI raw synced+rectified drive.

    Args:
        drive: folder with ``image_0k/data/*.png`` and ``velodyne_points/data/*.bin``; the
            calibration files (``calib_cam_to_cam.txt``, ``calib_velo_to_cam.txt``) are looked
            for in it and in its parent (the official date-folder layout).
        index: frame number.
        camera: 0..3 (2 = left colour).

    Projection: ``P_rect_0k @ R_rect_00 @ Tr_velo_to_cam``; here ``K = P_rect_0k[:, :3]`` and
    ``T_cam_lidar = T(P_rect_0k) @ R_rect_00 @ Tr_velo_to_cam``. Stamps come from
    ``timestamps.txt`` when present, else ``index * 100 ms``.
    """
    drive = Path(drive)
    c2c_path = _find_calib(drive, "calib_cam_to_cam.txt")
    v2c_path = _find_calib(drive, "calib_velo_to_cam.txt")
    c2c, v2c = read_key_value_calib(c2c_path), read_key_value_calib(v2c_path)
    K, T_p = split_projection_matrix(require(c2c, f"P_rect_{camera:02d}", 12, c2c_path))
    R_rect = _pad4(require(c2c, "R_rect_00", 9, c2c_path))
    Tr = _pad4(require(v2c, "R", 9, v2c_path), require(v2c, "T", 3, v2c_path))
    img_dir = drive / f"image_{camera:02d}"
    image = read_rgb(img_dir / "data" / f"{index:010d}.png")
    scan = read_velodyne_bin(drive / "velodyne_points" / "data" / f"{index:010d}.bin")
    stamps = _read_timestamps(img_dir / "timestamps.txt")
    frame = _frame(
        image, scan, K, T_p @ R_rect @ Tr, f"kitti_raw/{drive.name}/{index:010d}", index, stamps
    )
    lidar_stamps = _read_timestamps(drive / "velodyne_points" / "timestamps.txt")
    if lidar_stamps is not None:
        frame.points_stamp_ns = int(lidar_stamps[index])
    return frame


def load_kitti_object(root: str | Path, index: int) -> Frame:
    """Load a KITTI 3D-object frame (``image_2``, ``velodyne``, ``calib`` folders).

    Projection: ``P2 @ R0_rect @ Tr_velo_to_cam`` (padded to 4x4).
    """
    root = Path(root)
    path = root / "calib" / f"{index:06d}.txt"
    calib = read_key_value_calib(path)
    K, T_p = split_projection_matrix(require(calib, "P2", 12, path))
    T = (
        T_p
        @ _pad4(require(calib, "R0_rect", 9, path))
        @ np.vstack([require(calib, "Tr_velo_to_cam", 12, path).reshape(3, 4), [0, 0, 0, 1]])
    )
    image = read_rgb(root / "image_2" / f"{index:06d}.png")
    scan = read_velodyne_bin(root / "velodyne" / f"{index:06d}.bin")
    return _frame(image, scan, K, T, f"kitti_object/{index:06d}", index)


def load_kitti_odometry(root: str | Path, sequence: int, index: int, camera: int = 2) -> Frame:
    """Load a KITTI odometry frame in the layout VP2P's evaluation reads.

    Layout under ``root``: ``calib/<seq>/calib.txt`` (``P0..P3``, ``Tr`` = velo -> cam0),
    ``data_odometry_color/sequences/<seq:02d>/image_<camera>/<index:06d>.png`` and either
    ``data_odometry_velodyne/sequences/<seq:02d>/voxel0.1-SNr0.6/<index:06d>.npy`` (float 7xN:
    xyz, intensity, normal -- DeepI2P's preprocessed scans) or ``.../velodyne/<index:06d>.bin``.
    """
    root = Path(root)
    path = root / "calib" / f"{sequence}" / "calib.txt"
    if not path.is_file():
        path = root / "calib" / f"{sequence:02d}" / "calib.txt"
    calib = read_key_value_calib(path)
    K, T_p = split_projection_matrix(require(calib, f"P{camera}", 12, path))
    Tr = np.vstack([require(calib, "Tr", 12, path).reshape(3, 4), [0, 0, 0, 1]])
    seq_dir = f"sequences/{sequence:02d}"
    image = read_rgb(
        root / "data_odometry_color" / seq_dir / f"image_{camera}" / f"{index:06d}.png"
    )
    vel = root / "data_odometry_velodyne" / seq_dir
    npy = vel / "voxel0.1-SNr0.6" / f"{index:06d}.npy"
    normals = None
    if npy.is_file():
        arr = np.load(npy, allow_pickle=False)
        if arr.ndim != 2 or arr.shape[0] != 7:
            raise DatasetError(f"{npy}: expected a 7xN array, got {arr.shape}")
        scan, normals = arr[:4].T.astype(np.float32), arr[4:7].T.astype(np.float32)
    else:
        scan = read_velodyne_bin(vel / "velodyne" / f"{index:06d}.bin")
    frame = _frame(image, scan, K, T_p @ Tr, f"kitti_odometry/{sequence:02d}/{index:06d}", index)
    frame.normals = normals
    return frame
