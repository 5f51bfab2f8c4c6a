"""The end-to-end KL pose loss: soft pixels, gradients, and what it teaches the scores."""

import numpy as np
import torch

from vp2p_ros.geometry import rpy_to_matrix
from vp2p_ros.train.pose_loss import pose_loss, soft_pixels

H, W = 16, 32  # the tiny preset's feature map (64 x 128 input, stride 4)


def test_soft_pixels_is_the_matched_pixel_for_one_hot_features():
    f = torch.eye(H * W)  # pixel k has feature e_k
    g = f[:, [0, 37, H * W - 1]]
    uv = soft_pixels(f, g, W, temperature=0.01)
    torch.testing.assert_close(uv, torch.tensor([[0.0, 0.0], [5.0, 1.0], [31.0, 15.0]]))


def _problem(rng, n=80, outlier_fraction=0.3):
    """Points in front of a K_4 camera, their one-hot pixel features (outliers: random pixels)."""
    K = np.array([[180.0, 0, 16], [0, 180.0, 8], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = rpy_to_matrix([0.05, -0.1, 0.2]), [0.3, -0.2, 0.5]
    uv = np.stack([rng.uniform(1, W - 2, n), rng.uniform(1, H - 2, n)], 1)
    z = rng.uniform(5, 30, n)
    p_cam = np.concatenate([(uv - K[:2, 2]) / K[0, 0] * z[:, None], z[:, None]], 1)
    p_lidar = (p_cam - T[:3, 3]) @ T[:3, :3]  # T^-1 applied
    pix = np.round(uv[:, 1]).astype(int) * W + np.round(uv[:, 0]).astype(int)
    bad = rng.random(n) < outlier_fraction
    pix[bad] = rng.integers(0, H * W, bad.sum())
    pixel_features = torch.eye(H * W).reshape(1, H * W, H, W)  # channels = pixels
    point_features = torch.eye(H * W)[:, pix][None]  # (1, C, n)
    batch = {
        "points": torch.tensor(p_lidar[None], dtype=torch.float32),
        "point_in": torch.arange(n)[None],
        "point_out": torch.zeros(1, 0, dtype=torch.long),
        "K4": torch.tensor(K[None], dtype=torch.float32),
        "P": torch.tensor(T[None], dtype=torch.float32),
    }
    return pixel_features, point_features, batch, torch.tensor(bad)


def test_gradients_reach_features_and_scores(rng):
    pixel_features, point_features, batch, _ = _problem(rng)
    pixel_features.requires_grad_(True)
    point_features.requires_grad_(True)
    scores = torch.full((1, point_features.shape[2]), 0.5, requires_grad=True)
    out = {"pixel_features": pixel_features, "point_features": point_features}
    loss = pose_loss({**out, "point_scores": scores}, batch)
    loss.backward()
    assert torch.isfinite(loss)
    for t in (pixel_features, point_features, scores):
        assert t.grad is not None and t.grad.abs().sum() > 0


def test_minimising_it_makes_scores_confidences(rng):
    """Only the scores learn: the loss must push outliers' scores below the inliers'."""
    pixel_features, point_features, batch, bad = _problem(rng)
    logits = torch.zeros(1, point_features.shape[2], requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.1)
    out = {"pixel_features": pixel_features, "point_features": point_features}
    first = None
    for _ in range(40):
        loss = pose_loss({**out, "point_scores": torch.sigmoid(logits)}, batch)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = torch.sigmoid(logits)[0].detach()
    assert loss.item() < first
    assert s[~bad].mean() > 0.7 and s[bad].mean() < 0.3, (s[~bad].mean(), s[bad].mean())
