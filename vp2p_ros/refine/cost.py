"""The edge-alignment cost of candidate poses, batched in torch, and the CEM search over it.

A pose's cost (to maximise) is the weighted mean, over the LiDAR edge points of every frame, of the
image edge-attraction map sampled where the point projects; poses are deltas on the ROS-order chart
around a reference (rotation about the camera's axes, translation in the camera frame).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from vp2p_ros.camera.projection import CameraTensors, grid_coordinates
from vp2p_ros.geometry import retract_pose, transform_points_batch
from vp2p_ros.refine.mutual_info import IntensityCue, mutual_information

__all__ = ["FrameCost", "cem", "point_scores", "score_poses"]


@dataclasses.dataclass
class FrameCost:
    """One frame ready for scoring: edge points (LiDAR frame), weights, maps per scale, camera.

    An oriented attraction map is stored as one image (1, 1, H, 2 W + 2): the vertical-edge
    channel, two zero columns, the horizontal-edge channel; a horizontal edge point is looked up
    ``W + 2`` pixels to the right, so one bilinear lookup serves both kinds of points.
    """

    points: torch.Tensor  # (M, 3) float32
    weights: torch.Tensor  # (M,)
    maps: list[torch.Tensor]  # per scale (1, 1, H, W), or (1, 1, H, 2 W + 2) oriented
    camera: CameraTensors
    size: tuple[int, int]  # (W, H)
    sigmas: tuple[float, ...]  # blur per stage in this image's pixels
    horizontal: torch.Tensor  # (M,) bool: reads channel 1 of two-channel (oriented) maps
    cue: IntensityCue | None = None  # reflectivity vs brightness, for the coarsest stage

    def subset(self, index) -> FrameCost:
        """The frame with only the edge points ``index`` (a mask or a slice) selects."""
        return dataclasses.replace(
            self,
            points=self.points[index],
            weights=self.weights[index],
            horizontal=self.horizontal[index],
        )


def point_scores(
    data: list[FrameCost],
    T_prior: torch.Tensor,
    deltas: torch.Tensor,
    stage: int,
) -> torch.Tensor:
    """Each edge point's weighted contribution to the cost, (B, M_all); sums to
    :func:`score_poses`."""
    T = retract_pose(T_prior, deltas)  # (B, 4, 4)
    parts, weight_sum = [], 0.0
    for d in data:
        W, H = d.size
        width = d.maps[stage].shape[-1]
        grid, z = grid_coordinates(transform_points_batch(T, d.points), d.camera, (width, H))
        seen = z > 0.5
        if width > W:  # oriented: horizontal edges read the right half (see ``FrameCost.maps``)
            gx = grid[..., 0]  # pixel u at 2 u / (width - 1) - 1
            # u in (-1, W): beyond, zero padding = the gap between the halves
            seen &= (gx > -1 - 2 / (width - 1)) & (gx < 2 * W / (width - 1) - 1)
            gx += (2 * (W + 2) / (width - 1)) * d.horizontal  # u + W + 2
        a = F.grid_sample(d.maps[stage], grid[None], align_corners=True, padding_mode="zeros")
        parts.append(a[0, 0] * seen * d.weights)
        weight_sum += float(d.weights.sum())
    return torch.cat(parts, -1) / max(weight_sum, 1e-9)


def score_poses(data: list[FrameCost], T_prior, deltas: torch.Tensor, stage: int) -> torch.Tensor:
    """Cost of ``retract_pose(T_prior, delta)`` for a batch of deltas (B, 6) -> (B,)."""
    return point_scores(data, T_prior, deltas, stage).sum(-1)


def cem(data, T_prior, mean, std, stage, cfg, gen, bound):
    """Cross-entropy maximisation of :func:`score_poses` from ``mean`` with per-axis spread
    ``std``, candidates clipped to ``[-bound, bound]``; returns (best delta, its cost, final
    spread). At stage 0 (the coarsest) ``cfg.mi_weight`` times the frames' mutual information
    (:mod:`.mutual_info`) is added to the cost."""
    cues = [d.cue for d in data if d.cue is not None] if stage == 0 and cfg.mi_weight else []
    best, best_cost = mean.clone(), -np.inf
    for _ in range(cfg.iterations):
        cand = mean + std * torch.randn(cfg.samples, 6, generator=gen)
        cand = torch.maximum(torch.minimum(cand, bound), -bound)  # stay in the prior's box
        cand[0] = mean
        cost = score_poses(data, T_prior, cand, stage)
        if cues:
            cost = cost + cfg.mi_weight * mutual_information(cues, T_prior, cand)
        top = torch.topk(cost, cfg.elite).indices
        if float(cost[top[0]]) > best_cost:
            best, best_cost = cand[top[0]].clone(), float(cost[top[0]])
        elite = cand[top]
        mean = elite.mean(0)
        std = 0.7 * std + 0.3 * elite.std(0)
    return best, best_cost, std
