"""Pure-torch point-cloud ops with pointnet2_ops' CUDA semantics (the published weights need them).

* :func:`furthest_point_sample` starts at index 0 and always takes the point farthest from the
  chosen set (ties: lowest index), like the CUDA kernel.
* :func:`ball_query` returns, per centre, the **first** ``nsample`` points in storage order with
  ``d^2 < r^2`` (strict), padding with the first hit (0 when nothing is in range), not the
  nearest.
* :func:`three_nn` returns distances (not squared) to the 3 nearest known points; missing
  neighbours (fewer than 3 known points) get distance inf (the kernel's float 1e40) and index 0.

Everything that would be O(N x M) in memory is chunked (``chunk`` rows at a time).
"""

from __future__ import annotations

import torch

__all__ = [
    "ball_query",
    "furthest_point_sample",
    "group_points",
    "knn",
    "three_interpolate",
    "three_nn",
]

_BUDGET = 1 << 22  # distance-matrix entries computed at once (chunking bounds memory)


def _rows(n_cols: int) -> int:
    return max(1, _BUDGET // max(n_cols, 1))


def _sq_dist_ranking(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distances through one matmul; for nearest-neighbour ranking, not radius tests."""
    d2 = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :] - 2 * a @ b.transpose(1, 2)
    return d2.clamp_min(0)


def furthest_point_sample(xyz: torch.Tensor, npoint: int) -> torch.Tensor:
    """Iterative farthest point sampling.

    Args:
        xyz: (B, N, 3) points.
        npoint: samples to take (<= N).

    Returns:
        (B, npoint) int64 indices; the first is 0.
    """
    B, N, _ = xyz.shape
    if npoint > N:
        raise ValueError(f"cannot sample {npoint} of {N} points")
    idx = torch.zeros(B, npoint, dtype=torch.long, device=xyz.device)
    dist = torch.full((B, N), 1e10, dtype=xyz.dtype, device=xyz.device)
    last = torch.zeros(B, dtype=torch.long, device=xyz.device)
    batch = torch.arange(B, device=xyz.device)
    x, y, z = xyz.unbind(-1)  # (B, N) planes: cheaper than reducing a (B, N, 3) tensor
    for i in range(1, npoint):
        p = xyz[batch, last]  # (B, 3)
        d = (x - p[:, :1]) ** 2 + (y - p[:, 1:2]) ** 2 + (z - p[:, 2:]) ** 2
        dist = torch.minimum(dist, d)
        last = dist.argmax(-1)  # first maximum, like the kernel's strict '>' scan
        idx[:, i] = last
    return idx


def ball_query(
    radius: float, nsample: int, xyz: torch.Tensor, new_xyz: torch.Tensor, chunk: int | None = None
) -> torch.Tensor:
    """First ``nsample`` points within ``radius`` of each centre, in storage order.

    Args:
        radius: metres (strict ``d^2 < r^2``).
        nsample: neighbours per centre.
        xyz: (B, N, 3) points.
        new_xyz: (B, S, 3) centres.

    Returns:
        (B, S, nsample) int64 indices into ``xyz``.
    """
    B, N, _ = xyz.shape
    S = new_xyz.shape[1]
    block = chunk or 4096  # columns per pass; rows leave as soon as they have nsample hits
    out = torch.full((B, S, nsample), N, dtype=torch.long, device=xyz.device)
    count = torch.zeros(B, S, dtype=torch.long, device=xyz.device)
    r2 = radius * radius
    for b in range(B):
        planes = xyz[b].T  # (3, N)
        for c0 in range(0, N, block):
            rows = (count[b] < nsample).nonzero()[:, 0]
            if len(rows) == 0:
                break
            for r0 in range(0, len(rows), max(1, _BUDGET // block)):
                rr = rows[r0 : r0 + max(1, _BUDGET // block)]
                cen = new_xyz[b, rr]  # (A, 3)
                d2 = (planes[0, None, c0 : c0 + block] - cen[:, :1]) ** 2
                d2 += (planes[1, None, c0 : c0 + block] - cen[:, 1:2]) ** 2
                d2 += (planes[2, None, c0 : c0 + block] - cen[:, 2:]) ** 2  # (A, blk)
                inside = d2 < r2
                rank = inside.cumsum(-1) + count[b, rr, None]  # 1-based rank in storage order
                a, n = (inside & (rank <= nsample)).nonzero(as_tuple=True)
                out[b, rr[a], rank[a, n] - 1] = n + c0
                count[b, rr] = rank[:, -1].clamp_max(nsample)
    pad = torch.where(out[..., :1] < N, out[..., :1], 0)  # first hit, or 0 if none
    return torch.where(out < N, out, pad)


def group_points(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Gather features of neighbours: (B, C, N) with (B, S, K) -> (B, C, S, K)."""
    B, C, _ = features.shape
    S, K = idx.shape[1:]
    flat = idx.reshape(B, 1, S * K).expand(B, C, S * K)
    return features.gather(2, flat).reshape(B, C, S, K)


def three_nn(
    unknown: torch.Tensor, known: torch.Tensor, chunk: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Three nearest known points of every unknown point.

    Args:
        unknown: (B, n, 3).
        known: (B, m, 3).

    Returns:
        dist: (B, n, 3) Euclidean distances, ascending (1e20 for missing neighbours).
        idx: (B, n, 3) int64 (0 for missing neighbours).
    """
    B, n, _ = unknown.shape
    m = known.shape[1]
    k = min(3, m)
    chunk = chunk or _rows(m)
    dists, idxs = [], []
    for s in range(0, n, chunk):
        q = unknown[:, s : s + chunk]
        i = _sq_dist_ranking(q, known).topk(k, dim=-1, largest=False, sorted=True).indices
        # rank by the fast form, but return exact distances (by differences, like the kernel)
        nb = known.gather(1, i.reshape(B, -1, 1).expand(-1, -1, 3)).reshape(B, -1, k, 3)
        d = ((q[:, :, None] - nb) ** 2).sum(-1)
        if k < 3:
            d = torch.cat([d, d.new_full((*d.shape[:2], 3 - k), float("inf"))], -1)
            i = torch.cat([i, i.new_zeros((*i.shape[:2], 3 - k))], -1)
        dists.append(torch.sqrt(d))
        idxs.append(i)
    return torch.cat(dists, 1), torch.cat(idxs, 1)


def three_interpolate(
    features: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Weighted sum of three known features: (B, C, m), (B, n, 3), (B, n, 3) -> (B, C, n)."""
    return (group_points(features, idx) * weight[:, None]).sum(-1)


def knn(
    k: int, xyz: torch.Tensor, new_xyz: torch.Tensor, chunk: int | None = None
) -> torch.Tensor:
    """Indices (B, S, k) of the k nearest points of ``xyz`` (B, N, 3) to each of ``new_xyz``."""
    out = []
    chunk = chunk or _rows(xyz.shape[1])
    for s in range(0, new_xyz.shape[1], chunk):
        d2 = _sq_dist_ranking(new_xyz[:, s : s + chunk], xyz)
        out.append(d2.topk(k, dim=-1, largest=False, sorted=True).indices)
    return torch.cat(out, 1)
