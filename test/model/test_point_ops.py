"""Pure-torch point ops against brute-force definitions of pointnet2_ops' CUDA semantics."""

import torch

from vp2p_ros.model.ops import (
    ball_query,
    furthest_point_sample,
    group_points,
    knn,
    three_interpolate,
    three_nn,
)


def cloud(B=2, N=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, N, 3, generator=g) * 10


def test_fps_takes_the_farthest_point_each_step():
    xyz = cloud()
    idx = furthest_point_sample(xyz, 40)
    for b in range(2):
        chosen = [0]
        for _ in range(39):
            d = torch.cdist(xyz[b], xyz[b, chosen]).min(1).values
            chosen.append(int(d.argmax()))
        assert idx[b].tolist() == chosen


def test_ball_query_first_hits_in_storage_order_padded_with_first():
    xyz, centres = cloud(), cloud(N=50, seed=1)
    r, k = 2.0, 8
    idx = ball_query(r, k, xyz, centres)
    for b in range(2):
        for s in range(50):
            d2 = ((xyz[b] - centres[b, s]) ** 2).sum(-1)
            hits = [i for i in range(xyz.shape[1]) if d2[i] < r * r][:k]
            expected = hits + [hits[0] if hits else 0] * (k - len(hits))
            assert idx[b, s].tolist() == expected


def test_ball_query_chunking_is_invisible():
    xyz, centres = cloud(), cloud(N=50, seed=1)
    assert torch.equal(
        ball_query(3.0, 16, xyz, centres), ball_query(3.0, 16, xyz, centres, chunk=7)
    )


def test_three_nn_and_interpolate():
    known, unknown = cloud(N=40), cloud(N=100, seed=2)
    dist, idx = three_nn(unknown, known)
    exact = ((unknown[:, :, None] - known[:, None]) ** 2).sum(-1).sqrt()  # as the kernel
    ref = exact.topk(3, largest=False)
    assert torch.equal(idx, ref.indices)
    torch.testing.assert_close(dist, ref.values, rtol=1e-6, atol=1e-6)
    feats = torch.randn(2, 5, 40)
    w = torch.rand(2, 100, 3)
    out = three_interpolate(feats, idx, w)
    b, c, n = 1, 3, 17
    assert torch.isclose(out[b, c, n], (feats[b, c, idx[b, n]] * w[b, n]).sum())


def test_three_nn_with_one_known_point_broadcasts_it():
    """FP3's case: missing neighbours have infinite distance, so weights are (1, 0, 0)."""
    dist, idx = three_nn(cloud(N=10), cloud(N=1, seed=3))
    assert torch.isinf(dist[..., 1:]).all() and (idx == 0).all()
    w = 1 / dist.clamp_min(1e-10)
    w = w / w.sum(-1, keepdim=True)
    assert torch.equal(w[..., 0], torch.ones_like(w[..., 0]))


def test_group_points_and_knn():
    xyz = cloud()
    idx = knn(5, xyz, xyz[:, :20])
    assert torch.equal(idx[..., 0], torch.arange(20).expand(2, 20))  # self is nearest
    ref = torch.cdist(xyz[:, :20], xyz).topk(5, largest=False).indices
    assert torch.equal(idx, ref)
    g = group_points(xyz.transpose(1, 2), idx)  # (B, 3, 20, 5)
    assert torch.equal(g[1, :, 4, 2], xyz[1, idx[1, 4, 2]])
