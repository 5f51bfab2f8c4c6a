"""The estimator interface, the quality gate, and VP2P-as-estimator around a prior."""

import math

import numpy as np
import pytest
import torch

from vp2p_ros.calib import Estimate, QualityGate
from vp2p_ros.calib.vp2p_estimator import Vp2pEstimator
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import inverse_transform, make_transform, rpy_to_matrix, transform_points
from vp2p_ros.model import PRESETS, VP2PMatchNet
from vp2p_ros.protocol import registration_errors
from vp2p_ros.refine import RefineConfig
from vp2p_ros.refine.features import ORIENTATION_LEAK


def ok_estimate(rot_std_deg=0.5, trans_std_m=0.05, inliers=100):
    cov = np.diag([trans_std_m**2] * 3 + [math.radians(rot_std_deg) ** 2] * 3)
    return Estimate("ok", np.eye(4), cov, 200, inliers)


@pytest.mark.parametrize(
    "est,passed,reason",
    [
        (ok_estimate(), True, "passed"),
        (Estimate("too_few_matches"), False, "status"),
        (ok_estimate(inliers=5), False, "inliers"),
        (ok_estimate(rot_std_deg=3.0), False, "rotation std"),
        (ok_estimate(trans_std_m=0.5), False, "translation std"),
        (Estimate("ok", np.eye(4), np.full((6, 6), np.nan), 100, 100), False, "covariance"),
    ],
)
def test_quality_gate(est, passed, reason):
    ok, why = QualityGate().check(est)
    assert ok == passed and reason in why


def fourier(uv):
    """64-d unit features whose cosine similarity peaks at equal pixel positions."""
    freqs = torch.tensor([0.05, 0.11, 0.23, 0.47, 0.9, 1.7, 2.9, 4.1], dtype=torch.float64)
    ang = uv[..., None] * freqs  # (..., 2, 8)
    f = torch.cat([ang.cos(), ang.sin()], -1).flatten(-2)  # (..., 32)
    f = torch.cat([f, f], -1)
    return torch.nn.functional.normalize(f, dim=-1)


class OracleNet(torch.nn.Module):
    """Stands in for a perfectly trained network: features encode true feature-map pixels."""

    def __init__(self, cfg, T_cam_input, K4):
        super().__init__()
        self.cfg, self.T, self.K4 = cfg, T_cam_input, K4

    def forward(self, data):
        pts = data["points"][0].double().numpy()
        h, w = self.cfg.image_height // 4, self.cfg.image_width // 4
        pc = transform_points(self.T, pts)
        uvw = pc @ self.K4.T
        uv = uvw[:, :2] / uvw[:, 2:]
        inside = (
            (pc[:, 2] > 0.5)
            & (uv[:, 0] >= 0)
            & (uv[:, 0] < w - 1)
            & (uv[:, 1] >= 0)
            & (uv[:, 1] < h - 1)
        )
        hit = np.zeros((h, w))
        px = np.round(uv[inside]).astype(int)
        hit[px[:, 1], px[:, 0]] = 1
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        grid = torch.from_numpy(np.stack([xs, ys], -1).astype(np.float64))
        return {
            "pixel_features": fourier(grid).permute(2, 0, 1)[None].float(),
            "point_features": fourier(torch.from_numpy(uv)).T[None].float(),
            "pixel_scores": torch.from_numpy(hit)[None].float(),
            "point_scores": torch.from_numpy(inside.astype(np.float64))[None].float(),
        }


def test_vp2p_estimator_composes_with_the_prior():
    frame = load_bundled_frames(1)[0]
    cfg = PRESETS["tiny"]
    T_gt = frame.T_cam_lidar
    prior = make_transform(rpy_to_matrix(np.radians([1.5, -2.0, 2.5])), [0.1, -0.05, 0.2]) @ T_gt
    est0 = Vp2pEstimator(VP2PMatchNet(cfg))  # only to get the protocol's K_4
    import dataclasses

    from vp2p_ros.protocol import make_sample

    s = make_sample(
        dataclasses.replace(frame, T_cam_lidar=prior),
        est0.protocol,
        perturb=False,
        rng=np.random.default_rng(0),
    )
    T_cam_input = T_gt @ inverse_transform(prior)
    oracle = OracleNet(cfg, T_cam_input, s.camera_feat.K)
    est = Vp2pEstimator(oracle, est0.protocol).estimate(frame, prior)
    assert est.ok, est.status
    e = registration_errors(est.T_cam_lidar, T_gt)
    assert e["rot_geodesic_deg"] < 0.5 and e["rte"] < 0.3
    assert est.covariance.shape == (6, 6) and np.all(np.linalg.eigvalsh(est.covariance) > 0)


def test_untrained_network_gives_a_status_not_a_pose():
    frame = load_bundled_frames(1)[0]
    torch.manual_seed(0)
    est = Vp2pEstimator(VP2PMatchNet(PRESETS["tiny"])).estimate(frame, frame.T_cam_lidar)
    assert not est.ok and est.T_cam_lidar is None
    assert QualityGate().check(est)[0] is False


def test_params_file_matches_the_node_config():
    import dataclasses
    from pathlib import Path

    import yaml

    from vp2p_ros.calib import NodeConfig

    path = Path(__file__).resolve().parents[2] / "config" / "calibrate.yaml"
    params = yaml.safe_load(path.read_text())["vp2p_calibration_node"]["ros__parameters"]
    cfg = NodeConfig.from_dict(params)
    assert cfg == NodeConfig()
    assert cfg.refine_mi_weight == RefineConfig().mi_weight  # the node's refinement defaults
    assert cfg.refine_orientation_leak == ORIENTATION_LEAK
    assert set(params) == {f.name for f in dataclasses.fields(NodeConfig)}
    with pytest.raises(ValueError, match="unknown parameter"):
        NodeConfig.from_dict({**params, "slop": 1})
    with pytest.raises(ValueError, match="sync_slop_s must be > 0"):
        NodeConfig.from_dict({**params, "sync_slop_s": 0.0})
    with pytest.raises(ValueError, match="refine_translation_starts must be 1-7"):
        NodeConfig.from_dict({**params, "refine_translation_starts": 8})
    with pytest.raises(ValueError, match="refine_mi_weight must be >= 0"):
        NodeConfig.from_dict({**params, "refine_mi_weight": float("nan")})
    with pytest.raises(ValueError, match=r"refine_orientation_leak must lie in \[0, 1\]"):
        NodeConfig.from_dict({**params, "refine_orientation_leak": 1.5})
    with pytest.raises(ValueError, match="refine_min_contrast must be finite"):
        NodeConfig.from_dict({**params, "refine_min_contrast": float("inf")})
