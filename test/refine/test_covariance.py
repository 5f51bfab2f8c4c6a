"""The refinement's search culling and its spatial-jackknife covariance, on real KITTI frames."""

import dataclasses

import numpy as np
import pytest

from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import pose_difference, retract_pose
from vp2p_ros.refine import JackknifeConfig, RefineConfig, prepare, refine
from vp2p_ros.refine.align import cull
from vp2p_ros.refine.covariance import jackknife_covariance

CHI2_6_95 = 12.592


@pytest.fixture(scope="module")
def frames():
    return load_bundled_frames()


def test_culling_scores_the_points_in_view_under_the_prior(frames):
    """The default scores the edge and reflectivity points in view under the prior, and only
    those: every candidate pose scores the same points (a margin that lets points come into
    view biases the search towards poses that see more edges, benchmarks/window_box.py)."""
    f = frames[0]
    data = prepare([f], RefineConfig().sigmas_px)
    kept = cull(data, f.T_cam_lidar, np.radians(RefineConfig().cull_margin_deg))[0]
    wider = cull(data, f.T_cam_lidar, np.radians(14.0))[0]
    assert len(kept.points) < len(wider.points) < 0.5 * len(data[0].points)  # most edges behind
    K, (W, H) = f.camera.K, f.image.shape[1::-1]
    for points in (kept.points.numpy(), kept.cue.points.numpy()):
        pc = points @ f.T_cam_lidar[:3, :3].T + f.T_cam_lidar[:3, 3]
        assert (pc[:, 2] > 0).all()
        u = K[0, 0] * pc[:, 0] / pc[:, 2] + K[0, 2]
        v = K[1, 1] * pc[:, 1] / pc[:, 2] + K[1, 2]
        assert np.abs(u - K[0, 2]).max() <= max(K[0, 2], W - K[0, 2]) + 1e-3
        assert np.abs(v - K[1, 2]).max() <= max(K[1, 2], H - K[1, 2]) + 1e-3
        assert np.mean((u >= 0) & (u < W) & (v >= 0) & (v < H)) > 0.95


def test_points_that_cannot_come_into_view_change_nothing(frames):
    """A search 3 deg wide: points more than 14 deg outside the view under the prior add
    exactly 0 to every candidate, so leaving them out gives the same answer."""
    f = frames[0]
    data = prepare([f], RefineConfig().sigmas_px)
    T0 = retract_pose(f.T_cam_lidar, np.r_[0.05, -0.05, 0.05, 0.02, -0.02, 0.02])
    # coarse_points=0: thinning would pick different strides for the two point sets; no mutual
    # information: its points are a sample of what is in view, which depends on the margin
    cfg = RefineConfig(
        iterations=4,
        jackknife=JackknifeConfig(strips=0),
        coarse_points=0,
        mi_weight=0.0,
        cull_margin_deg=14.0,
    )
    culled = refine(data, T0, cfg)
    everything = refine(data, T0, dataclasses.replace(cfg, cull_margin_deg=80.0))
    np.testing.assert_allclose(culled.T_cam_lidar, everything.T_cam_lidar, atol=1e-9)


def test_jackknife_widens_the_covariance_along_the_forward_bias(frames):
    """KITTI raw frame 71 alone, its edges matched whatever their orientation: the optimum lies
    ~4.9 cm along the optical axis from the calibration (the scene bias of one frame; oriented
    matching removes this one). The sandwich + floor puts it at NEES 9.7; the jackknife, which
    re-fits with strips of the image left out, widens the covariance along that axis and brings
    it to 2.1 (measured)."""
    f = frames[1]
    data = prepare([f], RefineConfig().sigmas_px, oriented=False)
    T0 = retract_pose(f.T_cam_lidar, np.r_[0.05, -0.05, 0.05, 0.02, -0.02, 0.02])
    off = refine(data, T0, RefineConfig(jackknife=JackknifeConfig(strips=0)))
    on = refine(data, T0, RefineConfig())
    np.testing.assert_allclose(on.T_cam_lidar, off.T_cam_lidar)  # same search, wider covariance
    e = pose_difference(on.T_cam_lidar, f.T_cam_lidar)
    assert e[2] > 0.03 and abs(e[2]) > 3 * np.abs(e[:2]).max()  # the bias: forward
    assert np.sqrt(on.covariance[2, 2]) > 1.3 * np.sqrt(off.covariance[2, 2])
    nees_off = e @ np.linalg.solve(off.covariance, e)
    nees_on = e @ np.linalg.solve(on.covariance, e)
    assert nees_on < 0.5 * nees_off and nees_on < CHI2_6_95
    assert np.all(np.linalg.eigvalsh(on.covariance) > 0)


def test_jackknife_is_symmetric_psd_and_zero_with_fewer_than_two_fits(frames):
    f = frames[0]
    data = prepare([f], RefineConfig().sigmas_px)
    cov = jackknife_covariance(data, f.T_cam_lidar, JackknifeConfig(strips=8), (2, 3))
    np.testing.assert_allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > -1e-12 and np.trace(cov) > 0
    one = jackknife_covariance(data, f.T_cam_lidar, JackknifeConfig(strips=1), (2, 3))
    assert not one.any()
