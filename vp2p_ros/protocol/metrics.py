"""Registration metrics exactly as VP2P's ``run_kitti.py`` computes them, plus geodesic ones."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from vp2p_ros.geometry import inverse_transform, rotation_angle

__all__ = ["registration_errors", "summarize"]

SUCCESS_RRE_DEG = 5.0  # VP2P "Good rate": RRE < 5 deg ...
SUCCESS_RTE_M = 2.0  # ... and RTE < 2 m


def registration_errors(T_pred: np.ndarray, T_gt: np.ndarray) -> dict[str, np.ndarray]:
    """Errors of predicted ``T_cam_lidar`` against the ground truth, batched (..., 4, 4).

    Returns a dict of arrays (...,):
        rte: ``||P_diff[:3, 3]||`` with ``P_diff = T_pred^-1 T_gt`` (m); equals
            ``||t_pred - t_gt||``, the translation error of T_cam_lidar (VP2P's RTE).
        rre: sum of |Euler angles| of ``P_diff`` in scipy's extrinsic ``'xzy'`` order (deg),
            VP2P's RRE -- not a true angle, kept for comparability.
        rot_geodesic_deg: geodesic rotation error (deg).
        rte_lidar_cam: translation error of the inverse transforms ``T_lidar_cam`` (m): where the
            camera is placed in the LiDAR frame.
        success: RRE < 5 deg and RTE < 2 m.
    """
    T_pred = np.asarray(T_pred, dtype=np.float64)
    T_gt = np.asarray(T_gt, dtype=np.float64)
    diff = inverse_transform(T_pred) @ T_gt
    rte = np.linalg.norm(diff[..., :3, 3], axis=-1)
    batch = diff.shape[:-2]
    R = diff[..., :3, :3].reshape(-1, 3, 3)
    rre = np.abs(Rotation.from_matrix(R).as_euler("xzy", degrees=True)).sum(-1).reshape(batch)
    geo = np.degrees(rotation_angle(diff[..., :3, :3]))
    inv_diff = inverse_transform(T_pred)[..., :3, 3] - inverse_transform(T_gt)[..., :3, 3]
    return {
        "rte": rte,
        "rre": rre,
        "rot_geodesic_deg": geo,
        "rte_lidar_cam": np.linalg.norm(inv_diff, axis=-1),
        "success": (rre < SUCCESS_RRE_DEG) & (rte < SUCCESS_RTE_M),
    }


def summarize(errors: list[dict]) -> dict[str, float]:
    """Mean / std of RTE and RRE over all pairs (no success filtering) and the success rate."""
    out = {}
    for key in ("rte", "rre", "rot_geodesic_deg", "rte_lidar_cam"):
        vals = np.asarray([float(e[key]) for e in errors])
        out[f"{key}_mean"], out[f"{key}_std"] = float(vals.mean()), float(vals.std())
    out["success_rate"] = float(np.mean([bool(e["success"]) for e in errors]))
    out["pairs"] = len(errors)
    return out
