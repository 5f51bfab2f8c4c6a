import dataclasses

import numpy as np
import pytest
import torch

from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import pose_difference, retract_pose
from vp2p_ros.refine import JackknifeConfig, RefineConfig, RefineEstimator, prepare, refine
from vp2p_ros.refine.align import thin


@pytest.fixture(scope="module")
def frames():
    return load_bundled_frames()


def errors(T, T_gt):
    d = pose_difference(T, T_gt)
    return np.degrees(np.linalg.norm(d[3:])), np.linalg.norm(d[:3])


def test_single_frame_refinement_recovers_a_3deg_15cm_offset(frames):
    f = frames[3]
    T0 = retract_pose(f.T_cam_lidar, np.r_[0.1, -0.08, 0.08, 0.03, -0.03, 0.03])
    assert errors(T0, f.T_cam_lidar)[0] > 2.9
    r = refine([f], T0)
    rot, tr = errors(r.T_cam_lidar, f.T_cam_lidar)
    assert rot < 0.5 and tr < 0.05  # measured: 0.17 deg, 0.9 cm
    assert r.num_in_view > 300 and r.contrast > 1.4
    assert r.history[-1] >= r.history[0] - 1  # finer maps, similar or better alignment
    e = pose_difference(r.T_cam_lidar, f.T_cam_lidar)
    assert np.all(np.linalg.eigvalsh(r.covariance) > 0)
    assert e @ np.linalg.solve(r.covariance, e) < 22.5  # inside the 99.9 % ellipsoid


def test_refinement_is_deterministic_and_stays_in_the_prior_box(frames):
    data = prepare(frames[:1], RefineConfig().sigmas_px)
    T0 = retract_pose(frames[0].T_cam_lidar, np.r_[0.0, 0.0, 0.2, 0.0, 0.05, 0.0])
    cfg = RefineConfig(iterations=4)
    a, b = refine(data, T0, cfg), refine(data, T0, cfg)
    np.testing.assert_array_equal(a.T_cam_lidar, b.T_cam_lidar)
    d = pose_difference(a.T_cam_lidar, T0)
    std = np.r_[[cfg.translation_std_m] * 3, [np.radians(cfg.rotation_std_deg)] * 3]
    assert np.all(np.abs(d) <= 2 * std + 1e-6)


def random_offset(rng, max_deg, max_m):
    """A ROS-order offset with uniformly drawn rotation angle and translation length."""
    axis, direction = rng.normal(size=3), rng.normal(size=3)
    angle = np.radians(rng.uniform(0, max_deg)) * axis / np.linalg.norm(axis)
    return np.r_[rng.uniform(0, max_m) * direction / np.linalg.norm(direction), angle]


def test_five_frames_jointly_from_up_to_10deg_50cm(frames):
    """Three seeded starts of the benchmark's regime: at least two land within 0.5 deg / 5 cm
    (benchmarks/refine.py reports the full statistics)."""
    T_gt = frames[0].T_cam_lidar  # the same rig for all five frames
    cfg = RefineConfig(rotation_std_deg=5.0, translation_std_m=0.25)
    data = prepare(frames, cfg.sigmas_px)
    rng = np.random.default_rng(7)
    landed = 0
    for _ in range(3):
        r = refine(data, retract_pose(T_gt, random_offset(rng, 10, 0.5)), cfg)
        rot, tr = errors(r.T_cam_lidar, T_gt)
        landed += rot < 0.5 and tr < 0.05
    assert landed >= 2


def test_estimator_windows_frames_and_reports_low_contrast(frames):
    est = RefineEstimator(RefineConfig(), window=2)
    prior = frames[0].T_cam_lidar
    out = [est.estimate(f, prior) for f in frames[:3]]
    assert all(o.ok for o in out) and len(est.frames) == 2
    assert out[2].num_matches > out[0].num_matches  # two frames of edges
    blank = frames[0].__class__(**{**frames[0].__dict__, "image": np.zeros_like(frames[0].image)})
    low = RefineEstimator(min_contrast=1.4).estimate(blank, prior)
    assert low.status == "low_contrast" and low.T_cam_lidar is None
    with pytest.raises(ValueError, match="window"):
        RefineEstimator(window=0)
    shifted = RefineEstimator(window=1, edge_options={"boundary_shift": (0.5, 0.5)})
    shifted.estimate(frames[0], prior)
    sigmas = RefineConfig().sigmas_px
    want = prepare(frames[:1], sigmas, boundary_shift=(0.5, 0.5))[0].points
    assert torch.equal(shifted.frames[0].points, want)  # the options reach the edges
    assert not torch.equal(prepare(frames[:1], sigmas)[0].points, want)


def test_translation_starts_escape_the_basin_a_large_start_offset_leads_into(frames):
    """Five frames from 5 cm right / 25 cm up / 17 cm forward (camera frame) and 7.3 deg, one of
    the benchmark's seeded wide starts. With the default cost (orientation leak 0.5, points in
    view under the prior) the single search settles far off (measured 1.60 deg / 30.3 cm, score
    0.41: the rotation stage compensates the offset); searches from +-1 translation sigma per
    axis find the truth (measured 0.25 deg / 1.6 cm), which scores higher (0.61). (With the
    pure orientation split the single search found it, and scoring also the points that can come
    into view, the margin before commit 7b5d4ca, it settled 2.3 deg / 48.7 cm away.)"""
    data = prepare(frames, RefineConfig().sigmas_px)
    T_gt = frames[0].T_cam_lidar
    T0 = retract_pose(T_gt, np.r_[0.049, -0.248, 0.168, 0.024, -0.025, 0.122])
    cfg = RefineConfig(rotation_std_deg=5.0, translation_std_m=0.25, jackknife=JackknifeConfig(0))
    one = refine(data, T0, cfg)
    seven = refine(data, T0, dataclasses.replace(cfg, translation_starts=7))
    rot, tr = errors(seven.T_cam_lidar, T_gt)
    assert rot < 0.5 and tr < 0.05
    assert seven.score > one.score
    assert errors(one.T_cam_lidar, T_gt)[1] > 0.1  # what the starts are for


def test_thinning_keeps_a_regular_stride_within_the_budget(frames):
    data = prepare(frames[:2], RefineConfig().sigmas_px)
    total = sum(len(d.points) for d in data)
    assert thin(data, 0) is data and thin(data, total) is data
    thinned = thin(data, total // 3)
    assert sum(len(d.points) for d in thinned) <= total // 3
    for d, t in zip(data, thinned):
        assert len(t.points) >= len(d.points) // 3 - 1  # the smallest stride that fits: 3
        np.testing.assert_array_equal(t.points.numpy(), d.points.numpy()[::3])
        np.testing.assert_array_equal(t.weights.numpy(), d.weights.numpy()[::3])
        assert t.maps is d.maps


def test_polish_settles_where_the_finer_blurs_agree_whatever_the_start(frames):
    """Five frames from four starts up to 10 deg / 50 cm (the benchmark's wide regime): the
    first pass ends wherever its shrinking spread left it along the optical axis; the polish
    ends every start near one point, the finer blurs' optimum (measured: ends within 0.23 cm of
    their mean polished, 0.31 cm without)."""
    data = prepare(frames, RefineConfig().sigmas_px)
    T_gt = frames[0].T_cam_lidar
    cfg = RefineConfig(rotation_std_deg=5.0, translation_std_m=0.25, jackknife=JackknifeConfig(0))
    rng = np.random.default_rng(3)
    starts = [retract_pose(T_gt, random_offset(rng, 10, 0.5)) for _ in range(4)]
    ends = {}
    first_pass = dataclasses.replace(cfg, polish_spread=(0, 0))
    for name, c in (("polished", cfg), ("first pass", first_pass)):
        t = np.array([refine(data, T0, c).T_cam_lidar[:3, 3] for T0 in starts])
        ends[name] = np.linalg.norm(t - t.mean(0), axis=1).max()
    assert ends["polished"] < 0.01
    assert ends["polished"] < ends["first pass"]


def test_oriented_matching_removes_the_forward_bias_of_frame_71(frames):
    """Frame 71 alone, searched from the calibration: with edges of any orientation matched the
    optimum lies 3.1 cm along the optical axis (4.9 cm before the reflectivity term); vertical
    LiDAR edges drawn only to vertical image edges (horizontal to horizontal, orientation leak
    0) put it 1.1 cm away (1.7 cm then), and with the default leak 0.5 1.6 cm (measured)."""
    f = frames[1]
    cfg = RefineConfig(jackknife=JackknifeConfig(0))
    ends = {}
    costs = {"split": {"orientation_leak": 0.0}, "plain": {"oriented": False}, "default": {}}
    for name, options in costs.items():
        r = refine(prepare([f], cfg.sigmas_px, **options), f.T_cam_lidar, cfg)
        ends[name] = pose_difference(r.T_cam_lidar, f.T_cam_lidar)
    assert np.linalg.norm(ends["split"][:3]) < 0.025 and abs(ends["plain"][2]) > 0.025
    assert abs(ends["split"][2]) < 0.5 * abs(ends["plain"][2])
    assert np.linalg.norm(ends["default"][:3]) < 0.025
    assert abs(ends["default"][2]) < abs(ends["plain"][2])
