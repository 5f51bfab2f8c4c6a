import numpy as np
import pytest
from scipy import stats

from test.camera.test_projection import CAMERAS
from test.conftest import KITTI_RAW, PJLAB, require_shared
from test.solvers.scenes import FEATURE_MAP, assert_calibrated, failure_case, scene
from vp2p_ros.geometry import pose_difference
from vp2p_ros.protocol import registration_errors
from vp2p_ros.solvers import ProbabilisticConfig, ReferenceConfig, solve_pnp_probabilistic


def nees(est, T_true):
    e = pose_difference(T_true, est.T_cam_lidar)
    return float(e @ np.linalg.solve(est.covariance, e))


def full_res(threshold_px=4.0, **kw):
    return ProbabilisticConfig(ransac=ReferenceConfig(reprojection_error=threshold_px), **kw)


@pytest.mark.parametrize(
    "case,status",
    [
        ("five", "too_few_matches"),
        ("nan_pixels", "non_finite_input"),
        ("collinear", "degenerate_geometry"),
        ("all_outliers", "too_few_inliers"),
        ("at_infinity", "degenerate_geometry"),
    ],
)
def test_failure_is_a_result(rng, case, status):
    uv, pts, T = failure_case(rng, case)
    cfg = ProbabilisticConfig()
    if case == "all_outliers":
        cfg = ProbabilisticConfig(ransac=ReferenceConfig(min_inliers=30))
    est = solve_pnp_probabilistic(
        uv, pts, FEATURE_MAP, T_init=T if case == "at_infinity" else None, cfg=cfg
    )
    expected = (status, "ransac_failed") if case == "all_outliers" else (status,)
    assert est.status in expected and est.T_cam_lidar is None and est.covariance is None


@pytest.mark.parametrize("name", list(CAMERAS))
def test_half_outliers_every_camera_model(rng, name):
    cam = CAMERAS[name]
    uv, pts, T, bad = scene(rng, 600, 1.0, 0.5, cam)
    est = solve_pnp_probabilistic(uv, pts, cam, cfg=full_res())
    assert est.ok, est.status
    e = registration_errors(est.T_cam_lidar, T)
    assert e["rot_geodesic_deg"] < 0.2 and e["rte"] < 0.1
    assert (est.inliers == ~bad).mean() > 0.97
    assert 0.85 < est.sigma_px < 1.15  # estimated from the inliers (truth 1 px)
    assert nees(est, T) < stats.chi2.ppf(0.999, 6)


def test_errors_shrink_with_more_matches():
    """Pose error falls like 1/sqrt(matches): x4 matches -> about half the error."""
    med = []
    for n in (25, 100, 400, 1600):
        rng = np.random.default_rng(n)
        errs = []
        for _ in range(40):
            uv, pts, T, _ = scene(rng, n, 0.5)
            est = solve_pnp_probabilistic(
                uv,
                pts,
                FEATURE_MAP,
                cfg=ProbabilisticConfig(
                    covariance="laplace", ransac=ReferenceConfig(reprojection_error=2.5)
                ),
            )
            errs.append(registration_errors(est.T_cam_lidar, T)["rot_geodesic_deg"])
        med.append(np.median(errs))
    ratios = np.array(med[:-1]) / np.array(med[1:])
    assert np.all((ratios > 1.5) & (ratios < 2.8)), (med, ratios)


def run_trials(make, n_trials, cfg):
    """NEES and errors of the full pipeline (RANSAC -> LM -> MC covariance) over seeded trials."""
    out = {"nees": [], "rot": [], "trans": [], "status": []}
    for seed in range(n_trials):
        uv, pts, T, cam = make(np.random.default_rng(seed), seed)
        est = solve_pnp_probabilistic(uv, pts, cam, cfg=cfg)
        out["status"].append(est.status)
        if est.ok:
            e = registration_errors(est.T_cam_lidar, T)
            out["nees"].append(nees(est, T))
            out["rot"].append(e["rot_geodesic_deg"])
            out["trans"].append(e["rte"])
    return {k: np.asarray(v) for k, v in out.items()}


def test_pipeline_nees_with_outliers_and_unknown_sigma():
    """500 trials, 30 % outliers, sigma estimated from the inliers: still chi2(6)."""

    def make(rng, _):
        uv, pts, T, _ = scene(rng, 120, 0.4, 0.3)
        return uv, pts, T, FEATURE_MAP

    res = run_trials(
        make, 500, ProbabilisticConfig(ransac=ReferenceConfig(reprojection_error=2.0))
    )
    assert (res["status"] == "ok").all()
    assert_calibrated(res["nees"])


def real_frames():
    from vp2p_ros.data import load_kitti_raw, load_pjlab

    frames = [load_kitti_raw(require_shared(KITTI_RAW), i) for i in (70, 71, 72, 73, 74)]
    return frames + [load_pjlab(require_shared(PJLAB))]  # + a distorted 1920x1200 camera


@pytest.fixture(scope="module")
def real_trials():
    """Correspondences from the real ground truth: LiDAR points that project into the image,
    400 per trial, 1 px noise, 30 % outliers; 84 seeds on each of 6 real frames (504 trials)."""
    frames = real_frames()
    projected = []
    for f in frames:
        from vp2p_ros.geometry import transform_points

        uv, ok = f.camera.project(transform_points(f.T_cam_lidar, f.points.astype(np.float64)))
        projected.append((uv[ok], f.points[ok].astype(np.float64)))

    def make(rng, seed):
        f = frames[seed % len(frames)]
        uv_all, pts_all = projected[seed % len(frames)]
        idx = rng.choice(len(uv_all), 400, replace=False)
        uv = uv_all[idx] + rng.normal(scale=1.0, size=(400, 2))
        bad = rng.random(400) < 0.3
        uv[bad] = rng.uniform([0, 0], [f.camera.width, f.camera.height], size=(bad.sum(), 2))
        return uv, pts_all[idx], f.T_cam_lidar, f.camera

    return run_trials(make, 504, full_res(threshold_px=4.0))


def test_real_kitti_and_distorted_rig_recover_ground_truth(real_trials):
    assert (real_trials["status"] == "ok").all()
    assert np.median(real_trials["rot"]) < 0.05 and np.median(real_trials["trans"]) < 0.02
    assert real_trials["rot"].max() < 0.3 and real_trials["trans"].max() < 0.1


def test_real_covariance_is_calibrated(real_trials):
    assert_calibrated(real_trials["nees"])
