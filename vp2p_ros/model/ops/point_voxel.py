"""SPVCNN's point <-> voxel exchanges (spvnas ``models/utils.py`` on torchsparse v2.0.0).

Points carry float coordinates in finest-voxel units plus a batch index; a voxel tensor at
stride ``s`` has sites that are multiples of ``s``.
"""

from __future__ import annotations

import torch

from vp2p_ros.model.ops.sparse import SparseVoxels, check_coordinate_range, unique_sites

__all__ = ["initial_voxelize", "point_to_voxel", "voxel_to_point"]


def _floor_sites(coords: torch.Tensor, batch: torch.Tensor, stride: int) -> torch.Tensor:
    sites = torch.floor(coords / stride).long() * stride
    return torch.cat([sites, batch[:, None].long()], 1)  # (N, 4)


def _scatter_mean(feats: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Mean of rows of ``feats`` per target row; rows with index -1 are dropped, empty -> 0."""
    keep = index >= 0
    out = feats.new_zeros(size, feats.shape[1]).index_add_(0, index[keep], feats[keep])
    count = torch.zeros(size, dtype=feats.dtype, device=feats.device)
    count.index_add_(0, index[keep], torch.ones_like(index[keep], dtype=feats.dtype))
    return out / count.clamp_min(1)[:, None]


def initial_voxelize(
    coords: torch.Tensor, batch: torch.Tensor, feats: torch.Tensor
) -> SparseVoxels:
    """Voxels at stride 1 from points: unique ``floor(coords)``, features = mean of members."""
    sites = _floor_sites(coords, batch, 1)
    check_coordinate_range(sites)
    unique, inverse = unique_sites(sites)
    return SparseVoxels(_scatter_mean(feats, inverse, len(unique)), unique, 1)


def point_to_voxel(x: SparseVoxels, coords, batch, point_feats) -> SparseVoxels:
    """Features on the sites of ``x``: mean of the points that fall in each (0 if none)."""
    rows = x.find(_floor_sites(coords, batch, x.stride))
    return x.with_feats(_scatter_mean(point_feats, rows, len(x.coords)))


def voxel_to_point(x: SparseVoxels, coords, batch) -> torch.Tensor:
    """Trilinear interpolation from the 8 surrounding sites at ``x.stride`` (missing ones get
    weight 0, weights renormalised with +1e-8), as torchsparse's ``calc_ti_weights``."""
    s = x.stride
    base = torch.floor(coords / s) * s  # (N, 3)
    frac_hi = (coords - base) / s  # weight of the upper site per axis
    feats = x.feats.new_zeros(len(coords), x.feats.shape[1])
    weights, rows = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):  # z fastest, the kernel order of calc_ti_weights
                d = torch.tensor([dx, dy, dz], dtype=coords.dtype, device=coords.device)
                w = torch.prod(torch.where(d.bool(), frac_hi, 1 - frac_hi), dim=1)
                need = (w > 0).nonzero()[:, 0]  # integer coordinates need one corner only
                site = torch.cat([(base[need] + d * s).long(), batch[need, None].long()], 1)
                r = torch.full_like(batch, -1, dtype=torch.long)
                r[need] = x.find(site)
                weights.append(torch.where(r >= 0, w, torch.zeros_like(w)))
                rows.append(r)
    W = torch.stack(weights, 1)
    W = W / (W.sum(1, keepdim=True) + 1e-8)
    for j, r in enumerate(rows):
        hit = r >= 0
        feats = feats + torch.where(hit[:, None], x.feats[r.clamp_min(0)], 0) * W[:, j : j + 1]
    return feats
