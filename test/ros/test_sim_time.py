"""Sim time: diagnostics without /clock, and a /clock jump back (bag loop) resetting the sync."""

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")
from rosgraph_msgs.msg import Clock  # noqa: E402

from test.ros.helpers import (  # noqa: E402
    node_outputs,
    ros_context,
    sensor_publishers,
    single_frame,
    spin_until,
)
from test.ros.test_node import FakeEstimator, msgs, send  # noqa: E402
from vp2p_ros.ros.node import CalibrationNode  # noqa: E402

pytestmark = pytest.mark.ros


def clock_msg(sec):
    m = Clock()
    m.clock.sec = sec
    return m


def test_sim_time_without_clock_then_a_bag_loop():
    params = single_frame(use_sim_time=True, diagnostics_period_s=0.1)
    with ros_context(
        lambda ctx: CalibrationNode(
            estimator=FakeEstimator(), context=ctx, parameter_overrides=params
        ),
        lambda ctx: rclpy.create_node("peer", context=ctx),
    ) as (ex, (node, peer)):
        got, pubs = node_outputs(peer), sensor_publishers(peer)
        diag, tf = got["diag"], got["tf"]
        clock = peer.create_publisher(Clock, "/clock", 10)

        # no /clock yet: the steady diagnostics timer still reports, and says why nothing moves
        assert spin_until(ex, lambda: diag)
        status = diag[-1].status[0]
        values = {kv.key: kv.value for kv in status.values}
        assert status.level == bytes([1]) and "no /clock received" in status.message
        assert values["clock"] == "sim (/clock)" and values["clock_jumps_back"] == "0"

        # time runs at 100 s; an incomplete set is queued (no point cloud)
        assert spin_until(ex, lambda: clock.get_subscription_count() > 0)
        clock.publish(clock_msg(100))
        assert spin_until(ex, lambda: node.get_clock().now().nanoseconds == 100 * 10**9)
        img, info, _ = msgs(100 * 10**9)
        send(ex, pubs[:2], (img, info))
        cam = node.cameras[0]
        assert spin_until(ex, lambda: cam.sync.stats.received[:2] == [1, 1])

        # the bag loops: /clock back to 5 s drops the stale queue; fresh sets pair and publish
        clock.publish(clock_msg(5))
        assert spin_until(ex, lambda: node.clock_jumps_back == 1)
        assert cam.sync.stats.resets >= 1 and not any(cam.sync.queues)
        send(ex, pubs, msgs(5 * 10**9))
        assert spin_until(ex, lambda: tf)
        assert tf[0].transforms[0].header.stamp.sec == 5
        n = len(diag)
        assert spin_until(ex, lambda: len(diag) > n)
        assert diag[-1].header.stamp.sec == 5  # diagnostics stamped with sim time
        values = {kv.key: kv.value for kv in diag[-1].status[0].values}
        assert values["clock_jumps_back"] == "1" and diag[-1].status[0].level == bytes([0])
