"""Batched Levenberg-Marquardt on the robust reprojection cost, with analytic Jacobians.

Each problem of the batch keeps its own damping and stops on its own; the loop ends when all
have converged or ``max_iterations`` is reached. Steps are the Marquardt form
``(H + lambda diag(H)) delta = -g`` with the IRLS-weighted Gauss-Newton ``H = J^T W J`` and
``g = J^T W r`` (``W`` = Huber's ``rho'(s)/s``); a step is kept only if the cost decreases.
"""

from __future__ import annotations

import dataclasses

import torch

from vp2p_ros.geometry import retract_pose
from vp2p_ros.solvers.pnp_cost import PnPProblem, huber, reprojection_terms

__all__ = ["LMConfig", "LMResult", "gauss_newton_terms", "solve_lm"]


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Levenberg-Marquardt options."""

    max_iterations: int = 50  # cap on accepted + rejected steps
    initial_damping: float = 1e-3  # Marquardt lambda relative to diag(H)
    damping_up: float = 10.0  # lambda *= this after a rejected step
    damping_down: float = 10.0  # lambda /= this after an accepted step
    step_tolerance: float = 1e-7  # converged when |delta| (m and rad) falls below this
    cost_tolerance: float = 1e-9  # ... or the relative cost decrease falls below this


@dataclasses.dataclass
class LMResult:
    """LM outcome per problem.

    Attributes:
        T_cam_lidar: (B, 4, 4) the optimum.
        cost: (B,) robust cost at the optimum.
        hessian: (B, 6, 6) Gauss-Newton Hessian at the optimum (ROS-order perturbation).
        residuals: (B, M, 2) weighted residuals at the optimum.
        valid: (B, M) projection validity at the optimum.
        iterations: (B,) steps taken.
        converged: (B,) stopped on a tolerance rather than the iteration cap.
    """

    T_cam_lidar: torch.Tensor
    cost: torch.Tensor
    hessian: torch.Tensor
    residuals: torch.Tensor
    valid: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor


def gauss_newton_terms(T_cam_lidar: torch.Tensor, problem: PnPProblem):
    """Cost, gradient, IRLS Gauss-Newton Hessian, residuals and validity at one pose per problem.

    Returns:
        cost (B,), g (B, 6), H (B, 6, 6), r (B, M, 2), valid (B, M).
    """
    r, J, valid = reprojection_terms(T_cam_lidar, problem)
    s = torch.sqrt((r * r).sum(-1))
    rho, w = huber(s, problem.huber_delta)
    Jw = J * w[..., None, None]
    g = torch.einsum("bmki,bmk->bi", Jw, r)  # (B, 6)
    H = torch.einsum("bmki,bmkj->bij", Jw, J)  # (B, 6, 6)
    return rho.sum(-1), g, H, r, valid


def solve_lm(T_init: torch.Tensor, problem: PnPProblem, cfg: LMConfig = LMConfig()) -> LMResult:
    """Minimise the robust reprojection cost from an initial pose.

    Args:
        T_init: (B, 4, 4) initial ``T_cam_lidar``.
        problem: the correspondences (B problems).
        cfg: options.

    Returns:
        LMResult.
    """
    B = T_init.shape[0]
    dev = T_init.device
    T = T_init.clone()
    cost, g, H, r, valid = gauss_newton_terms(T, problem)
    lam = torch.full((B,), cfg.initial_damping, dtype=T.dtype, device=dev)
    done = torch.zeros(B, dtype=torch.bool, device=dev)
    iters = torch.zeros(B, dtype=torch.long, device=dev)
    eye = torch.eye(6, dtype=T.dtype, device=dev)
    for _ in range(cfg.max_iterations):
        if bool(done.all()):
            break
        diag = torch.diagonal(H, dim1=-2, dim2=-1)
        A = H + (lam[:, None] * diag.clamp_min(1e-12))[..., None] * eye + 1e-12 * eye
        delta = -torch.linalg.solve(A, g[..., None])[..., 0]  # (B, 6)
        delta = torch.where(done[:, None] | ~torch.isfinite(delta), 0.0, delta)
        T_new = retract_pose(T, delta)
        c_new, g_new, H_new, r_new, v_new = gauss_newton_terms(T_new, problem)
        accept = (c_new < cost) & ~done
        step = delta.norm(dim=-1)
        small_step = step < cfg.step_tolerance
        small_gain = (cost - c_new).abs() <= cfg.cost_tolerance * cost.clamp_min(1e-30)
        iters = iters + (~done).long()
        T = torch.where(accept[:, None, None], T_new, T)
        cost = torch.where(accept, c_new, cost)
        g = torch.where(accept[:, None], g_new, g)
        H = torch.where(accept[:, None, None], H_new, H)
        r = torch.where(accept[:, None, None], r_new, r)
        valid = torch.where(accept[:, None], v_new, valid)
        lam = torch.where(accept, lam / cfg.damping_down, lam * cfg.damping_up).clamp(1e-12, 1e12)
        done = done | small_step | (accept & small_gain) | (lam >= 1e12)
    return LMResult(T, cost, H, r, valid, iters, done)
