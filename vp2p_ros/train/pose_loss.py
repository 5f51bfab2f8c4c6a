"""End-to-end pose loss: the network's soft matches through EPro-PnP's KL loss.

The paper trains with a probabilistic-PnP pose loss (not in the released code). Ours, per sample:

* 3-D points: the mined point keypoints (in-view and out-of-view) in the perturbed LiDAR frame.
* 2-D points: for each, the softmax-weighted mean pixel of the feature map (``softmax(cos / tau)``
  over every pixel, coordinates at K_4 as the released PnP uses them) -- differentiable in the
  pixel and point features.
* weights: the point score times ``1 / sigma_px`` (isotropic); the loss teaches scores to be
  confidences, because out-of-view points cannot be matched.
* ``-log p(T_gt)`` under ``p(T) ∝ exp(-cost(T))``: LM from the ground truth (detached), Laplace
  covariance, AMIS samples, :func:`~vp2p_ros.solvers.pose_dist.monte_carlo_pose_loss`.

Each sample has its own K_4 (the crop moves the principal point), so problems are solved one by
one; the loss is averaged over the batch.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from vp2p_ros.camera.projection import CameraTensors
from vp2p_ros.solvers.lm import LMConfig, solve_lm
from vp2p_ros.solvers.pnp_cost import PnPProblem
from vp2p_ros.solvers.pose_dist import (
    AMISConfig,
    laplace_covariance,
    monte_carlo_pose_loss,
    sample_pose_distribution,
)

__all__ = ["PoseLossConfig", "pose_loss", "soft_pixels"]


@dataclasses.dataclass(frozen=True)
class PoseLossConfig:
    temperature: float = 0.05  # softmax temperature on cosine similarity
    sigma_px: float = 1.0  # pixel noise at K_4 that a score of 1 stands for
    huber_delta: float = 3.0  # in sigmas
    lm: LMConfig = LMConfig(max_iterations=10)
    amis: AMISConfig = AMISConfig(num_samples=128, num_rounds=2, control_variate=False)


def soft_pixels(f: torch.Tensor, g: torch.Tensor, width: int, temperature: float) -> torch.Tensor:
    """Expected pixel of each point under ``softmax(f . g / tau)`` over all pixels.

    Args:
        f: (C, H*W) unit pixel features (row-major). g: (C, K) unit point features.
        width: W of the feature map.

    Returns:
        (K, 2) float (column, row) coordinates.
    """
    hw = f.shape[1]
    idx = torch.arange(hw, device=f.device)
    grid = torch.stack([idx % width, idx // width], 1).to(f.dtype)  # (HW, 2) x = column
    p = torch.softmax((g.transpose(0, 1) @ f) / temperature, dim=1)  # (K, HW)
    return p @ grid


def pose_loss(out: dict, batch: dict, cfg: PoseLossConfig = PoseLossConfig()) -> torch.Tensor:
    """Mean KL pose loss of a batch (see the module doc); ``batch`` needs ``K4`` and ``P``."""
    f_all = F.normalize(out["pixel_features"].float().flatten(2), dim=1)
    g_all = F.normalize(out["point_features"].float(), dim=1)
    width = out["pixel_features"].shape[-1]
    losses = []
    for b in range(f_all.shape[0]):
        idx = torch.cat([batch["point_in"][b], batch["point_out"][b]])
        g = g_all[b][:, idx]
        uv = soft_pixels(f_all[b], g, width, cfg.temperature).double()
        pts = batch["points"][b][idx].double()
        w = (out["point_scores"][b][idx].double() / cfg.sigma_px)[:, None].expand(-1, 2)
        K = batch["K4"][b].double()
        cam = CameraTensors(K, torch.zeros(8, dtype=K.dtype, device=K.device), "pinhole", 1e6)
        problem = PnPProblem(uv[None], pts[None], w[None], cam, cfg.huber_delta)
        T_gt = batch["P"][b].double()[None]
        with torch.no_grad():
            fixed = (x.detach() for x in (uv[None], pts[None], w[None]))
            detached = PnPProblem(*fixed, cam, cfg.huber_delta)
            lm = solve_lm(T_gt, detached, cfg.lm)
            samples = sample_pose_distribution(
                lm.T_cam_lidar, laplace_covariance(lm.hessian), detached, cfg.amis
            )
        losses.append(monte_carlo_pose_loss(T_gt, samples, problem)[0])
    return torch.stack(losses).mean()
