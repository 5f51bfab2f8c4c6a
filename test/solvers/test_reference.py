import numpy as np
import pytest

from test.solvers.scenes import K4, failure_case, scene
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import transform_points
from vp2p_ros.protocol import make_sample, registration_errors
from vp2p_ros.solvers import ReferenceConfig, select_and_match, solve_pnp_ransac


def test_recovers_pose_with_half_outliers(rng):
    uv, pts, T, bad = scene(rng, 600, outlier_frac=0.5)
    res = solve_pnp_ransac(uv, pts, K4)
    assert res.ok
    e = registration_errors(res.T_cam_lidar, T)
    assert e["rot_geodesic_deg"] < 1.0 and e["rte"] < 0.3
    assert (res.inliers & ~bad).sum() > 0.8 * (~bad).sum()
    assert (res.inliers & bad).sum() < 0.1 * bad.sum()


def test_seeded_runs_repeat(rng):
    uv, pts, _, _ = scene(rng, 300, outlier_frac=0.3)
    a, b = solve_pnp_ransac(uv, pts, K4), solve_pnp_ransac(uv, pts, K4)
    np.testing.assert_array_equal(a.T_cam_lidar, b.T_cam_lidar)


@pytest.mark.parametrize(
    "case,status",
    [
        ("five", "too_few_matches"),
        ("nan_points", "non_finite_input"),
        ("collinear", "degenerate_geometry"),
        ("all_outliers", "too_few_inliers"),
    ],
)
def test_failure_is_a_result(rng, case, status):
    uv, pts, _ = failure_case(rng, case)
    if case == "all_outliers":
        res = solve_pnp_ransac(uv, pts, K4, ReferenceConfig(min_inliers=30))
        assert res.status in ("too_few_inliers", "ransac_failed") and res.T_cam_lidar is None
        return
    res = solve_pnp_ransac(uv, pts, K4)
    assert res.status == status and res.T_cam_lidar is None and not res.ok


def test_select_and_match_semantics(rng):
    C, H, W, N = 8, 4, 5, 12
    g = rng.normal(size=(C, N))
    g /= np.linalg.norm(g, axis=0)
    target = rng.integers(0, N, H * W)
    f = g[:, target].reshape(C, H, W)  # pixel i's feature equals point target[i]'s
    img_score = np.full((H, W), 0.99)
    img_score[0, 1] = 0.5  # below the threshold
    pc_score = np.full(N, 0.99)
    uv, idx = select_and_match(f, g, img_score, pc_score, ReferenceConfig(max_pixels=6))
    # first 6 kept pixels in raster order: (0,0), (0,2), (0,3), (0,4), (1,0), (1,1)
    np.testing.assert_array_equal(uv, [[0, 0], [2, 0], [3, 0], [4, 0], [0, 1], [1, 1]])
    flat = (uv[:, 1] * W + uv[:, 0]).astype(int)
    np.testing.assert_array_equal(idx, target[flat])
    pc_score[:] = 0.1
    uv, idx = select_and_match(f, g, img_score, pc_score)
    assert uv.shape == (0, 2) and idx.shape == (0,)


def test_real_kitti_ground_truth_correspondences(rng):
    """Correspondences from the ground truth of a real frame + noise + 40 % outliers."""
    frame = load_bundled_frames(1)[0]
    s = make_sample(frame, rng=np.random.default_rng(5))
    pc = transform_points(s.P, s.points.astype(np.float64))
    uv, ok = s.camera_feat.project(pc)
    uv, pts = uv[ok][:2800], s.points[ok][:2800].astype(np.float64)
    uv = uv + rng.normal(scale=0.3, size=uv.shape)
    bad = rng.random(len(uv)) < 0.4
    uv[bad] = rng.uniform([0, 0], [128, 40], size=(bad.sum(), 2))
    res = solve_pnp_ransac(uv, pts, s.camera_feat.K)
    assert res.ok
    e = registration_errors(res.T_cam_lidar, s.P)
    assert e["rot_geodesic_deg"] < 1.0 and e["rte"] < 0.5 and e["success"]
