"""The calibration node end to end in one process, with real rclpy and a stand-in estimator."""

import math

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from test.ros.helpers import (  # noqa: E402
    COV,
    T_TRUE,
    FakeEstimator,
    node_outputs,
    ros_context,
    sensor_publishers,
    single_frame,
    spin_until,
)
from vp2p_ros.calib.fusion import FusionConfig  # noqa: E402
from vp2p_ros.camera import CameraModel  # noqa: E402
from vp2p_ros.data import Frame  # noqa: E402
from vp2p_ros.geometry import inverse_transform  # noqa: E402
from vp2p_ros.ros.messages import frame_messages  # noqa: E402
from vp2p_ros.ros.node import CalibrationNode  # noqa: E402

pytestmark = pytest.mark.ros


def msgs(stamp_ns, w=64, h=48):
    """A small synthetic (Image, CameraInfo, PointCloud2) set."""
    K = np.array([[50.0, 0.0, w / 2], [0.0, 50.0, h / 2], [0.0, 0.0, 1.0]])
    xyz = np.random.default_rng(0).uniform([-5, -5, -1], [5, 5, 1], (500, 3)).astype(np.float32)
    frame = Frame(
        image=np.zeros((h, w, 3), np.uint8),
        points=xyz,
        intensity=np.ones(500, np.float32),
        camera=CameraModel(w, h, K, []),
    )
    return frame_messages(frame, stamp_ns)


@pytest.fixture
def rig(request):
    overrides = single_frame(**getattr(request, "param", {}))
    est = FakeEstimator()
    with ros_context(
        lambda ctx: CalibrationNode(estimator=est, context=ctx, parameter_overrides=overrides),
        lambda ctx: rclpy.create_node("peer", context=ctx),
    ) as (ex, (node, peer)):
        got, pubs = node_outputs(peer), sensor_publishers(peer)
        yield node, est, ex, pubs, got


def send(ex, pubs, triple):
    assert spin_until(ex, lambda: all(p.get_subscription_count() > 0 for p in pubs))
    for p, m in zip(pubs, triple):
        p.publish(m)


def test_synchronised_messages_give_tf_pose_and_estimate(rig):
    node, est, ex, pubs, got = rig
    send(ex, pubs, msgs(10**9))
    assert spin_until(ex, lambda: got["tf"] and got["pose"] and got["est"])
    tf = got["tf"][0].transforms[0]
    assert tf.header.frame_id == "camera_optical" and tf.child_frame_id == "velodyne"
    assert math.isclose(tf.transform.translation.z, T_TRUE[2, 3], abs_tol=1e-12)
    np.testing.assert_allclose(np.reshape(got["pose"][0].pose.covariance, (6, 6)), COV)
    e = got["est"][0]
    assert e.num_inliers == 400 and e.state == e.STATE_CONVERGED and e.message == ""
    np.testing.assert_allclose(est.priors[0], node.cfg.T_cam_lidar_initial)


@pytest.mark.parametrize("rig", [{"fuse": True, "drift_nominal": "converged"}], indirect=True)
def test_fused_estimate_is_published_once_converged(rig):
    node, _, ex, pubs, got = rig
    cam = node.cameras[0]
    for k in range(3):
        send(ex, pubs, msgs(10**9 + k * 10**8))
        assert spin_until(ex, lambda k=k: len(got["est"]) == k + 1)
        assert bool(got["tf"]) == (k == 2)  # fusing: min_updates = 3
    e = got["est"][-1]
    assert e.state == e.STATE_CONVERGED and list(e.drift_delta) == [0.0] * 6
    floor = np.diag(np.square(FusionConfig().floor_std))  # published never below the floor
    cov = np.reshape(got["pose"][0].pose.covariance, (6, 6))
    np.testing.assert_allclose(cov, np.maximum(COV / 3, floor), rtol=0.05, atol=1e-12)
    values = dict(cam.calib.diagnostics()[2])
    assert values["fused_updates"] == "3" and values["drift_state"] == "nominal"


@pytest.mark.parametrize("rig", [{"overlay_initial": True}], indirect=True)
def test_overlay_with_the_initial_extrinsic_below(rig):
    _, _, ex, pubs, got = rig
    send(ex, pubs, msgs(10**9))
    assert spin_until(ex, lambda: got["overlay"])
    o = got["overlay"][0]
    assert (o.width, o.height, o.encoding) == (64, 96, "rgb8")  # current over initial


@pytest.mark.parametrize("rig", [{"tf_republish_hz": 20.0}], indirect=True)
def test_current_extrinsic_is_republished_on_tf_between_estimates(rig):
    _, _, ex, pubs, got = rig
    spin_until(ex, lambda: False, max_spins=10)
    assert not got["tf"]  # nothing accepted yet: nothing to repeat
    send(ex, pubs, msgs(10**9))
    assert spin_until(ex, lambda: len(got["tf"]) >= 4)  # one estimate, then the timer
    last = got["tf"][-1].transforms[0]
    assert last.header.stamp.sec != 1 or last.header.stamp.nanosec != 0  # stamped now
    assert math.isclose(last.transform.translation.z, T_TRUE[2, 3], abs_tol=1e-12)


@pytest.mark.parametrize("rig", [{"direction": "lidar_cam"}], indirect=True)
def test_inverse_direction(rig):
    _, _, ex, pubs, got = rig
    send(ex, pubs, msgs(2 * 10**9))
    assert spin_until(ex, lambda: got["tf"])
    tf = got["tf"][0].transforms[0]
    assert tf.header.frame_id == "velodyne" and tf.child_frame_id == "camera_optical"
    assert math.isclose(tf.transform.translation.x, inverse_transform(T_TRUE)[0, 3], abs_tol=1e-9)


def test_worker_exception_is_reported_and_next_pair_processed(rig):
    node, _, ex, pubs, got = rig
    send(ex, pubs, msgs(3 * 10**9 + 7))  # the estimator raises on this one
    cam = node.cameras[0]
    assert spin_until(ex, lambda: cam.worker.failed == 1)
    send(ex, pubs, msgs(4 * 10**9))
    assert spin_until(ex, lambda: got["est"])
    got["diag"].clear()  # drop what the diagnostics timer sent before the estimate
    node.publish_diagnostics()
    assert spin_until(ex, lambda: got["diag"])
    values = {kv.key: kv.value for kv in got["diag"][-1].status[0].values}
    assert "estimator exploded" in values["last_error"] and values["accepted"] == "1"


def test_malformed_and_missing_inputs_become_diagnostics(rig):
    node, _, ex, pubs, got = rig
    _, info, cloud = msgs(5 * 10**9)
    img = msgs(5 * 10**9, w=80)[0]  # image 80 wide, camera_info says 64
    send(ex, pubs, (img, info, cloud))
    cam = node.cameras[0]
    assert spin_until(ex, lambda: cam.calib.errors == 1)
    assert not got["tf"]
    assert "camera_info says 64x48" in cam.calib.last_error
    img, _, cloud = msgs(6 * 10**9)
    pubs[0].publish(img)  # no camera_info for this one
    pubs[2].publish(cloud)
    assert spin_until(ex, lambda: cam.sync.stats.received[0] == 2)
    node.publish_diagnostics()
    assert spin_until(ex, lambda: got["diag"])
    assert not got["tf"]


def test_invalid_parameters_are_rejected_with_a_clear_message():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        with pytest.raises(ValueError, match="direction must be one of"):
            CalibrationNode(context=ctx, parameter_overrides=[Parameter("direction", value="up")])
    finally:
        rclpy.shutdown(context=ctx)


class SlowEstimator(FakeEstimator):
    def estimate(self, frame, prior):
        import time

        time.sleep(0.05)  # 20 Hz at best: slower than the flood below
        return super().estimate(frame, prior)


def test_flood_keeps_queues_bounded_and_the_node_responsive():
    """200 synchronised sets back to back: callbacks never block, pending work stays at one."""

    est = SlowEstimator()
    with ros_context(
        lambda ctx: CalibrationNode(
            estimator=est, context=ctx, parameter_overrides=single_frame()
        ),
        lambda ctx: rclpy.create_node("peer", context=ctx),
    ) as (ex, (node, peer)):
        pubs = sensor_publishers(peer)
        diag = []
        peer.create_subscription(DiagnosticArray, "/diagnostics", diag.append, 10)
        send(ex, pubs, msgs(10**9))
        for k in range(1, 200):
            for p, m in zip(pubs, msgs(10**9 + k * 10**7)):  # 100 Hz of stamps
                p.publish(m)
            ex.spin_once(timeout_sec=0)
        cam = node.cameras[0]
        spin_until(ex, lambda: False, max_spins=50)  # let the transport settle (best effort)
        assert cam.sync.stats.emitted >= 10  # measured here: 54 of 200 (best-effort depth 5)
        assert all(len(q) <= node.cfg.sync_queue_size for q in cam.sync.queues)
        assert cam.worker.dropped > 0 and cam.worker.processed < cam.worker.submitted
        diag.clear()
        node.publish_diagnostics()
        assert spin_until(ex, lambda: diag)  # still responsive
        values = {kv.key: kv.value for kv in diag[-1].status[0].values}
        assert int(values["dropped_sets"]) == cam.worker.dropped
        assert cam.worker.wait_idle(10)


def test_two_cameras_get_their_own_outputs():
    from vp2p_ros.msg import CalibrationEstimate

    params = single_frame(cameras=["left", "right"])
    with ros_context(
        lambda ctx: CalibrationNode(
            estimator=FakeEstimator(), context=ctx, parameter_overrides=params
        ),
        lambda ctx: rclpy.create_node("peer", context=ctx),
    ) as (ex, (node, peer)):
        got = {"left": [], "right": []}
        for cam in got:
            peer.create_subscription(
                CalibrationEstimate, f"/vp2p_calibration_node/{cam}/estimate", got[cam].append, 10
            )
        left, right = sensor_publishers(peer, "left"), sensor_publishers(peer, "right")
        pubs = left[:2] + right
        img, info, cloud = msgs(7 * 10**9)
        send(ex, pubs, (img, info, img, info, cloud))
        assert spin_until(ex, lambda: got["left"] and got["right"])
        assert [c.name for c in node.cameras] == ["left", "right"]
        assert all(c.calib.accepted == 1 for c in node.cameras)


def test_an_estimate_finishing_after_shutdown_is_dropped_quietly():
    """SIGINT shuts the context down while the worker is mid-estimate: publishing then would raise
    (RCLError: publisher's context is invalid) and be logged as an estimator failure."""
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = CalibrationNode(
        estimator=FakeEstimator(), context=ctx, parameter_overrides=single_frame()
    )
    try:
        cam = node.cameras[0]
        rclpy.shutdown(context=ctx)
        cam._work(msgs(10**9))  # would raise without the context check
        assert cam.calib.frames == 1 and cam.calib.errors == 0
    finally:
        for c in node.cameras:
            c.worker.stop()
            c.overlay_worker.stop()


@pytest.mark.parametrize("estimator, window", [(None, 4), (FakeEstimator(), 1)])
def test_drift_detector_is_told_the_estimates_window(estimator, window):
    """Refinement over a window of frames makes consecutive estimates share frames: the node's
    drift detector learns its scatter with that window; a single-frame estimator's is 1."""
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    params = single_frame(
        estimator="refine", refine_window=4, drift_nominal="converged", drift_threshold=30.0
    )
    node = CalibrationNode(estimator=estimator, context=ctx, parameter_overrides=params)
    try:
        config = node.cameras[0].calib.drift.config
        assert (config.estimate_window, config.threshold) == (window, 30.0)
    finally:
        for c in node.cameras:
            c.worker.stop()
            c.overlay_worker.stop()
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def test_refine_parameters_reach_the_estimator():
    from vp2p_ros.calib import NodeConfig
    from vp2p_ros.ros.node import _estimator_factory

    cfg = NodeConfig(
        estimator="refine",
        refine_window=4,
        refine_rotation_std_deg=5.0,
        refine_translation_std_m=0.25,
        refine_translation_starts=7,
        refine_mi_weight=0.0,
        refine_orientation_leak=0.25,
        refine_min_contrast=1.6,
    )
    est = _estimator_factory(cfg)()
    assert est.frames.maxlen == est.window == 4
    rc = est.config
    assert (rc.rotation_std_deg, rc.translation_std_m, rc.translation_starts) == (5.0, 0.25, 7)
    assert rc.mi_weight == 0.0
    assert est.edge_options == {"orientation_leak": 0.25}
    assert est.min_contrast == 1.6
