"""Seeded synthetic PnP problems: points in front of a camera, noisy pixels, outliers."""

from __future__ import annotations

import numpy as np
from scipy import stats

from vp2p_ros.camera import CameraModel
from vp2p_ros.geometry import se3_exp, transform_points

K4 = np.array([[90.2, 0, 62.7], [0, 90.2, 18.1], [0, 0, 1]])  # KITTI 40x128 feature map
FEATURE_MAP = CameraModel(128, 40, K4, [])


def scene(rng, n, noise_px=0.2, outlier_frac=0.0, camera: CameraModel = FEATURE_MAP):
    """n correspondences seen by ``camera`` under a random ``T_cam_lidar``.

    Returns:
        uv (n, 2), points_lidar (n, 3), T_cam_lidar (4, 4), outlier mask (n,).
    """
    T = se3_exp(np.r_[rng.uniform(-5, 5, 3), rng.uniform(-0.5, 0.5, 3)])
    pc = np.zeros((0, 3))
    while len(pc) < n:  # rejection-sample points that land in the image
        cand = np.c_[rng.uniform(-1, 1, (4 * n, 2)), np.ones(4 * n)]
        cand = cand * np.array([0.8, 0.3, 1.0]) * rng.uniform(4, 40, (4 * n, 1))
        _, ok = camera.project(cand)
        pc = np.r_[pc, cand[ok]]
    pc = pc[:n]
    uv, _ = camera.project(pc)
    uv = uv + rng.normal(scale=noise_px, size=(n, 2))
    bad = rng.random(n) < outlier_frac
    uv[bad] = rng.uniform([0, 0], [camera.width, camera.height], size=(bad.sum(), 2))
    return uv, transform_points(np.linalg.inv(T), pc), T, bad


def failure_case(rng, case: str):
    """Inputs a solver must turn into a failure status (uv, points_lidar, T_cam_lidar).

    Cases: five (too few matches), nan_points / nan_pixels, collinear points, all_outliers
    (pixels unrelated to the points), at_infinity (a coplanar scene at 10^7 m: rotation is
    observable, translation is not).
    """
    uv, pts, T, _ = scene(rng, 100)
    if case == "five":
        uv, pts = uv[:5], pts[:5]
    elif case == "nan_points":
        pts[3, 1] = np.nan
    elif case == "nan_pixels":
        uv[7, 0] = np.nan
    elif case == "collinear":
        pts = np.outer(np.linspace(1, 10, 100), [1.0, 0.2, 3.0])
    elif case == "all_outliers":
        uv = rng.uniform([0, 0], [FEATURE_MAP.width, FEATURE_MAP.height], size=uv.shape)
    elif case == "at_infinity":
        rays = np.c_[rng.uniform(-0.5, 0.5, (100, 2)), np.ones(100)]
        pts = rays * 1e7
        uv = (rays @ FEATURE_MAP.K.T)[:, :2]
    else:
        raise ValueError(f"unknown failure case {case!r}")
    return uv, pts, T


CHI2_95 = stats.chi2.ppf(0.95, 6)  # 12.59


def assert_calibrated(nees_values) -> None:
    """NEES over >= 500 trials looks like chi2(6): mean in [5.4, 6.6], 95 % +- 2.5 % inside."""
    nees_values = np.asarray(nees_values)
    inside = (nees_values < CHI2_95).mean()
    assert len(nees_values) >= 500
    assert 5.4 <= nees_values.mean() <= 6.6, nees_values.mean()
    assert 0.925 <= inside <= 0.975, inside
