"""Rigid transforms on SO(3) / SE(3): batched, differentiable, numpy or torch in and out.

Every function is written once in torch and accepts numpy arrays too: numpy inputs come back as
numpy arrays of the same float dtype (computed in that dtype), torch inputs stay torch (autograd,
device and dtype preserved). Leading batch dimensions ``...`` broadcast.

Conventions:
    * ``T_a_b`` (..., 4, 4) maps points of frame b into frame a: ``x_a = R x_b + t``.
    * Twists ``xi`` (..., 6) are ordered ``(v_x, v_y, v_z, w_x, w_y, w_z)`` -- translation first,
      the ROS covariance order -- and ``T = exp(xi^)`` is the SE(3) exponential.
    * Quaternions are ``(x, y, z, w)`` (ROS / scipy order), returned with ``w >= 0``.
    * ``rpy`` is the ROS fixed-axis roll-pitch-yaw: ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = [
    "skew",
    "so3_exp",
    "so3_log",
    "so3_left_jacobian",
    "se3_exp",
    "se3_log",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "rpy_to_matrix",
    "matrix_to_rpy",
    "make_transform",
    "inverse_transform",
    "transform_points",
    "rotation_angle",
    "transform_distance",
    "interpolate_transform",
]

_SMALL = 1e-4  # below this angle (rad) the closed forms switch to their Taylor series


def _numpy_compatible(fn):
    """Let a torch function take numpy arrays (or lists / floats) and return numpy arrays."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if any(isinstance(a, torch.Tensor) for a in args):
            return fn(*args, **kwargs)
        conv = []
        for a in args:
            arr = np.asarray(a)
            if arr.dtype.kind in "iub":
                arr = arr.astype(np.float64)
            ok = arr.flags.c_contiguous and arr.flags.writeable
            conv.append(torch.from_numpy(arr if ok else arr.copy()))
        out = fn(*conv, **kwargs)
        if isinstance(out, tuple):
            return tuple(o.detach().numpy() for o in out)
        return out.detach().numpy()

    return wrapper


def _check_last(x: torch.Tensor, dims: tuple, name: str) -> None:
    if tuple(x.shape[-len(dims) :]) != dims:
        raise ValueError(
            f"{name} must have shape (..., {', '.join(map(str, dims))}), got {tuple(x.shape)}"
        )


@_numpy_compatible
def skew(v):
    """Return the skew-symmetric matrix ``[v]x`` with ``[v]x @ u == cross(v, u)``.

    Args:
        v: (..., 3) vectors.

    Returns:
        (..., 3, 3) matrices.

    Example:
        >>> skew(np.array([1.0, 2.0, 3.0]))[0]
        array([ 0., -3.,  2.])
    """
    _check_last(v, (3,), "v")
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(*v.shape[:-1], 3, 3)


def _so3_coeffs(w: torch.Tensor):
    """Return theta^2, A = sin t / t, B = (1 - cos t) / t^2, C = (t - sin t) / t^3 (safe at 0)."""
    th2 = (w * w).sum(-1)
    small = th2 < _SMALL**2
    th2s = torch.where(small, torch.ones_like(th2), th2)
    th = th2s.sqrt()
    a = torch.where(small, 1 - th2 / 6, torch.sin(th) / th)
    b = torch.where(small, 0.5 - th2 / 24, (1 - torch.cos(th)) / th2s)
    c = torch.where(small, 1.0 / 6 - th2 / 120, (th - torch.sin(th)) / (th2s * th))
    return th2, a, b, c


@_numpy_compatible
def so3_exp(w):
    """Map rotation vectors (axis * angle, rad) to rotation matrices (Rodrigues).

    Args:
        w: (..., 3) rotation vectors.

    Returns:
        (..., 3, 3) rotation matrices.

    Example:
        >>> np.round(so3_exp(np.array([0.0, 0.0, np.pi / 2])), 6)[0]
        array([ 0., -1.,  0.])
    """
    _check_last(w, (3,), "w")
    _, a, b, _ = _so3_coeffs(w)
    k = skew(w)
    eye = torch.eye(3, dtype=w.dtype, device=w.device).expand(k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


@_numpy_compatible
def matrix_to_quaternion(R):
    """Convert rotation matrices to unit quaternions ``(x, y, z, w)`` with ``w >= 0``.

    Uses the numerically stable branch (largest of w, x, y, z) for every input.

    Args:
        R: (..., 3, 3) rotation matrices.

    Returns:
        (..., 4) quaternions.
    """
    _check_last(R, (3, 3), "R")
    m = R
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # four candidate solutions, each exact where its leading component is large
    cands = torch.stack(
        [
            torch.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                    1 + tr,
                ],
                -1,
            ),
            torch.stack(
                [
                    1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 2, 1] - m[..., 1, 2],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                    m[..., 1, 2] + m[..., 2, 1],
                    m[..., 0, 2] - m[..., 2, 0],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
        ],
        -2,
    )  # (..., 4, 4): candidate i has 4*q_i^2 in its "leading" slot
    lead = torch.stack(
        [
            1 + tr,
            1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        -1,
    )
    idx = lead.argmax(-1)
    q = torch.gather(cands, -2, idx[..., None, None].expand(*idx.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., 3:4] < 0, -q, q)


@_numpy_compatible
def quaternion_to_matrix(q):
    """Convert quaternions ``(x, y, z, w)`` (normalised here) to rotation matrices.

    Args:
        q: (..., 4) quaternions, any non-zero norm.

    Returns:
        (..., 3, 3) rotation matrices.

    Raises:
        ValueError: if a quaternion has (near) zero or non-finite norm.
    """
    _check_last(q, (4,), "q")
    n = q.norm(dim=-1, keepdim=True)
    if not bool(torch.all(torch.isfinite(n) & (n > 1e-12))):
        raise ValueError("quaternion with zero or non-finite norm cannot represent a rotation")
    x, y, z, w = (q / n).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - z * w),
            2 * (x * z + y * w),
            2 * (x * y + z * w),
            1 - 2 * (x * x + z * z),
            2 * (y * z - x * w),
            2 * (x * z - y * w),
            2 * (y * z + x * w),
            1 - 2 * (x * x + y * y),
        ],
        -1,
    ).reshape(*q.shape[:-1], 3, 3)


@_numpy_compatible
def so3_log(R):
    """Map rotation matrices to rotation vectors with angle in [0, pi] (inverse of so3_exp).

    Goes through the quaternion, which stays accurate near 0 and near pi.

    Args:
        R: (..., 3, 3) rotation matrices.

    Returns:
        (..., 3) rotation vectors.
    """
    q = matrix_to_quaternion(R)
    v, w = q[..., :3], q[..., 3]
    n2 = (v * v).sum(-1)
    small = n2 < _SMALL**2
    n = torch.where(small, torch.ones_like(n2), n2).sqrt()
    scale = torch.where(
        small,
        2 / w.clamp_min(1e-12) * (1 - n2 / (3 * w * w).clamp_min(1e-24)),
        2 * torch.atan2(n, w) / n,
    )
    return v * scale[..., None]


@_numpy_compatible
def so3_left_jacobian(w):
    """Return the left Jacobian J(w) of SO(3), so that ``exp([v, w]) = [exp(w), J(w) v]``.

    Args:
        w: (..., 3) rotation vectors.

    Returns:
        (..., 3, 3).
    """
    _check_last(w, (3,), "w")
    _, _, b, c = _so3_coeffs(w)
    k = skew(w)
    eye = torch.eye(3, dtype=w.dtype, device=w.device).expand(k.shape)
    return eye + b[..., None, None] * k + c[..., None, None] * (k @ k)


@_numpy_compatible
def make_transform(R, t):
    """Stack rotations (..., 3, 3) and translations (..., 3) into (..., 4, 4) transforms."""
    _check_last(R, (3, 3), "R")
    _check_last(t, (3,), "t")
    shape = torch.broadcast_shapes(R.shape[:-2], t.shape[:-1])
    T = torch.zeros(*shape, 4, 4, dtype=R.dtype, device=R.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1
    return T


@_numpy_compatible
def se3_exp(xi):
    """Map twists ``(v, w)`` (..., 6) to transforms (..., 4, 4).

    Example:
        >>> se3_exp(np.array([1.0, 2.0, 3.0, 0.0, 0.0, 0.0]))[:3, 3]
        array([1., 2., 3.])
    """
    _check_last(xi, (6,), "xi")
    v, w = xi[..., :3], xi[..., 3:]
    t = (so3_left_jacobian(w) @ v[..., None])[..., 0]
    return make_transform(so3_exp(w), t)


@_numpy_compatible
def se3_log(T):
    """Map transforms (..., 4, 4) to twists ``(v, w)`` (..., 6); inverse of se3_exp."""
    _check_last(T, (4, 4), "T")
    w = so3_log(T[..., :3, :3])
    th2 = (w * w).sum(-1)
    small = th2 < _SMALL**2
    th2s = torch.where(small, torch.ones_like(th2), th2)
    th = th2s.sqrt()
    d = torch.where(
        small,
        1.0 / 12 + th2 / 720,
        (1 - th * torch.sin(th) / (2 * (1 - torch.cos(th)).clamp_min(1e-30))) / th2s,
    )
    k = skew(w)
    eye = torch.eye(3, dtype=T.dtype, device=T.device).expand(k.shape)
    j_inv = eye - 0.5 * k + d[..., None, None] * (k @ k)
    v = (j_inv @ T[..., :3, 3:4])[..., 0]
    return torch.cat([v, w], -1)


@_numpy_compatible
def rpy_to_matrix(rpy):
    """ROS roll-pitch-yaw (fixed axes x, y, z; rad) (..., 3) to rotation matrices (..., 3, 3)."""
    _check_last(rpy, (3,), "rpy")
    r, p, y = rpy.unbind(-1)
    cr, sr, cp, sp, cy, sy = r.cos(), r.sin(), p.cos(), p.sin(), y.cos(), y.sin()
    return torch.stack(
        [
            cy * cp,
            cy * sp * sr - sy * cr,
            cy * sp * cr + sy * sr,
            sy * cp,
            sy * sp * sr + cy * cr,
            sy * sp * cr - cy * sr,
            -sp,
            cp * sr,
            cp * cr,
        ],
        -1,
    ).reshape(*rpy.shape[:-1], 3, 3)


@_numpy_compatible
def matrix_to_rpy(R):
    """Rotation matrices (..., 3, 3) to ROS roll-pitch-yaw (..., 3), pitch in [-pi/2, pi/2]."""
    _check_last(R, (3, 3), "R")
    pitch = torch.asin((-R[..., 2, 0]).clamp(-1, 1))
    roll = torch.atan2(R[..., 2, 1], R[..., 2, 2])
    yaw = torch.atan2(R[..., 1, 0], R[..., 0, 0])
    return torch.stack([roll, pitch, yaw], -1)


@_numpy_compatible
def inverse_transform(T):
    """Invert rigid transforms (..., 4, 4) exactly (``T_b_a`` from ``T_a_b``)."""
    _check_last(T, (4, 4), "T")
    Rt = T[..., :3, :3].transpose(-1, -2)
    return make_transform(Rt, -(Rt @ T[..., :3, 3:4])[..., 0])


@_numpy_compatible
def transform_points(T, p):
    """Apply ``T_a_b`` (..., 4, 4) to points ``p_b`` (..., N, 3); returns ``p_a`` (..., N, 3)."""
    _check_last(T, (4, 4), "T")
    _check_last(p, (3,), "p")
    return p @ T[..., :3, :3].transpose(-1, -2) + T[..., None, :3, 3]


def transform_points_batch(T: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Apply each of the poses ``T_a_b`` (B, 4, 4) to one point set ``p_b`` (N, 3): (B, N, 3).

    One homogeneous matrix product; for many poses faster than :func:`transform_points`'
    broadcast (a separate rotation and translation pass over B x N points).
    """
    _check_last(T, (4, 4), "T")
    _check_last(p, (3,), "p")
    p_h = torch.cat([p, torch.ones_like(p[:, :1])], 1)
    return p_h @ T[:, :3, :].transpose(1, 2)


@_numpy_compatible
def rotation_angle(R):
    """Geodesic angle (rad, in [0, pi]) of rotation matrices (..., 3, 3)."""
    return so3_log(R).norm(dim=-1)


@_numpy_compatible
def transform_distance(T_a, T_b):
    """Return (rotation angle of ``R_a^T R_b`` in rad, ``||t_a - t_b||`` in m) of two transforms."""
    dR = T_a[..., :3, :3].transpose(-1, -2) @ T_b[..., :3, :3]
    return rotation_angle(dR), (T_a[..., :3, 3] - T_b[..., :3, 3]).norm(dim=-1)


@_numpy_compatible
def interpolate_transform(T0, T1, alpha):
    """Interpolate transforms: slerp of the rotation, linear in the translation (as tf2 does).

    Args:
        T0, T1: (..., 4, 4) transforms.
        alpha: fraction in [0, 1] (0 gives T0, 1 gives T1); scalar or (...,).
    """
    alpha = torch.as_tensor(alpha, dtype=T0.dtype, device=T0.device)
    R0 = T0[..., :3, :3]
    w = so3_log(R0.transpose(-1, -2) @ T1[..., :3, :3])
    a = alpha[..., None] if alpha.ndim else alpha  # (..., 1) against (..., 3)
    R = R0 @ so3_exp(w * a)
    t = T0[..., :3, 3] + a * (T1[..., :3, 3] - T0[..., :3, 3])
    return make_transform(R, t)
