import numpy as np
import pytest
import torch

from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import transform_points
from vp2p_ros.protocol import make_sample
from vp2p_ros.train import detection_loss, matching_loss, mine_pairs


def reference_loss(s, M, m=0.25, gamma=32.0):
    """Element by element from the description of the released adapt_loss (numpy, float64)."""
    B, N, _ = s.shape
    total = 0.0
    for b in range(B):
        lp = np.zeros((N, N))
        ln = np.zeros((N, N))
        for i in range(N):
            for j in range(N):
                pos = s[b, i, j] * M[b, i, j]
                neg = s[b, i, j] * (1 - M[b, i, j])
                ap, an = max(1 + m - pos, 0), max(neg + m, 0)
                pos = 1 - m if pos == 0 else pos
                neg = m if neg == 0 else neg
                lp[i, j] = -gamma * ap * (pos - (1 - m))
                ln[i, j] = gamma * an * (neg - m)

        def lse(x, axis):
            mx = x.max(axis=axis, keepdims=True)
            return (mx + np.log(np.exp(x - mx).sum(axis=axis, keepdims=True))).squeeze(axis)

        def softplus(x):
            return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)

        rows = softplus(lse(lp, 1) + lse(ln, 1))
        cols = softplus(lse(lp, 0) + lse(ln, 0))
        total += (rows + cols).sum()
    return total / (B * N)


def test_matching_loss_equals_the_elementwise_definition(rng):
    s = rng.uniform(-1, 1, (2, 12, 12))
    M = (rng.uniform(size=(2, 12, 12)) < 0.15).astype(float)
    got = matching_loss(torch.from_numpy(s), torch.from_numpy(M))
    assert got.item() == pytest.approx(reference_loss(s, M), rel=1e-10)


def test_matching_loss_rewards_matching_features_and_trains_them():
    g = torch.Generator().manual_seed(0)
    n, dim = 32, 16
    M = torch.eye(n)[None]  # pixel i <-> point i
    pix = torch.nn.functional.normalize(torch.randn(1, n, dim, generator=g), dim=-1)
    pts = torch.nn.functional.normalize(torch.randn(1, n, dim, generator=g), dim=-1)
    random = matching_loss(pix @ pts.transpose(1, 2), M)
    perfect = matching_loss(pix @ pix.transpose(1, 2), M)
    assert perfect < 0.5 * random
    w = torch.nn.Parameter(torch.randn(1, n, dim, generator=g))
    opt = torch.optim.Adam([w], lr=0.05)
    first = None
    for _ in range(100):
        f = torch.nn.functional.normalize(w, dim=-1)
        loss = matching_loss(pix @ f.transpose(1, 2), M)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


def test_detection_loss():
    one, zero = torch.ones(4), torch.zeros(4)
    assert detection_loss(one, one, zero, zero).item() == 0
    assert detection_loss(zero, zero, one, one).item() == 4
    assert detection_loss(0.5 * one, one, zero, zero).item() == pytest.approx(0.5)


def test_pairs_follow_the_ground_truth_projection():
    frame = load_bundled_frames(1)[0]
    sample = make_sample(frame, rng=np.random.default_rng(0))
    pairs = mine_pairs(sample.points, sample.P, sample.camera_feat, np.random.default_rng(1))
    cam = sample.camera_feat
    assert all(len(a) == 512 for a in (pairs.pixel_in, pairs.point_in, pairs.point_out))
    uv, ok = cam.project(transform_points(sample.P, sample.points[pairs.point_in].astype(float)))
    assert ok.all() and np.all((uv > -0.5) & (uv < [cam.width - 0.5, cam.height - 0.5]))
    i, j = np.nonzero(pairs.positive)
    assert len(i) > 100  # real correspondences among the sampled keypoints
    pix = np.stack([pairs.pixel_in % cam.width, pairs.pixel_in // cam.width], -1)
    assert np.all(np.linalg.norm(pix[i] - uv[j], axis=1) <= 1.0)
    far = np.linalg.norm(pix[:, None] - uv[None], axis=-1) > 1.0
    assert not np.any(pairs.positive & far)
    # out-of-picture points really are out
    uv_out, ok_out = cam.project(
        transform_points(sample.P, sample.points[pairs.point_out].astype(float))
    )
    outside = ~ok_out | np.any((uv_out < -0.5) | (uv_out > [cam.width - 0.5, cam.height - 0.5]), 1)
    assert outside.all()
    # nothing in view: nothing to learn
    behind = np.eye(4)
    behind[2, 3] = -1000.0  # every point 1 km behind the camera
    assert mine_pairs(sample.points, behind @ sample.P, cam, np.random.default_rng(0)) is None
