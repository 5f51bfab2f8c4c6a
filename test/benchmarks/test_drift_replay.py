"""The drift replays' machinery (benchmarks.drift_replay): the step is where the truth says,
branches are independent, alarms are counted where they happened."""

import numpy as np

from benchmarks.drift_replay import (
    DRIFT_LADDER,
    Trace,
    alarms,
    branch,
    looped_with_step,
    node_pipeline,
    optical_axis_errors,
)
from vp2p_ros.calib.pipeline import STATES
from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame
from vp2p_ros.geometry import inverse_transform, se3_exp, transform_points

RIG = SyntheticRig(width=320, height=96, focal=180.0, beams=8, azimuth_step_deg=2.0)


def test_looped_frames_move_from_the_step_as_the_truth_says():
    """Frames loop; from ``at`` the LiDAR points are moved by exp(step), so T @ exp(step)^-1
    maps them where T mapped the originals."""
    frames = [synthetic_frame(s, RIG) for s in (1, 2)]
    step = DRIFT_LADDER[2][1] + DRIFT_LADDER[1][1]  # 10 cm and 0.5 deg
    out = list(looped_with_step(frames, 5, at=3)(step))
    assert [f.name for f in out] == [frames[k % 2].name for k in range(5)]
    for k in range(3):
        np.testing.assert_array_equal(out[k].points, frames[k % 2].points)
    T, T_after = RIG.T_cam_lidar, RIG.T_cam_lidar @ inverse_transform(se3_exp(step))
    for k in (3, 4):
        original = frames[k % 2].points.astype(float)
        moved = out[k].points.astype(float)
        assert np.abs(moved - original).max() > 0.05
        np.testing.assert_allclose(
            transform_points(T_after, moved), transform_points(T, original), atol=1e-4
        )


def test_a_branch_is_independent_and_usable():
    calib, trace = node_pipeline(RIG.T_cam_lidar), Trace(states=[1], cusum=[0.0])
    twin, twin_trace = branch(calib, trace)
    twin_trace.states.append(2)
    twin.prior[0, 3] += 1.0
    assert trace.states == [1] and calib.prior[0, 3] == RIG.T_cam_lidar[0, 3]
    assert twin.lock is not calib.lock and calib.lock is not None
    with twin.lock, calib.lock:  # both lock (a shared or missing lock would not)
        pass


def test_node_pipeline_detector_is_the_offline_baseline():
    """benchmarks.drift_detector's baseline is the detector the node's pipeline runs: told the
    refinement window of 3, the node's threshold."""
    from benchmarks.drift_detector import NODE_DEFAULT

    config = node_pipeline(RIG.T_cam_lidar).drift.config
    assert config == NODE_DEFAULT and config.estimate_window == 3


def test_alarms_are_counted_before_and_after_the_step():
    S, C, K = STATES["drift_suspected"], STATES["drift_confirmed"], STATES["converged"]
    states = [K, S, C, K, K, S, S, C, C]  # a false confirmation at 2, the step at 4
    assert alarms(states, 4, stepped=True) == (1, 1, 4, 2)  # confirmed at frame 7: 4 frames on
    assert alarms(states, 4, stepped=False) == (3, 3, None, 2)  # no step: all frames count
    assert alarms([K] * 6, 3, stepped=True) == (0, 0, None, None)


def test_optical_axis_errors_are_against_each_frames_extrinsic():
    step = DRIFT_LADDER[2][1]  # 10 cm along the LiDAR's x
    T_gt = RIG.T_cam_lidar
    T_after = T_gt @ inverse_transform(se3_exp(step))
    trace = Trace(estimates=[T_gt, None, T_after, T_gt])
    axis = optical_axis_errors(trace, T_gt, step, at=2)
    assert [k for k, _ in axis] == [0, 2, 3]
    np.testing.assert_allclose([e for _, e in axis][:2], [0.0, 0.0], atol=1e-9)
    # the LiDAR's x is the camera's optical axis on this rig: the old extrinsic reads 10 cm
    np.testing.assert_allclose(abs(axis[2][1]), 10.0, atol=1e-6)


def test_a_recorded_replay_is_reproduced_offline(tmp_path):
    """What a replay fed its recording detector, saved with its settings and fed again to a
    detector with those (benchmarks.drift_detector), gives the same alarms frame by frame; other
    settings differ."""
    from benchmarks.drift_detector import alarm_frames, recorded_config, replay_detector
    from benchmarks.drift_replay import RecordingDriftDetector, replay, save_log
    from vp2p_ros.calib import CameraCalibrator, Estimate, QualityGate
    from vp2p_ros.calib.fusion import DriftConfig, PoseFusion
    from vp2p_ros.geometry import retract_pose

    rng = np.random.default_rng(3)
    C = np.diag([0.02**2] * 3 + [np.radians(0.16) ** 2] * 3)
    step = DRIFT_LADDER[1][1] * 2  # 1 deg of yaw from frame 50
    T = RIG.T_cam_lidar
    poses = [
        retract_pose(
            T if k < 50 else T @ inverse_transform(se3_exp(step)),
            rng.normal(0, 1, 6) * np.sqrt(np.diag(C)),
        )
        for k in range(70)
    ]

    class Scripted:
        name = "scripted"

        def estimate(self, frame, prior):
            return Estimate("ok", poses[frame], C.copy(), 500, 400, self.name)

    recording = RecordingDriftDetector(DriftConfig(estimate_window=3, floor_std=(1e-3,) * 6))
    calib = CameraCalibrator(Scripted(), T, QualityGate(), PoseFusion(), recording)
    trace = Trace()
    replay(calib, range(70), trace, "scripted")
    confirmed = STATES["drift_confirmed"]
    assert confirmed in trace.states[50:]
    save_log(tmp_path / "r.npz", "1 deg (yaw)", step, 50, calib, trace)
    log = dict(np.load(tmp_path / "r.npz"))
    assert recorded_config(log) == recording.config
    assert alarm_frames(replay_detector(log, recording.config)) == alarm_frames(trace.states)
    assert STATES["drift_confirmed"] in alarm_frames(trace.states)
    assert confirmed not in replay_detector(log, DriftConfig(threshold=1e9))
