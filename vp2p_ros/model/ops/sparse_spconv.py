"""Our sparse convolutions computed by spconv 2.x (CPU or CUDA), on torchsparse-layout weights.

spconv works on a grid downsampled by the tensor stride (``index = coords / stride``) with
weights ``[C_out, k, k, k, C_in]`` whose spatial axes follow the index columns (x, y, z here).
Our kernels are torchsparse's ``[K, C_in, C_out]`` in torchsparse's offset order, so they are
rearranged per call (differentiably) and outputs are put back in our site order.

spconv 2.3.8's CPU kernels race under torch's intra-op threads (measured: wrong outputs with 2
threads, exact with 1), so CPU calls run single-threaded.
"""

from __future__ import annotations

import contextlib

import torch

from vp2p_ros.model.ops.sparse import SparseVoxels, kernel_offsets, sparse_downsample_coords

__all__ = ["spconv_conv", "spconv_conv_transposed"]


def _spconv():
    import spconv.pytorch as spconv

    return spconv


def _to_spconv_weight(weight: torch.Tensor, kernel_size: int, shift: int) -> torch.Tensor:
    """[K, C_in, C_out] (our offset order) -> [C_out, k, k, k, C_in] indexed by offset + shift."""
    K, cin, cout = weight.shape
    k = kernel_size
    idx = (kernel_offsets(k, weight.device) + shift).tolist()
    flat = torch.empty(k**3, dtype=torch.long, device=weight.device)
    for i, (dx, dy, dz) in enumerate(idx):
        flat[(dx * k + dy) * k + dz] = i
    return weight[flat].permute(2, 0, 1).reshape(cout, k, k, k, cin)


def _tensor(x: SparseVoxels):
    spconv = _spconv()
    c = x.coords
    idx = torch.cat([c[:, 3:], torch.div(c[:, :3], x.stride, rounding_mode="floor")], 1)
    shape = (idx[:, 1:].amax(0) + 3).tolist()
    return spconv.SparseConvTensor(x.feats, idx.int().contiguous(), shape, int(c[:, 3].max()) + 1)


def _rows_in(out_idx: torch.Tensor, stride: int, target: SparseVoxels):
    """Row of ``target`` for each spconv output index (batch first, grid units)."""
    coords = torch.cat([out_idx[:, 1:].long() * stride, out_idx[:, :1].long()], 1)
    return target.find(coords)


@contextlib.contextmanager
def _single_thread_on_cpu(device: torch.device):
    if device.type != "cpu":
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _run(module, weight, x):
    with _single_thread_on_cpu(weight.device):
        return torch.func.functional_call(module, {"weight": weight}, (x,))


def spconv_conv(
    x: SparseVoxels, weight: torch.Tensor, kernel_size: int, stride: int
) -> SparseVoxels:
    """:func:`vp2p_ros.model.ops.sparse.sparse_conv` computed by spconv."""
    from vp2p_ros.model.ops.sparse import sparse_conv

    if kernel_size == 1:
        return sparse_conv(x, weight, 1, 1)
    spconv = _spconv()
    cin, cout = weight.shape[1:]
    if stride == 1:
        conv = spconv.SubMConv3d(cin, cout, 3, bias=False).to(weight.device)
        y = _run(conv, _to_spconv_weight(weight, 3, 1), _tensor(x))
        return x.with_feats(y.features)  # submanifold: same rows in the same order
    conv = spconv.SparseConv3d(cin, cout, 2, 2, bias=False).to(weight.device)
    y = _run(conv, _to_spconv_weight(weight, 2, 0), _tensor(x))
    s_out = 2 * x.stride
    out_coords = x.site_cache.get(s_out)
    if out_coords is None:
        out_coords = sparse_downsample_coords(x.coords, x.stride)
        x.site_cache[s_out] = out_coords
    out = SparseVoxels(x.feats.new_zeros(len(out_coords), cout), out_coords, s_out, x.site_cache)
    rows = _rows_in(y.indices, s_out, out)
    feats = y.features.new_zeros(len(out_coords), cout)
    feats[rows] = y.features
    return out.with_feats(feats)


def spconv_conv_transposed(x: SparseVoxels, weight: torch.Tensor) -> SparseVoxels:
    """:func:`vp2p_ros.model.ops.sparse.sparse_conv_transposed` computed by spconv (all 8
    children are generated, then the cached finer sites are picked)."""
    spconv = _spconv()
    cin, cout = weight.shape[1:]
    conv = spconv.SparseConvTranspose3d(cin, cout, 2, 2, bias=False).to(weight.device)
    y = _run(conv, _to_spconv_weight(weight, 2, 0), _tensor(x))
    s_fine = x.stride // 2
    fine = x.site_cache[s_fine]
    child_coords = torch.cat([y.indices[:, 1:].long() * s_fine, y.indices[:, :1].long()], 1)
    rows = SparseVoxels(y.features, child_coords, s_fine, {}).find(fine)
    feats = torch.where((rows >= 0)[:, None], y.features[rows.clamp_min(0)], 0)
    return SparseVoxels(feats, fine, s_fine, x.site_cache)
