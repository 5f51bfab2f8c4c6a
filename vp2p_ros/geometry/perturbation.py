"""Pose perturbations and covariances in the ROS order ``(x, y, z, rot-x, rot-y, rot-z)``.

``geometry_msgs/PoseWithCovariance`` documents its 6x6 covariance as position followed by
rotation about the *fixed* axes of the parent frame (``header.frame_id``). We use exactly that
chart everywhere a covariance is produced or consumed: for a transform ``T_parent_child = (R, t)``
a perturbation ``delta = (dt, dtheta)`` gives::

    R' = exp(dtheta) R        (rotation about the parent's fixed axes)
    t' = t + dt               (translation in the parent frame)

So a covariance from a solver of ``T_cam_lidar`` is directly the covariance of the pose message
whose ``frame_id`` is the camera frame; :func:`covariance_of_inverse` gives the one of
``T_lidar_cam`` when the published direction is the other one.
"""

from __future__ import annotations

import torch

from vp2p_ros.geometry.lie import _numpy_compatible, skew, so3_exp, so3_log

__all__ = ["covariance_of_composition", "covariance_of_inverse", "pose_difference", "retract_pose"]


@_numpy_compatible
def retract_pose(T, delta):
    """Apply a ROS-order perturbation: ``R' = exp(dtheta) R``, ``t' = t + dt``.

    Args:
        T: (..., 4, 4) transform ``T_parent_child``.
        delta: (..., 6) ``(dt [m], dtheta [rad])`` in the parent frame.

    Returns:
        (..., 4, 4) perturbed transform.

    Example:
        >>> import numpy as np
        >>> retract_pose(np.eye(4), np.array([1.0, 0, 0, 0, 0, 0]))[:3, 3].tolist()
        [1.0, 0.0, 0.0]
    """
    batch = torch.broadcast_shapes(T.shape[:-2], delta.shape[:-1])
    out = T.expand(*batch, 4, 4).clone()
    out[..., :3, :3] = so3_exp(delta[..., 3:]) @ T[..., :3, :3]
    out[..., :3, 3] = T[..., :3, 3] + delta[..., :3]
    return out


@_numpy_compatible
def pose_difference(T_a, T_b):
    """The perturbation taking ``T_b`` to ``T_a``: ``retract_pose(T_b, d) == T_a``.

    Args:
        T_a, T_b: (..., 4, 4) transforms with the same parent frame.

    Returns:
        (..., 6) ``(t_a - t_b, log(R_a R_b^T))``.
    """
    dt = T_a[..., :3, 3] - T_b[..., :3, 3]
    dr = so3_log(T_a[..., :3, :3] @ T_b[..., :3, :3].transpose(-1, -2))
    return torch.cat([dt, dr], -1)


@_numpy_compatible
def covariance_of_inverse(T, cov):
    """Covariance of ``T^-1`` (ROS order, in its own parent frame) from the covariance of ``T``.

    First-order propagation: with ``T^-1 = (R^T, t')``, ``t' = -R^T t``, the perturbation of the
    inverse is ``dtheta' = -R^T dtheta`` and ``dt' = -R^T dt + [t']x R^T dtheta``.

    Args:
        T: (..., 4, 4) transform ``T_parent_child`` at which ``cov`` is expressed.
        cov: (..., 6, 6) covariance of ``T`` in ROS order (parent frame).

    Returns:
        (..., 6, 6) covariance of ``T_child_parent`` in ROS order (child frame).
    """
    Rt = T[..., :3, :3].transpose(-1, -2)
    t_inv = -(Rt @ T[..., :3, 3:4])[..., 0]
    J = torch.zeros(*T.shape[:-2], 6, 6, dtype=T.dtype, device=T.device)
    J[..., :3, :3] = -Rt
    J[..., :3, 3:] = skew(t_inv) @ Rt
    J[..., 3:, 3:] = -Rt
    return J @ cov @ J.transpose(-1, -2)


@_numpy_compatible
def covariance_of_composition(T_ab, T_bc, cov_ab):
    """Covariance of ``T_ac = T_ab @ T_bc`` (ROS order, frame a) when only ``T_ab`` is uncertain.

    With ``T_ab`` perturbed by ``(dt, dtheta)``, ``T_ac`` moves by ``dtheta`` and
    ``dt - [R_ab t_bc]x dtheta``.

    Args:
        T_ab: (..., 4, 4) the uncertain left factor.
        T_bc: (..., 4, 4) a fixed right factor.
        cov_ab: (..., 6, 6) covariance of ``T_ab``.

    Returns:
        (..., 6, 6) covariance of ``T_ac``.
    """
    lever = (T_ab[..., :3, :3] @ T_bc[..., :3, 3:4])[..., 0]
    J = torch.eye(6, dtype=T_ab.dtype, device=T_ab.device).expand(*cov_ab.shape[:-2], 6, 6).clone()
    J[..., :3, 3:] = -skew(lever)
    return J @ cov_ab @ J.transpose(-1, -2)
