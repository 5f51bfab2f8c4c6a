"""Weighted, robust reprojection cost of 2-D–3-D correspondences (EPro-PnP's Huber PnP cost).

For a pose ``T_cam_lidar`` the residual of correspondence ``i`` is
``r_i = w_i * (project(R p_i + t) - uv_i)`` with per-correspondence 2-D weights ``w_i`` (the
inverse pixel noise, or a network's confidence; zero switches a correspondence off), and the
cost is ``sum_i rho(|r_i|)`` with Huber's ``rho(s) = s^2 / 2`` for ``s <= delta`` and
``delta s - delta^2 / 2`` beyond. ``exp(-cost)`` is the (unnormalised) pose likelihood that
the Monte-Carlo pose distribution and the Laplace approximation are built on, so with
``w = 1 / sigma`` the cost is in units of the noise and the covariances are calibrated.

Jacobians are with respect to the ROS-order perturbation of :mod:`vp2p_ros.geometry.perturbation`:
``d(R p + t)/d(dt) = I`` and ``d(R p + t)/d(dtheta) = -[R p]x``.
"""

from __future__ import annotations

import dataclasses

import torch

from vp2p_ros.camera.projection import CameraTensors, project_components, project_points
from vp2p_ros.geometry import skew

__all__ = ["PnPProblem", "huber", "pnp_cost", "reprojection_terms"]


@dataclasses.dataclass
class PnPProblem:
    """A batch of PnP problems sharing one camera.

    Attributes:
        uv: (B, M, 2) observed pixels.
        points: (B, M, 3) metres, LiDAR (input) frame.
        weights: (B, M, 2) per-axis inverse noise (1/px); 0 ignores a correspondence.
        camera: intrinsics and distortion, same dtype / device.
        huber_delta: Huber threshold in weighted-residual units (sigmas when w = 1/sigma).
    """

    uv: torch.Tensor
    points: torch.Tensor
    weights: torch.Tensor
    camera: CameraTensors
    huber_delta: float = 3.0

    def __post_init__(self) -> None:
        B, M = self.uv.shape[:2]
        for name, last in (("uv", 2), ("points", 3), ("weights", 2)):
            x = getattr(self, name)
            if x.dim() != 3 or x.shape[0] != B or x.shape[1] != M or x.shape[2] != last:
                raise ValueError(
                    f"{name} must have shape ({B}, {M}, {last}), got {tuple(x.shape)}"
                )

    def to(self, dtype: torch.dtype) -> PnPProblem:
        """The same problem in another floating-point type."""
        if dtype == self.uv.dtype:
            return self
        cam = self.camera
        cam = CameraTensors(cam.K.to(dtype), cam.D.to(dtype), cam.model, cam.max_radius)
        conv = (x.to(dtype) for x in (self.uv, self.points, self.weights))
        return PnPProblem(*conv, cam, self.huber_delta)

    @property
    def num_active(self) -> torch.Tensor:
        """(B,) correspondences with a non-zero weight."""
        return (self.weights.abs().sum(-1) > 0).sum(-1)


def huber(s: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Huber's rho and the IRLS weight ``rho'(s) / s`` of residual norms ``s >= 0``."""
    inside = s <= delta
    rho = torch.where(inside, 0.5 * s * s, delta * s - 0.5 * delta * delta)
    irls = torch.where(inside, torch.ones_like(s), delta / s.clamp_min(1e-300))
    return rho, irls


def reprojection_terms(
    T_cam_lidar: torch.Tensor, problem: PnPProblem, *, jacobian: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Weighted residuals (and their Jacobians) at one pose per problem.

    Args:
        T_cam_lidar: (B, 4, 4) maps LiDAR points into the camera frame.
        problem: the correspondences.
        jacobian: also return the Jacobian.

    Returns:
        r: (B, M, 2) weighted residuals ``w * (uv_pred - uv)``.
        J: (B, M, 2, 6) ``dr / d(dt, dtheta)`` (None unless ``jacobian``).
        valid: (B, M) the point projects (in front of the camera, monotonic region).
    """
    R, t = T_cam_lidar[:, None, :3, :3], T_cam_lidar[:, None, :3, 3]
    Rp = (R @ problem.points[..., None])[..., 0]  # (B, M, 3)
    uv, J_proj, valid = project_points(Rp + t, problem.camera)
    r = problem.weights * (uv - problem.uv)
    if not jacobian:
        return r, None, valid
    J_pose = torch.cat([J_proj, -J_proj @ skew(Rp)], -1)  # (B, M, 2, 6)
    return r, problem.weights[..., None] * J_pose, valid


def pnp_cost(T_cam_lidar: torch.Tensor, problem: PnPProblem) -> torch.Tensor:
    """Robust cost of many poses per problem (differentiable in poses and correspondences).

    Args:
        T_cam_lidar: (B, S, 4, 4) S candidate poses for each of the B problems.
        problem: the correspondences.

    Returns:
        (B, S) cost ``sum_i rho(|r_i|)``.
    """
    B, S = T_cam_lidar.shape[:2]
    R = T_cam_lidar[..., :3, :3].reshape(B, S * 3, 3)
    pc = R @ problem.points.transpose(-1, -2)  # (B, S*3, M): one GEMM for all poses
    pc = pc.view(B, S, 3, -1) + T_cam_lidar[..., :3, 3:]  # (B, S, 3, M)
    u, v = project_components(pc[:, :, 0], pc[:, :, 1], pc[:, :, 2], problem.camera)
    w = problem.weights[:, None]  # (B, 1, M, 2)
    ru = w[..., 0] * (u - problem.uv[:, None, :, 0])
    rv = w[..., 1] * (v - problem.uv[:, None, :, 1])
    s = torch.sqrt(ru * ru + rv * rv + 1e-30)  # smooth at 0 for autograd
    if problem.huber_delta == float("inf"):
        return 0.5 * (s * s).sum(-1)
    d = problem.huber_delta
    # Huber in one pass: rho(s) = s^2/2 - (s - d)_+^2 / 2
    return 0.5 * (s * s - (s - d).clamp_min(0).square()).sum(-1)
