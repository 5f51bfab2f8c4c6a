"""Sparse convolutions equal dense 3-D convolutions on the occupied sites (torchsparse v2.0.0)."""

import pytest
import torch
import torch.nn.functional as F

from vp2p_ros.model.ops import (
    SparseVoxels,
    initial_voxelize,
    kernel_offsets,
    point_to_voxel,
    sparse_conv,
    sparse_conv_transposed,
    voxel_to_point,
)

G = 8  # dense grid edge


def random_sites(n=120, seed=0, batch=2):
    g = torch.Generator().manual_seed(seed)
    c = torch.randint(0, G, (n, 3), generator=g)
    b = torch.randint(0, batch, (n, 1), generator=g)
    return torch.unique(torch.cat([c, b], 1), dim=0)


def dense(x: SparseVoxels, batch=2):
    D = torch.zeros(batch, x.feats.shape[1], G, G, G, dtype=x.feats.dtype)
    c = x.coords
    D[c[:, 3], :, c[:, 0], c[:, 1], c[:, 2]] = x.feats
    return D


def dense_kernel(W, offsets, shift):
    """(K, Cin, Cout) -> conv3d weight (Cout, Cin, k, k, k) with our offset order."""
    k = int(round(len(offsets) ** (1 / 3)))
    out = torch.zeros(W.shape[2], W.shape[1], k, k, k, dtype=W.dtype)
    for i, (dx, dy, dz) in enumerate(offsets.tolist()):
        out[:, :, dx + shift, dy + shift, dz + shift] = W[i].T
    return out


def test_kernel_orders():
    o3, o2 = kernel_offsets(3), kernel_offsets(2)
    assert o3[1].tolist() == [0, -1, -1] and o3[3].tolist() == [-1, 0, -1]  # x fastest
    assert o2[1].tolist() == [0, 0, 1] and o2[4].tolist() == [1, 0, 0]  # z fastest


def test_submanifold_conv_equals_dense_conv_on_occupied_sites():
    sites = random_sites()
    x = SparseVoxels(torch.randn(len(sites), 4, dtype=torch.float64), sites)
    W = torch.randn(27, 4, 5, dtype=torch.float64)
    y = sparse_conv(x, W, 3, 1)
    ref = F.conv3d(dense(x), dense_kernel(W, kernel_offsets(3), 1), padding=1)
    c = sites
    torch.testing.assert_close(y.feats, ref[c[:, 3], :, c[:, 0], c[:, 1], c[:, 2]])


def test_strided_and_transposed_conv_equal_dense():
    sites = random_sites(seed=1)
    x = SparseVoxels(torch.randn(len(sites), 3, dtype=torch.float64), sites)
    W = torch.randn(8, 3, 6, dtype=torch.float64)
    y = sparse_conv(x, W, 2, 2)
    assert y.stride == 2 and bool((y.coords[:, :3] % 2 == 0).all())
    ref = F.conv3d(dense(x), dense_kernel(W, kernel_offsets(2), 0), stride=2)
    c = y.coords
    torch.testing.assert_close(y.feats, ref[c[:, 3], :, c[:, 0] // 2, c[:, 1] // 2, c[:, 2] // 2])
    occupied = dense(SparseVoxels(torch.ones(len(sites), 1, dtype=torch.float64), sites))
    expected_sites = F.max_pool3d(occupied, 2).nonzero()
    assert len(expected_sites) == len(y.coords)
    # transposed back onto the stride-1 sites
    Wt = torch.randn(8, 6, 2, dtype=torch.float64)
    z = sparse_conv_transposed(y, Wt)
    assert torch.equal(z.coords, sites)
    coarse = torch.zeros(2, 6, G // 2, G // 2, G // 2, dtype=torch.float64)
    coarse[c[:, 3], :, c[:, 0] // 2, c[:, 1] // 2, c[:, 2] // 2] = y.feats
    wt = dense_kernel(Wt, kernel_offsets(2), 0).transpose(0, 1)  # (Cin, Cout, 2, 2, 2)
    ref_t = F.conv_transpose3d(coarse, wt, stride=2)
    torch.testing.assert_close(
        z.feats, ref_t[sites[:, 3], :, sites[:, 0], sites[:, 1], sites[:, 2]]
    )


def test_unsupported_kernel_is_an_error():
    x = SparseVoxels(torch.randn(3, 2), random_sites(3))
    with pytest.raises(ValueError):
        sparse_conv(x, torch.randn(125, 2, 2), 5, 1)


def test_point_voxel_exchange():
    g = torch.Generator().manual_seed(0)
    coords = torch.rand(200, 3, generator=g) * 6
    batch = torch.randint(0, 2, (200,), generator=g)
    feats = torch.randn(200, 4, generator=g, dtype=torch.float64)
    v = initial_voxelize(coords, batch, feats)
    # each voxel holds the mean of the points whose floor() is its site
    site = torch.cat([coords.floor().long(), batch[:, None]], 1)
    for row in (0, 5, len(v.coords) - 1):
        members = (site == v.coords[row]).all(1)
        torch.testing.assert_close(v.feats[row], feats[members].mean(0))
    # integer point coordinates read their own voxel exactly (trilinear weight 1)
    ic = coords.floor()
    torch.testing.assert_close(
        voxel_to_point(v, ic, batch), v.feats[v.find(site)], atol=1e-6, rtol=1e-6
    )
    # a constant field is reproduced anywhere with a neighbour (up to torchsparse's +1e-8 in the
    # weight normalisation, visible where the trilinear weights are tiny)
    const = v.with_feats(torch.ones(len(v.coords), 1, dtype=torch.float64))
    torch.testing.assert_close(
        voxel_to_point(const, coords, batch),
        torch.ones(200, 1, dtype=torch.float64),
        atol=1e-2,
        rtol=0,
    )
    p2v = point_to_voxel(v, coords, batch, feats)
    torch.testing.assert_close(p2v.feats, v.feats)


def test_key_offsets_and_range_checks():
    from vp2p_ros.model.ops.sparse import check_coordinate_range, coordinate_keys, key_offset

    c = random_sites(50, seed=4)
    for d in ([1, 0, 0], [-1, 1, -1], [0, 0, 2]):
        shifted = c.clone()
        shifted[:, :3] += torch.tensor(d)
        assert torch.equal(coordinate_keys(shifted), coordinate_keys(c) + key_offset(d))
    big = torch.tensor([[200_000, 0, 0, 0]])
    with pytest.raises(ValueError, match="range"):
        check_coordinate_range(big)
    with pytest.raises(ValueError, match="batch"):
        check_coordinate_range(torch.tensor([[0, 0, 0, 600]]))
    initial_voxelize(torch.zeros(3, 3), torch.tensor([0, 9, 300]), torch.ones(3, 1))  # B up to 512
