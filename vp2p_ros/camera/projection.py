"""Batched, differentiable projection through every camera model, with analytic Jacobians.

The torch twin of :meth:`CameraModel.project` for solvers: it returns the pixel coordinates and
``d(uv)/d(point)`` in closed form so a Gauss-Newton / LM step needs no autograd, and it stays
differentiable (autograd through the same expressions) for training losses.

Points behind the camera are clamped to a minimum depth instead of producing NaN, so costs stay
finite during optimisation (as EPro-PnP's camera does); ``valid`` reports which points were real.
"""

from __future__ import annotations

import dataclasses

import torch

from vp2p_ros.camera.models import CameraModel

__all__ = ["CameraTensors", "grid_coordinates", "project_components", "project_points"]


@dataclasses.dataclass(frozen=True)
class CameraTensors:
    """The numbers of a :class:`CameraModel` as tensors on one device / dtype.

    Attributes:
        K: (3, 3) intrinsics.
        D: (8,) distortion coefficients, zero-padded (plumb_bob uses 5, equidistant 4).
        model: distortion model name; "pinhole" when every coefficient is zero.
        max_radius: undistorted normalised radius (or fisheye angle) of the monotonic region.
    """

    K: torch.Tensor
    D: torch.Tensor
    model: str
    max_radius: float

    @classmethod
    def from_model(
        cls, camera: CameraModel, dtype: torch.dtype = torch.float64, device=None
    ) -> CameraTensors:
        D = torch.zeros(8, dtype=dtype, device=device)
        D[: len(camera.D)] = torch.tensor(camera.D[:8], dtype=dtype, device=device)
        model = "pinhole" if camera.is_pinhole else camera.distortion_model
        K = torch.tensor(camera.K, dtype=dtype, device=device)
        return cls(K, D, model, camera.max_valid_radius())


def project_points(
    points_cam: torch.Tensor, cam: CameraTensors, *, min_depth: float = 0.1, jacobian: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Project camera-frame points to pixels with the Jacobian of the projection.

    Args:
        points_cam: (..., 3) metres, camera optical frame.
        cam: camera numbers (same dtype / device).
        min_depth: depths below this (m) are clamped for the projection (the point is invalid).
        jacobian: compute ``J`` (skip it where only pixels are needed).

    Returns:
        uv: (..., 2) pixels.
        J: (..., 2, 3) ``d(uv) / d(points_cam)``, or None.
        valid: (...,) bool: in front of the camera and inside the monotonic distortion region.

    Example:
        >>> import numpy as np
        >>> cam = CameraTensors.from_model(CameraModel(4, 4, np.eye(3), np.zeros(5)))
        >>> p = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
        >>> uv, J, valid = project_points(p, cam)
        >>> uv.tolist(), bool(valid[0])
        ([[0.25, 0.5]], True)
    """
    x, y, z = points_cam.unbind(-1)
    in_front = z > min_depth
    a, b, zc = _normalised(x, y, z, min_depth)
    xd, yd, J_d = _distort(a, b, cam, jacobian)
    if cam.model == "pinhole":
        inside = torch.isfinite(a) & torch.isfinite(b)
    elif cam.model == "equidistant":
        inside = torch.atan(torch.hypot(a, b)) < cam.max_radius
    else:
        inside = torch.hypot(a, b) < cam.max_radius
    valid = in_front & inside
    uv = torch.stack(_to_pixels(xd, yd, cam.K), -1)
    if not jacobian:
        return uv, None, valid
    zero = torch.zeros_like(a)
    inv_z = 1 / zc
    # d(a, b)/d(x, y, z); the clamped depth has no derivative
    dz = torch.where(in_front, torch.ones_like(z), zero)
    J_n = torch.stack(
        [
            torch.stack([inv_z, zero, -a * inv_z * dz], -1),
            torch.stack([zero, inv_z, -b * inv_z * dz], -1),
        ],
        -2,
    )  # (..., 2, 3)
    J_k = cam.K[:2, :2]  # d(uv)/d(xd, yd)
    J_total = J_k @ J_n if J_d is None else J_k @ (J_d @ J_n)
    return uv, J_total, valid


def project_components(
    x: torch.Tensor,
    y: torch.Tensor,
    z: torch.Tensor,
    cam: CameraTensors,
    *,
    min_depth: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels ``(u, v)`` of camera-frame coordinates given as separate tensors of any shape.

    The lean path of :func:`project_points` (no Jacobian, no validity, no stacking) for costs
    evaluated at many poses; same clamping and values.
    """
    a, b, _ = _normalised(x, y, z, min_depth)
    xd, yd, _ = _distort(a, b, cam, False)
    return _to_pixels(xd, yd, cam.K)


def grid_coordinates(
    points_cam: torch.Tensor, cam: CameraTensors, size: tuple[int, int], *, min_depth: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """``grid_sample`` coordinates (``align_corners=True``) of camera-frame points (..., 3) in an
    image ``size = (W, H)`` pixels wide and high, (..., 2), and the points' depths (...).

    The leanest path for costs sampled at many poses: both coordinates divided at once, the
    intrinsics and the grid's normalisation folded into one multiply-add; the same pixels as
    :func:`project_components` (depths clamped alike) up to float rounding.
    """
    z = points_cam[..., 2]
    ab = points_cam[..., :2] / z.clamp_min(min_depth).unsqueeze(-1)
    if cam.model != "pinhole":
        xd, yd, _ = _distort(ab[..., 0], ab[..., 1], cam, False)
        ab = torch.stack([xd, yd], -1)
    W, H = size
    K = cam.K
    scale = torch.stack([2 * K[0, 0] / (W - 1), 2 * K[1, 1] / (H - 1)])
    offset = torch.stack([2 * K[0, 2] / (W - 1) - 1, 2 * K[1, 2] / (H - 1) - 1])
    grid = torch.addcmul(offset, ab, scale)
    if bool(K[0, 1] != 0):
        grid[..., 0] += (2 * K[0, 1] / (W - 1)) * ab[..., 1]
    return grid, z


def _normalised(x, y, z, min_depth):
    zc = z.clamp_min(min_depth)
    inv_z = 1 / zc
    return x * inv_z, y * inv_z, zc


def _distort(a, b, cam, jacobian):
    if cam.model == "pinhole":
        return a, b, None
    if cam.model == "equidistant":
        return _fisheye(a, b, cam.D, jacobian)
    return _radial_tangential(a, b, cam.D, jacobian)


def _to_pixels(xd, yd, K):
    u = xd * K[0, 0] + K[0, 2]
    if bool(K[0, 1] != 0):  # skew is almost always zero: skip a pass over the points
        u = u + K[0, 1] * yd
    return u, yd * K[1, 1] + K[1, 2]


def _radial_tangential(a, b, D, jacobian=True):
    """OpenCV plumb_bob / rational_polynomial on normalised coordinates, with the 2x2 Jacobian."""
    k1, k2, p1, p2, k3, k4, k5, k6 = D.unbind(0)
    r2 = a * a + b * b
    num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    rad = num / den
    xd = a * rad + 2 * p1 * a * b + p2 * (r2 + 2 * a * a)
    yd = b * rad + p1 * (r2 + 2 * b * b) + 2 * p2 * a * b
    if not jacobian:
        return xd, yd, None
    dnum = k1 + r2 * (2 * k2 + 3 * r2 * k3)
    dden = k4 + r2 * (2 * k5 + 3 * r2 * k6)
    drad = (dnum * den - num * dden) / (den * den)  # d(rad)/d(r2)
    cross = 2 * a * b * drad + 2 * p1 * a + 2 * p2 * b
    J = torch.stack(
        [
            torch.stack([rad + 2 * a * a * drad + 2 * p1 * b + 6 * p2 * a, cross], -1),
            torch.stack([cross, rad + 2 * b * b * drad + 6 * p1 * b + 2 * p2 * a], -1),
        ],
        -2,
    )
    return xd, yd, J


def _fisheye(a, b, D, jacobian=True):
    """OpenCV equidistant (Kannala-Brandt) model on normalised coordinates, with its Jacobian."""
    k1, k2, k3, k4 = D[:4].unbind(0)
    r = torch.hypot(a, b)
    small = r < 1e-9
    rs = torch.where(small, torch.ones_like(r), r)
    th = torch.atan(rs)
    t2 = th * th
    th_d = th * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
    dth_d = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
    s = torch.where(small, torch.ones_like(r), th_d / rs)
    if not jacobian:
        return a * s, b * s, None
    # ds/dr = (th_d'(th) / (1 + r^2) * r - th_d) / r^2; the limit at r -> 0 is 0
    ds = torch.where(small, torch.zeros_like(r), (dth_d / (1 + rs * rs) * rs - th_d) / (rs * rs))
    ca, cb = torch.where(small, torch.zeros_like(a), a / rs), torch.where(small, 0 * b, b / rs)
    J = torch.stack(
        [
            torch.stack([s + a * ds * ca, a * ds * cb], -1),
            torch.stack([b * ds * ca, s + b * ds * cb], -1),
        ],
        -2,
    )
    return a * s, b * s, J
