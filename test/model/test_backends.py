"""Pure-torch ops against the native extensions on the same inputs and weights.

Each comparison is skipped where its extension is not importable. spconv 2.x (CPU wheels on
PyPI) is installed by the test requirements, so the sparse comparisons run in CI; pointnet2_ops
needs a CUDA build and runs only on a GPU machine.
"""

import pytest
import torch

from test.model.test_network import tiny_net
from test.model.test_sparse_ops import random_sites
from vp2p_ros.model import backends
from vp2p_ros.model.ops import SparseVoxels, sparse_conv, sparse_conv_transposed
from vp2p_ros.model.ops import points as torch_points

needs_spconv = pytest.mark.skipif(not backends.available()["spconv"], reason="spconv missing")
needs_pointnet2 = pytest.mark.skipif(
    not (backends.available()["pointnet2_ops"] and torch.cuda.is_available()),
    reason="pointnet2_ops (CUDA) missing",
)


@needs_spconv
def test_spconv_sparse_ops_equal_ours():
    from vp2p_ros.model.ops.sparse_spconv import spconv_conv, spconv_conv_transposed

    g = torch.Generator().manual_seed(0)
    sites = random_sites(400, seed=2)
    x = SparseVoxels(torch.randn(len(sites), 4, generator=g, dtype=torch.float64), sites)
    for _ in range(3):  # repeated: spconv's CPU kernels raced under torch threads
        W = torch.randn(27, 4, 5, generator=g, dtype=torch.float64)
        torch.testing.assert_close(spconv_conv(x, W, 3, 1).feats, sparse_conv(x, W, 3, 1).feats)
    W2 = torch.randn(8, 4, 6, generator=g, dtype=torch.float64)
    a, b = sparse_conv(x, W2, 2, 2), spconv_conv(x, W2, 2, 2)
    assert torch.equal(a.coords, b.coords)
    torch.testing.assert_close(b.feats, a.feats)
    Wt = torch.randn(8, 6, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        spconv_conv_transposed(a, Wt).feats, sparse_conv_transposed(a, Wt).feats
    )


@needs_spconv
def test_spconv_voxel_branch_forward_equals_torch():
    net, data = tiny_net()
    with torch.inference_mode():
        ref = net(data)
        with backends.selected("torch", on_cuda=False, sparse="native"):
            feats = torch.cat([data["points"], data["intensity"][..., None], data["normals"]], -1)
            vox_native = net.voxel_branch(data["points"], feats)
        vox_torch = net.voxel_branch(data["points"], feats)
    torch.testing.assert_close(vox_native, vox_torch, atol=1e-4, rtol=1e-4)
    assert torch.isfinite(ref["point_features"]).all()


@needs_pointnet2
def test_pointnet2_ops_equal_ours():
    native = backends._native_point_ops()
    g = torch.Generator().manual_seed(0)
    xyz = (torch.rand(2, 4096, 3, generator=g) * 30).cuda()
    centres = xyz[:, :256].contiguous()
    assert torch.equal(
        native.furthest_point_sample(xyz, 256), torch_points.furthest_point_sample(xyz, 256)
    )
    assert torch.equal(
        native.ball_query(5.0, 32, xyz, centres), torch_points.ball_query(5.0, 32, xyz, centres)
    )
    d_n, i_n = native.three_nn(xyz, centres)
    d_t, i_t = torch_points.three_nn(xyz, centres)
    assert torch.equal(i_n, i_t)
    torch.testing.assert_close(d_n, d_t)
