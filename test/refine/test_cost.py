"""The edge-alignment cost's map lookup, against a direct per-channel bilinear sample."""

import numpy as np
import torch
import torch.nn.functional as F

from vp2p_ros.camera import CameraModel
from vp2p_ros.camera.projection import CameraTensors
from vp2p_ros.refine.align import _side_by_side
from vp2p_ros.refine.cost import FrameCost, point_scores


def test_oriented_lookup_reads_each_points_own_channel_with_zero_padding():
    W, H, f = 40, 30, 50.0
    rng = np.random.default_rng(0)
    channels = rng.normal(size=(2, H, W)).astype(np.float32)
    camera = CameraModel(W, H, np.array([[f, 0, 0], [0, f, 0], [0, 0, 1.0]]), np.zeros(5))
    # pixels inside, half a pixel outside each border (zero padding blends), far outside,
    # and one point behind the camera
    u = np.r_[rng.uniform(0, W - 1, 40), -0.5, W - 0.5, W + 3.0, 2 * W + 5.0, 10.0]
    v = np.r_[rng.uniform(0, H - 1, 40), 5.0, 5.0, 5.0, 5.0, -0.5]
    z = np.r_[rng.uniform(2, 20, 44), -3.0]
    pts = np.c_[u / f * z, v / f * z, z].astype(np.float32)
    horizontal = torch.from_numpy(np.arange(len(z)) % 2 == 1)
    frame = FrameCost(
        torch.from_numpy(pts),
        torch.ones(len(z)),
        [_side_by_side(channels)[None, None]],
        CameraTensors.from_model(camera, torch.float32),
        (W, H),
        (1.0,),
        horizontal,
    )
    got = point_scores([frame], torch.eye(4), torch.zeros(1, 6), 0)[0] * len(z)
    grid = torch.from_numpy(np.c_[2 * u / (W - 1) - 1, 2 * v / (H - 1) - 1]).float()[None, None]
    per_channel = F.grid_sample(
        torch.from_numpy(channels)[None], grid, align_corners=True, padding_mode="zeros"
    )[0, :, 0]  # (2, M)
    want = torch.where(horizontal, per_channel[1], per_channel[0]) * torch.from_numpy(z > 0.5)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert got[-1] == 0 and got[-3] == 0 and got[-2] == 0  # behind, and beyond both halves
    assert got[-5] != 0 and got[-4] != 0  # half a pixel out: blended with the zero padding
