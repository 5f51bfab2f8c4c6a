"""Calibration results as files: YAML (with covariance), a URDF joint, and a ``calib.json`` in
direct_visual_lidar_calibration's layout; the YAML reads back (e.g. as a run's initial extrinsic).

Conventions: ``T_cam_lidar`` maps LiDAR points into the camera frame; covariances are 6x6 in ROS
order (x, y, z, rot-x, rot-y, rot-z), perturbations in the parent frame of the transform they
belong to. Rotations are also given as ROS roll-pitch-yaw (fixed axes x, y, z) and as a
quaternion (x, y, z, w).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vp2p_ros.camera import CameraModel
from vp2p_ros.geometry import (
    covariance_of_inverse,
    inverse_transform,
    make_transform,
    matrix_to_quaternion,
    matrix_to_rpy,
    quaternion_to_matrix,
)

__all__ = [
    "dvlc_T_cam_lidar",
    "dvlc_calib_json",
    "read_calibration_yaml",
    "urdf_joint",
    "write_calibration_yaml",
]


def _pose(T: np.ndarray) -> dict:
    return {
        "xyz": [float(v) for v in T[:3, 3]],
        "rpy": [float(v) for v in matrix_to_rpy(T[:3, :3])],
        "quaternion_xyzw": [float(v) for v in matrix_to_quaternion(T[:3, :3])],
        "matrix": [[float(v) for v in row] for row in T],
    }


def write_calibration_yaml(
    path: str | Path,
    T_cam_lidar: np.ndarray,
    covariance: np.ndarray,
    camera_frame: str,
    lidar_frame: str,
    meta: dict,
) -> Path:
    """The result in both directions with covariances and 1-sigma per axis, plus ``meta``."""
    import yaml

    T = np.asarray(T_cam_lidar, float)
    cov = np.asarray(covariance, float)
    cov_inv = covariance_of_inverse(T, cov)
    doc = {
        "T_cam_lidar": {
            "parent_frame": camera_frame,
            "child_frame": lidar_frame,
            **_pose(T),
            "covariance": [[float(v) for v in row] for row in cov],
            "std_xyz_m": [float(v) for v in np.sqrt(np.diag(cov)[:3])],
            "std_rot_deg": [float(v) for v in np.degrees(np.sqrt(np.diag(cov)[3:]))],
        },
        "T_lidar_cam": {
            "parent_frame": lidar_frame,
            "child_frame": camera_frame,
            **_pose(inverse_transform(T)),
            "covariance": [[float(v) for v in row] for row in cov_inv],
        },
        "meta": meta,
    }
    path = Path(path)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return path


def read_calibration_yaml(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(T_cam_lidar, covariance) from :func:`write_calibration_yaml`'s file."""
    import yaml

    block = yaml.safe_load(Path(path).read_text())["T_cam_lidar"]
    return np.asarray(block["matrix"], float), np.asarray(block["covariance"], float)


def urdf_joint(T_cam_lidar: np.ndarray, camera_frame: str, lidar_frame: str) -> str:
    """A fixed URDF joint placing the camera link in the LiDAR link (origin = ``T_lidar_cam``)."""
    T = inverse_transform(np.asarray(T_cam_lidar, float))
    xyz = " ".join(f"{v:.6f}" for v in T[:3, 3])
    rpy = " ".join(f"{v:.6f}" for v in matrix_to_rpy(T[:3, :3]))
    return (
        f'<joint name="{lidar_frame}_to_{camera_frame}" type="fixed">\n'
        f'  <parent link="{lidar_frame}"/>\n'
        f'  <child link="{camera_frame}"/>\n'
        f'  <origin xyz="{xyz}" rpy="{rpy}"/>\n'
        "</joint>\n"
    )


def _xyzq(T: np.ndarray) -> list[float]:
    return [float(v) for v in (*T[:3, 3], *matrix_to_quaternion(T[:3, :3]))]


def dvlc_calib_json(
    T_cam_lidar: np.ndarray,
    T_cam_lidar_initial: np.ndarray,
    camera: CameraModel,
    meta: dict,
) -> str:
    """``calib.json`` in direct_visual_lidar_calibration's layout (``T_lidar_camera`` =
    ``[x, y, z, qx, qy, qz, qw]`` of the camera in the LiDAR frame)."""
    K = camera.K
    doc = {
        "camera": {
            "camera_model": camera.distortion_model if not camera.is_pinhole else "plumb_bob",
            "distortion_coeffs": [float(v) for v in camera.D],
            "intrinsics": [float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])],
        },
        "meta": meta,
        "results": {
            "T_lidar_camera": _xyzq(inverse_transform(np.asarray(T_cam_lidar, float))),
            "init_T_lidar_camera": _xyzq(
                inverse_transform(np.asarray(T_cam_lidar_initial, float))
            ),
        },
    }
    return json.dumps(doc, indent=2)


def dvlc_T_cam_lidar(doc: dict) -> np.ndarray:
    """``T_cam_lidar`` from a direct_visual_lidar_calibration ``calib.json`` dict."""
    v = np.asarray(doc["results"]["T_lidar_camera"], float)
    return inverse_transform(make_transform(quaternion_to_matrix(v[3:]), v[:3]))
