"""Mutual information between LiDAR reflectivity and image brightness, batched over poses.

A second, independent cue for choosing the basin at the coarsest blur. Edge alignment is
precise but, on scenes with few range edges and many parallel lines (an open crossing: a
crosswalk, thin poles), a pose degrees away can line up more edges than the true one; there the
reflectivity of *every* point (lane paint, crosswalk stripes, signs) still agrees with the image
only near the true pose. Mutual information needs no model of how the two relate (paint is
bright in both, asphalt dark in both, but no scale or sign is assumed) and scores all points, so
it is broad and robust but on its own less precise than the edges; it is therefore added to the
edge cost at the coarsest stage only.

Reflectivity is binned by rank (equal-population bins over the scan, any sensor's scale);
brightness by its 1st-99th percentile range, blurred like the stage's attraction map. Equal
reflectivities are ranked in the cue's random order, so the first points of that order (the
sample the search uses) fall into the lowest bins of their tie group: a tie group stays nearly
together, and a constant intensity puts every sampled point in one bin, which carries no
information (the estimate is 0 at every pose).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from vp2p_ros.camera.projection import CameraTensors, grid_coordinates
from vp2p_ros.geometry import retract_pose, transform_points_batch

__all__ = ["IntensityCue", "intensity_cue", "mutual_information"]

BINS = 16


@dataclasses.dataclass
class IntensityCue:
    """One frame's points (LiDAR frame) with their reflectivity bin, and its brightness image."""

    points: torch.Tensor  # (N, 3) float32
    bins: torch.Tensor  # (N,) int64 reflectivity bin, 0..BINS-1 (equal population)
    brightness: torch.Tensor  # (1, 1, H, W) float32 in bins, 0..BINS-1
    camera: CameraTensors
    size: tuple[int, int]  # (W, H)

    def subset(self, index) -> IntensityCue:
        return dataclasses.replace(self, points=self.points[index], bins=self.bins[index])


def intensity_cue(
    image: np.ndarray,
    points: np.ndarray,
    intensity: np.ndarray,
    camera: CameraTensors,
    sigma_px: float,
    *,
    min_range_m: float = 2.0,
    max_range_m: float = 60.0,
    seed: int = 0,
) -> IntensityCue:
    """The cue of one frame: ``image`` (H, W, 3) RGB or (H, W) grey, ``points`` (N, 3) and
    ``intensity`` (N,) of its scan, brightness blurred by ``sigma_px``. Points come in a seeded
    random order, so any prefix is an even sample of the scan."""
    import cv2

    p = np.asarray(points, np.float64)
    i = np.asarray(intensity, np.float64)
    r = np.linalg.norm(p, axis=1)
    keep = np.isfinite(r) & (r > min_range_m) & (r < max_range_m) & np.isfinite(i)
    p, i = p[keep], i[keep]
    order = np.random.default_rng(seed).permutation(len(p))
    p, i = p[order], i[order]
    rank = np.empty(len(i), np.int64)
    rank[np.argsort(i, kind="stable")] = np.arange(len(i))  # ties broken by the random order
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), max(sigma_px, 0.5))
    lo, hi = np.percentile(grey, [1, 99])
    level = np.clip((grey - lo) / max(hi - lo, 1e-6), 0.0, 1.0) * (BINS - 1)
    H, W = grey.shape
    return IntensityCue(
        torch.from_numpy(p.astype(np.float32)),
        torch.from_numpy(rank * BINS // max(len(i), 1)),
        torch.from_numpy(level.astype(np.float32))[None, None],
        camera,
        (W, H),
    )


def mutual_information(cues: list[IntensityCue], T_prior, deltas: torch.Tensor) -> torch.Tensor:
    """Mutual information (nats) of reflectivity and brightness under each pose
    ``retract_pose(T_prior, delta)``, times the fraction of the cues' points in the image, (B,).

    One joint histogram pools the frames (one sensor, one camera). The plug-in estimate is
    biased upwards by about (bins - 1)^2 / (2 n) for n points, so poses that move points out of
    the image would score higher: each entropy gets the Miller-Madow correction, and the
    fraction in view scales the result (like the edge cost, where a point out of view adds
    nothing), so a pose that sees a handful of points cannot win on chance agreement."""
    T = retract_pose(T_prior, deltas)  # (B, 4, 4)
    B = len(deltas)
    joint = torch.zeros(B * BINS * BINS)
    for c in cues:
        grid, z = grid_coordinates(transform_points_batch(T, c.points), c.camera, c.size)
        seen = (z > 0.5) & (grid.abs() <= 1).all(-1)  # in the image (pixel centres 0..W-1)
        level = F.grid_sample(c.brightness, grid[None], align_corners=True)[0, 0]
        cell = (torch.arange(B)[:, None] * BINS + c.bins) * BINS + (level + 0.5).long()
        joint += torch.bincount(
            cell.clamp(0, B * BINS * BINS - 1).reshape(-1),
            seen.reshape(-1).float(),
            minlength=B * BINS * BINS,
        )
    joint = joint.view(B, BINS, BINS)
    n = joint.sum((1, 2)).clamp(min=1.0)
    parts = [joint, joint.sum(2), joint.sum(1)]  # (X, Y), X, Y
    h = [_entropy(q / n.view(-1, *[1] * (q.dim() - 1))) for q in parts]
    used = [(q > 0).flatten(1).sum(1).double() for q in parts]
    mi = h[1] + h[2] - h[0] + ((used[1] - 1) + (used[2] - 1) - (used[0] - 1)).float() / (2 * n)
    return mi * n / max(sum(len(c.points) for c in cues), 1)


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """Plug-in entropy (nats) of each distribution in a batch (B, ...)."""
    return -(p * torch.log(p + 1e-12)).flatten(1).sum(1)
