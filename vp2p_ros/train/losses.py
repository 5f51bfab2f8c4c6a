"""VP2P's training losses (the released ``utils/loss.py``), and the pair mining they need.

* :func:`matching_loss`: the adaptive-weighted, circle-loss-form matching loss over the cosine
  similarities of 512 pixel and 512 point keypoints (m = 0.25, gamma = 32);
* :func:`detection_loss`: intersection detection: scores of in-picture keypoints towards 1, of
  out-of-picture ones towards 0;
* :func:`mine_pairs`: keypoints and the positive mask as the original defines positives — the
  ground-truth projection of point j (continuous, at feature-map resolution K_4) lies within
  ``dist_thres`` (1 px) of pixel i (integer grid coordinates).

The probabilistic-PnP KL pose loss is :func:`vp2p_ros.solvers.monte_carlo_pose_loss`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from vp2p_ros.camera import CameraModel
from vp2p_ros.geometry import transform_points

__all__ = ["Pairs", "detection_loss", "matching_loss", "mine_pairs"]


def matching_loss(
    sim: torch.Tensor, positive: torch.Tensor, m: float = 0.25, gamma: float = 32.0
) -> torch.Tensor:
    """Circle-form matching loss.

    Args:
        sim: (B, Ni, Np) cosine similarities of pixel i and point j (L2-normalised features).
        positive: (B, Ni, Np) 1 where pixel i and point j correspond (float or bool); Ni == Np.
        m, gamma: relaxation margin and scale.

    Returns:
        Scalar: mean over the batch and the keypoints of softplus(row LSE) + softplus(col LSE).
    """
    M = positive.to(sim.dtype)
    pos, neg = sim * M, sim * (1 - M)
    alpha_p = F.relu(1 + m - pos).detach()  # weights use the values before the fill below
    alpha_n = F.relu(neg + m).detach()
    dp, dn = 1 - m, m
    # entries outside their set hold 0: they become the optimum, so their logit is 0 (e^0 = 1)
    pos = torch.where(pos == 0, torch.full_like(pos, dp), pos)
    neg = torch.where(neg == 0, torch.full_like(neg, dn), neg)
    logit_p = -gamma * alpha_p * (pos - dp)
    logit_n = gamma * alpha_n * (neg - dn)
    per_pixel = F.softplus(torch.logsumexp(logit_p, -1) + torch.logsumexp(logit_n, -1))
    per_point = F.softplus(torch.logsumexp(logit_p, -2) + torch.logsumexp(logit_n, -2))
    return (per_pixel + per_point).mean()


def detection_loss(img_in, pc_in, img_out, pc_out) -> torch.Tensor:
    """``mean(1 - s_img_in) + mean(1 - s_pc_in) + mean(s_img_out) + mean(s_pc_out)``."""
    return (1 - img_in).mean() + (1 - pc_in).mean() + img_out.mean() + pc_out.mean()


@dataclasses.dataclass
class Pairs:
    """Keypoints of one sample (indices into the flattened H*W pixel map / the N points)."""

    pixel_in: np.ndarray  # (K,) pixels with a point projecting within dist_thres
    pixel_out: np.ndarray  # (K,) pixels without
    point_in: np.ndarray  # (K,) points projecting into the feature map
    point_out: np.ndarray  # (K,) points that do not
    positive: np.ndarray  # (K, K) bool: pixel_in[i] <-> point_in[j]


def mine_pairs(
    points: np.ndarray,
    P: np.ndarray,
    camera_feat: CameraModel,
    rng: np.random.Generator,
    num: int = 512,
    dist_thres: float = 1.0,
) -> Pairs | None:
    """Sample ``num`` in/out keypoints of each modality and the positive mask.

    Args:
        points: (N, 3) network input points (perturbed frame).
        P: (4, 4) ground truth ``T_cam_input``.
        camera_feat: intrinsics of the feature map (K_4, 40x128 for VP2P).
        rng: sampling randomness (drawn with replacement where a set is smaller than ``num``).

    Returns:
        None when no point lands in the picture (no positives to learn from).
    """
    W, H = camera_feat.width, camera_feat.height
    uv, ok = camera_feat.project(transform_points(np.asarray(P, float), points.astype(float)))
    inside = ok & (uv[:, 0] > -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] > -0.5)
    inside &= uv[:, 1] < H - 0.5
    if not inside.any():
        return None
    # pixels near a projection: every point marks the integer pixels within dist_thres
    r = int(np.ceil(dist_thres))
    near = np.zeros(H * W, bool)
    uvi = uv[inside]
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            u = np.round(uvi[:, 0]).astype(int) + dx
            v = np.round(uvi[:, 1]).astype(int) + dy
            good = (u >= 0) & (u < W) & (v >= 0) & (v < H)
            close = np.hypot(u - uvi[:, 0], v - uvi[:, 1]) <= dist_thres
            near[(v * W + u)[good & close]] = True

    def pick(candidates):
        if len(candidates) == 0:
            return np.zeros(0, np.int64)
        return rng.choice(candidates, num, replace=len(candidates) < num)

    pixel_in, pixel_out = pick(np.flatnonzero(near)), pick(np.flatnonzero(~near))
    point_in, point_out = pick(np.flatnonzero(inside)), pick(np.flatnonzero(~inside))
    pix = np.stack([pixel_in % W, pixel_in // W], -1).astype(float)
    d = np.linalg.norm(pix[:, None, :] - uv[point_in][None, :, :], axis=-1)
    return Pairs(pixel_in, pixel_out, point_in, point_out, d <= dist_thres)
