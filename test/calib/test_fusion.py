import numpy as np

from vp2p_ros.calib import CameraCalibrator, Estimate, QualityGate
from vp2p_ros.calib.fusion import (
    DriftConfig,
    DriftDetector,
    FusionConfig,
    PoseFusion,
    effective_dof,
    level_shift,
)
from vp2p_ros.calib.pipeline import STATES
from vp2p_ros.geometry import pose_difference, retract_pose, se3_exp

T_TRUE = se3_exp(np.r_[0.05, -0.08, -0.3, -1.2, 0.02, -1.55])
# one frame of edge refinement: about 2 cm and 0.16 deg per axis (benchmarks/refine.py)
C_FRAME = np.diag([0.02**2] * 3 + [np.radians(0.16) ** 2] * 3)


def noisy(rng, T, C=C_FRAME):
    return retract_pose(T, rng.multivariate_normal(np.zeros(6), C))


def test_fusion_averages_noise_and_gates_outliers(rng):
    f = PoseFusion(FusionConfig(process_std=(0,) * 6, floor_std=(0,) * 6))
    errs = []
    for _ in range(300):
        for _ in range(10):
            assert f.update(noisy(rng, T_TRUE), C_FRAME) or f.last_nis > 22
        e = pose_difference(f.T, T_TRUE)
        errs.append(e @ np.linalg.solve(f.P, e))
        assert f.converged
        f = PoseFusion(FusionConfig(process_std=(0,) * 6, floor_std=(0,) * 6))
    inside = np.mean(np.array(errs) < 12.59)
    assert 0.9 < inside < 0.99  # fused covariance is calibrated (chi2(6) 95 %)
    f.update(T_TRUE, C_FRAME)
    far = retract_pose(T_TRUE, np.r_[0.5, 0, 0, 0, 0, 0])
    assert not f.update(far, C_FRAME) and f.rejected == 1
    np.testing.assert_allclose(f.T, T_TRUE)


def test_fusion_floor_and_restart_after_repeated_rejections(rng):
    cfg = FusionConfig(restart_after_rejections=3)
    f = PoseFusion(cfg)
    for _ in range(200):
        f.update(noisy(rng, T_TRUE), C_FRAME)
    D = np.asarray(cfg.floor_std)
    assert np.linalg.eigvalsh(f.covariance / np.outer(D, D)).min() >= 0.999  # published floor
    assert np.linalg.eigvalsh(f.P / np.outer(D, D)).min() < 1  # the filter still averages
    moved = retract_pose(T_TRUE, np.r_[0.3, 0, 0, 0, 0, 0.05])
    results = [f.update(moved, C_FRAME) for _ in range(4)]
    assert results == [False, False, False, True] and f.restarts == 1
    np.testing.assert_allclose(f.T, moved)


def means_of_windows_of_3(x):
    """Along axis 1 of ``x`` (runs, frames, 6): the means of each 3 consecutive frames (the
    node's estimates: windows of 3 sharing 2 frames with the next)."""
    return (x[:, :-2] + x[:, 1:-1] + x[:, 2:]) / 3


def run_drift(rng, step, frames=90, at=60, back=None, recenter=False, **config):
    d = DriftDetector(DriftConfig(**config))
    d.set_nominal(T_TRUE, recenter=recenter)
    T_step = retract_pose(T_TRUE, step)
    states = []
    for k in range(frames):
        true = T_step if at <= k < (back or frames) else T_TRUE
        states.append(d.update(noisy(rng, true), C_FRAME))
    return d, states


def test_no_false_alarm_without_drift(rng):
    alarms = sum("confirmed" in s for _ in range(20) for s in run_drift(rng, np.zeros(6))[1])
    assert alarms == 0  # 20 x 90 frames at the nominal (30 of them learning the scatter)


def test_steps_of_6_sigma_are_confirmed_within_10_frames(rng):
    """1 deg and 12 cm against per-frame noise of 0.16 deg / 2 cm (benchmarks/refine.py measures
    the 0.5 deg / 10 cm target on real replays, where the learned scatter is smaller)."""
    for step in (np.r_[0, 0, 0, 0, np.radians(1.0), 0], np.r_[0.12, 0, 0, 0, 0, 0]):
        d, states = run_drift(rng, step)
        first = states.index("drift_confirmed")
        assert 60 <= first < 70
        np.testing.assert_allclose(d.delta, step, atol=0.4 * np.abs(step).max())


def test_a_step_while_the_scatter_is_learned_is_confirmed_when_learning_ends(rng):
    """20 cm (10 sigma of the estimates) at the 15th of the 30 learning estimates: without the
    shift check the scatter takes the step in and it is never confirmed; with it, confirmed on
    the 30th, the delta measured, and a provisional nominal recentred on the estimates before
    the step."""
    step = np.r_[0.2, 0, 0, 0, 0, 0]
    for recenter in (False, True):
        _, states = run_drift(rng, step, at=15, recenter=recenter, shift_threshold=np.inf)
        assert "drift_confirmed" not in states
        d, states = run_drift(rng, step, at=15, recenter=recenter)
        assert d.learn_shift == 15 and states.index("drift_confirmed") == 29
        assert d.scatter_status == "learned, shift after estimate 15"
        np.testing.assert_allclose(d.delta, step, atol=0.03)
        assert np.linalg.norm(pose_difference(d.T_nominal, T_TRUE)[:3]) < 0.02


def test_level_shift_finds_the_split_and_not_one_in_noise(rng):
    e = rng.normal(size=(30, 6))
    k, t2 = level_shift(e, 4)
    assert 4 <= k <= 26 and t2 < 300  # noise: the largest T^2 stays below the threshold
    e[22:, 3] += 8.0
    assert level_shift(e, 4)[0] == 22 and level_shift(e, 4)[1] > 300
    assert level_shift(e[:7], 4) == (None, 0.0)  # no split leaves 4 on each side
    shifts = [run_drift(rng, np.zeros(6), frames=30)[0].learn_shift for _ in range(20)]
    assert shifts == [None] * 20
    # means of overlapping windows of 3 frames (the node's estimates) are correlated, which
    # inflates T^2 about fourfold; the default threshold allows for it
    x = rng.normal(size=(200, 32, 6))
    windows = means_of_windows_of_3(x)
    t2 = np.array([level_shift(w, 4)[1] for w in windows])
    assert np.median(t2) > 3 * np.median([level_shift(w, 4)[1] for w in x[:, :30]])
    assert np.mean(t2 > DriftConfig().shift_threshold) < 0.02
    assert run_drift(rng, np.zeros(6), frames=12)[0].scatter_status == "learning 12/30"


def test_drift_recovers_when_the_rig_returns(rng):
    step = np.r_[0, 0, 0, 0, 0, np.radians(1.0)]
    d, states = run_drift(rng, step, frames=110, at=50, back=70)
    assert "drift_confirmed" in states[50:70]
    assert states[-1] == "nominal" and np.all(d.delta == 0)
    assert d.confirmations == 1


def learned(rng, **config):
    """A detector that has learned the scatter of 30 noisy estimates at the nominal."""
    d = DriftDetector(DriftConfig(**config))
    d.set_nominal(T_TRUE)
    for _ in range(30):
        d.update(noisy(rng, T_TRUE), C_FRAME)
    assert not d.learning
    return d


def test_a_capped_cusum_needs_several_wild_estimates_to_confirm(rng):
    """One estimate 1 m off confirms at once without a cap; with ``max_increment`` 10 the CUSUM
    rises by 10 per estimate and confirms (threshold 40) on the fourth."""
    wild = retract_pose(T_TRUE, np.r_[1.0, 0, 0, 0, 0, 0])
    assert learned(rng).update(wild, C_FRAME) == "drift_confirmed"
    d = learned(rng, max_increment=10.0)
    states = [d.update(wild, C_FRAME) for _ in range(4)]
    assert states == ["nominal", "drift_suspected", "drift_suspected", "drift_confirmed"]
    assert d.g == 40.0
    d.update(T_TRUE, C_FRAME)  # back at the nominal: the CUSUM falls by the allowance
    assert d.g < 40.0


def test_an_estimate_that_says_it_is_uncertain_weighs_less_where_it_is(rng):
    """15 cm along x, from an estimate whose own covariance is 20 cm wide along x: against the
    learned scatter alone an alarm, with ``own_covariance_weight`` 1 hardly a rise; the same
    offset from an estimate that claims 2 cm still raises it."""
    off = retract_pose(T_TRUE, np.r_[0.15, 0, 0, 0, 0, 0])
    wide = C_FRAME.copy()
    wide[0, 0] = 0.2**2
    assert learned(rng).update(off, wide) != "nominal"
    d = learned(rng, own_covariance_weight=1.0)
    assert d.update(off, wide) == "nominal" and d.g == 0.0
    assert learned(rng, own_covariance_weight=1.0).update(off, C_FRAME) != "nominal"


class Scripted:
    """Replays a list of (T, C) estimates."""

    name = "scripted"

    def __init__(self, poses):
        self.poses, self.priors = list(poses), []

    def estimate(self, frame, prior):
        self.priors.append(prior)
        T = self.poses.pop(0)
        return Estimate("ok", T, C_FRAME.copy(), 500, 400, self.name)


def test_calibrator_fuses_then_watches_for_drift(rng):
    T_step = retract_pose(T_TRUE, np.r_[0, 0, 0, np.radians(1.0), 0, 0])
    poses = [noisy(rng, T_TRUE) for _ in range(40)] + [noisy(rng, T_step) for _ in range(15)]
    est = Scripted(poses)
    calib = CameraCalibrator(
        est, np.eye(4), QualityGate(), PoseFusion(), DriftDetector(), nominal=None
    )
    outs = [calib.process(None) for _ in range(55)]
    assert not outs[0].accepted and outs[0].state == STATES["initializing"]
    first = next(i for i, o in enumerate(outs) if o.accepted)
    assert first >= 2 and outs[first].estimate.estimator == "scripted+fusion"
    e = pose_difference(outs[24].estimate.T_cam_lidar, T_TRUE)
    assert np.degrees(np.linalg.norm(e[3:])) < 0.1 and np.linalg.norm(e[:3]) < 0.015
    assert all(o.state == STATES["converged"] for o in outs[first:40])
    confirmed = [i for i, o in enumerate(outs) if o.state == STATES["drift_confirmed"]]
    assert confirmed and 40 <= confirmed[0] < 50
    assert abs(np.degrees(outs[confirmed[0]].drift_delta[3]) - 1.0) < 0.3
    assert calib.drift.recenter and calib.drift.scatter is not None  # learned, recentred
    level, message, values = calib.diagnostics()
    assert (
        level == 2 and "drift confirmed" in message and values["drift_state"] == "drift_confirmed"
    )
    assert values["drift_scatter"] == "learned"
    # the fused estimate followed the rig after the gate restarted it
    e = pose_difference(outs[-1].estimate.T_cam_lidar, T_step)
    assert np.degrees(np.linalg.norm(e[3:])) < 0.3
    np.testing.assert_allclose(est.priors[0], np.eye(4))


def test_a_refused_estimate_keeps_the_drift_alarm(rng):
    """While drift is confirmed, a frame whose estimate fails the quality gate reports the alarm
    too (it was reported as converged: /diagnostics said ERROR, ~/estimate CONVERGED)."""
    T_step = retract_pose(T_TRUE, np.r_[0, 0, 0, np.radians(1.0), 0, 0])
    poses = [noisy(rng, T_TRUE) for _ in range(40)] + [noisy(rng, T_step) for _ in range(12)]
    est = Scripted(poses)
    calib = CameraCalibrator(est, T_TRUE, QualityGate(), PoseFusion(), DriftDetector())
    outs = [calib.process(None) for _ in range(52)]
    assert outs[-1].state == STATES["drift_confirmed"]
    est.poses.append(noisy(rng, T_step))
    calib.gate = QualityGate(min_inliers=1000)  # the next estimate (400 inliers) is refused
    refused = calib.process(None)
    assert not refused.accepted and refused.state == STATES["drift_confirmed"]
    assert calib.diagnostics()[0] == 2


def test_a_provisional_nominal_is_recentred_a_given_one_is_tested(rng):
    off = retract_pose(T_TRUE, np.r_[0, 0, 0, 0, 0, np.radians(1.0)])
    for recenter, alarm in ((True, False), (False, True)):
        d = DriftDetector()
        d.set_nominal(off, recenter=recenter)
        states = [d.update(noisy(rng, T_TRUE), C_FRAME) for _ in range(60)]
        assert ("drift_confirmed" in states) == alarm
    e = pose_difference(d.T_nominal, off)  # the given nominal stays where it was
    assert np.allclose(e, 0)


def test_estimate_window_widens_the_scatter_learned_from_overlapping_windows(rng):
    """Means of overlapping windows of 3 frames: 29 degrees of freedom count as about 13.7, and
    detectors told so (``estimate_window`` 3) are suspected less often on a null sequence."""
    assert effective_dof(29, 1) == 29
    np.testing.assert_allclose(effective_dof(29, 3), 29 / (1 + 2 * (4 + 1) / 9))
    std = np.r_[[0.02] * 3, [np.radians(0.16)] * 3]
    x = rng.normal(size=(100, 132, 6)) * std
    windows = means_of_windows_of_3(x)
    suspected = {}
    for w in (1, 3):
        count = 0
        for run in windows:
            d = DriftDetector(DriftConfig(estimate_window=w))
            d.set_nominal(T_TRUE)
            states = [d.update(retract_pose(T_TRUE, e), C_FRAME) for e in run]
            count += sum(s != "nominal" for s in states)
        suspected[w] = count
    assert suspected[3] < 0.6 * suspected[1], suspected
