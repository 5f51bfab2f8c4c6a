"""Pure-torch sparse voxel tensors and convolutions with torchsparse v2.0.0 semantics.

Layout and conventions the published SPVCNN weights were trained with:

* coordinates are int (V, 4) ``[x, y, z, batch]`` (batch last), in units of the finest voxel;
  a tensor at stride ``s`` has coordinates that are multiples of ``s``;
* kernels are ``[K, C_in, C_out]`` (``[C_in, C_out]`` for 1x1), ``out = in @ W[k]``, no bias;
* 3x3x3 offsets ``(ix, iy, iz) in {-1, 0, 1}`` with ``k = 9 iz + 3 iy + ix`` (x fastest);
  2x2x2 offsets in ``{0, 1}`` with ``k = 4 ix + 2 iy + iz`` (z fastest);
* stride-1 convolution is submanifold (output sites = input sites); a stride-2 convolution
  (k = 2) outputs ``unique(floor(c / 2s) * 2s)`` and gathers ``in[q + delta * s]``; the transposed
  one scatters back onto the cached finer site set.

Coordinates are looked up through a sorted 64-bit key (``searchsorted``), which is the pure-torch
stand-in for torchsparse's coordinate hash.
"""

from __future__ import annotations

import dataclasses
import itertools

import torch

__all__ = [
    "SparseVoxels",
    "check_coordinate_range",
    "coordinate_keys",
    "key_offset",
    "kernel_offsets",
    "lookup",
    "sparse_conv",
    "sparse_conv_transposed",
    "sparse_downsample_coords",
    "unique_sites",
]

_BITS = 18  # bits per spatial axis in a key: |coordinate| < 2^17 voxels (6.5 km at 5 cm)
_OFF = 1 << (_BITS - 1)
_MAX_BATCH = 1 << (63 - 3 * _BITS)  # 512 samples per batch


def coordinate_keys(coords: torch.Tensor) -> torch.Tensor:
    """(V, 4) int ``[x, y, z, b]`` -> (V,) int64 keys, unique per site.

    Keys are ``b | x | y | z`` bit fields, so adding an offset to a coordinate adds a constant to
    the key (:func:`key_offset`) as long as the fields stay in range.
    """
    c = coords.long()
    key = c[:, 3]
    for axis in (0, 1, 2):
        key = (key << _BITS) | (c[:, axis] + _OFF)
    return key


def key_offset(delta) -> int:
    """Key change of a spatial offset ``(dx, dy, dz)``."""
    dx, dy, dz = (int(v) for v in delta)
    return (dx << (2 * _BITS)) + (dy << _BITS) + dz


def check_coordinate_range(coords: torch.Tensor) -> None:
    """Raise ValueError where coordinates or batch indices do not fit the key fields."""
    if len(coords) == 0:
        return
    span = int(coords[:, :3].abs().max())
    if span >= _OFF - 2:
        raise ValueError(f"voxel coordinate {span} exceeds the supported range {_OFF - 2}")
    if int(coords[:, 3].max()) >= _MAX_BATCH or int(coords[:, 3].min()) < 0:
        raise ValueError(f"batch index outside [0, {_MAX_BATCH})")


def unique_sites(coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(coords, dim=0, return_inverse=True)`` through 64-bit keys (much faster);
    rows come out in key order (batch, then x, y, z)."""
    keys, inverse = torch.unique(coordinate_keys(coords), return_inverse=True)
    rep = torch.empty(len(keys), dtype=torch.long, device=coords.device)
    rep.scatter_(0, inverse, torch.arange(len(coords), device=coords.device))
    return coords[rep], inverse


def lookup(table_keys_sorted, table_order, query_keys) -> torch.Tensor:
    """Row index of each query key in a table (``-1`` if absent)."""
    pos = torch.searchsorted(table_keys_sorted, query_keys).clamp_max(len(table_keys_sorted) - 1)
    hit = table_keys_sorted[pos] == query_keys
    return torch.where(hit, table_order[pos], -1)


def kernel_offsets(kernel_size: int, device=None) -> torch.Tensor:
    """(K, 3) integer offsets in torchsparse v2.0.0 kernel order (see module doc)."""
    if kernel_size == 3:
        offs = [(x, y, z) for z in (-1, 0, 1) for y in (-1, 0, 1) for x in (-1, 0, 1)]
    elif kernel_size == 2:
        offs = list(itertools.product((0, 1), repeat=3))  # x slowest, z fastest
    elif kernel_size == 1:
        offs = [(0, 0, 0)]
    else:
        raise ValueError(f"kernel size {kernel_size} is not used by SPVCNN (1, 2 or 3)")
    return torch.tensor(offs, dtype=torch.long, device=device)


@dataclasses.dataclass
class SparseVoxels:
    """Sparse features on voxel sites, with the site sets of all strides seen so far.

    Attributes:
        feats: (V, C) features.
        coords: (V, 4) int64 ``[x, y, z, batch]`` (multiples of ``stride``).
        stride: tensor stride in finest voxels.
        site_cache: stride -> coords at that stride (shared along the network, for the
            transposed convolutions).
    """

    feats: torch.Tensor
    coords: torch.Tensor
    stride: int = 1
    site_cache: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.site_cache.setdefault(self.stride, self.coords)
        self._index = None

    def with_feats(self, feats: torch.Tensor) -> SparseVoxels:
        out = SparseVoxels(feats, self.coords, self.stride, self.site_cache)
        out._index = self._index
        return out

    def index(self):
        """Sorted keys and their row order, built once per site set."""
        if self._index is None:
            keys = coordinate_keys(self.coords)
            sorted_keys, order = torch.sort(keys)
            self._index = (sorted_keys, order)
        return self._index

    def find(self, coords: torch.Tensor) -> torch.Tensor:
        """Row of each (M, 4) coordinate in this tensor, -1 where absent."""
        return lookup(*self.index(), coordinate_keys(coords))


def sparse_downsample_coords(coords: torch.Tensor, stride: int) -> torch.Tensor:
    """Sites of a stride-2 convolution on sites at ``stride``: unique(floor(c / 2s) * 2s)."""
    s2 = 2 * stride
    c = coords.clone()
    c[:, :3] = torch.div(c[:, :3], s2, rounding_mode="floor") * s2
    return unique_sites(c)[0]


def _kernel_map(x: SparseVoxels, out_coords: torch.Tensor, offsets: torch.Tensor, tag):
    """Per offset k, (output rows, input rows) with ``x[out + offsets[k] * stride]`` present.

    Cached in ``x.site_cache`` like torchsparse's kernel maps: every convolution on the same
    sites reuses it (a stage's convolutions share one map).
    """
    key = ("kmap", x.stride, tag)
    if key in x.site_cache:
        return x.site_cache[key]
    base = coordinate_keys(out_coords)
    kmap = []
    for k in range(len(offsets)):
        rows = lookup(*x.index(), base + key_offset(offsets[k] * x.stride))
        hit = (rows >= 0).nonzero()[:, 0]
        kmap.append((hit, rows[hit]))
    x.site_cache[key] = kmap
    return kmap


def _gather_conv(x: SparseVoxels, out_coords, weight, offsets, tag):
    """out[q] = sum_k x[q + offsets[k] * x.stride] @ weight[k] over the sites that exist."""
    out = x.feats.new_zeros(len(out_coords), weight.shape[-1])
    for k, (out_rows, in_rows) in enumerate(_kernel_map(x, out_coords, offsets, tag)):
        if len(out_rows):
            part = x.feats.index_select(0, in_rows) @ weight[k]
            out.index_add_(0, out_rows, part.to(out.dtype))  # autocast may return half
    return out


def sparse_conv(
    x: SparseVoxels, weight: torch.Tensor, kernel_size: int, stride: int
) -> SparseVoxels:
    """torchsparse v2.0.0 ``Conv3d`` (no bias).

    Args:
        x: input at tensor stride ``x.stride``.
        weight: (K, C_in, C_out), or (C_in, C_out) for kernel_size 1.
        kernel_size: 1, 2 or 3.
        stride: 1 (submanifold) or 2 (with kernel_size 2).

    Returns:
        SparseVoxels at stride ``x.stride * stride``.
    """
    if kernel_size == 1:
        return x.with_feats(x.feats @ weight)
    offsets = kernel_offsets(kernel_size, x.coords.device)
    if stride == 1:
        if kernel_size != 3:
            raise ValueError("stride-1 sparse convolutions use 3x3x3 kernels here")
        return x.with_feats(_gather_conv(x, x.coords, weight, offsets, "k3s1"))
    if stride != 2 or kernel_size != 2:
        raise ValueError(f"unsupported sparse conv: kernel {kernel_size}, stride {stride}")
    s_out = x.stride * 2
    out_coords = x.site_cache.get(s_out)
    if out_coords is None:
        out_coords = sparse_downsample_coords(x.coords, x.stride)
        x.site_cache[s_out] = out_coords
    feats = _gather_conv(x, out_coords, weight, offsets, "k2s2")
    return SparseVoxels(feats, out_coords, s_out, x.site_cache)


def sparse_conv_transposed(x: SparseVoxels, weight: torch.Tensor) -> SparseVoxels:
    """Transposed 2x2x2 stride-2 convolution back onto the cached sites at ``x.stride / 2``."""
    s_fine = x.stride // 2
    fine = x.site_cache[s_fine]
    parent = fine.clone()
    parent[:, :3] = torch.div(fine[:, :3], x.stride, rounding_mode="floor") * x.stride
    delta = torch.div(fine[:, :3] - parent[:, :3], s_fine, rounding_mode="floor")  # {0,1}^3
    k = 4 * delta[:, 0] + 2 * delta[:, 1] + delta[:, 2]
    rows = x.find(parent)
    out = x.feats.new_zeros(len(fine), weight.shape[-1])
    for kk in range(8):
        sel = ((k == kk) & (rows >= 0)).nonzero()[:, 0]
        if len(sel):
            out[sel] = (x.feats[rows[sel]] @ weight[kk]).to(out.dtype)
    return SparseVoxels(out, fine, s_fine, x.site_cache)
