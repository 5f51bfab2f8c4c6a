"""The node in its own process: full-size KITTI messages over DDS, outputs back, clean shutdown."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")

from test.ros.helpers import COV, T_TRUE, node_outputs, ros_context, sensor_publishers, spin_until  # noqa: E402
from vp2p_ros.data import load_bundled_frames  # noqa: E402
from vp2p_ros.ros.messages import frame_messages  # noqa: E402

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[2]


def test_node_in_another_process():

    node = subprocess.Popen(
        [sys.executable, "-m", "test.ros.fake_node_process", "--ros-args"]
        + ["-p", "parent_frame:=cam0", "-p", "publish_overlay:=true", "-p", "fuse:=false"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        while not lines or lines[-1] not in ("ready", ""):  # "" = the process ended
            lines.append(node.stdout.readline().strip())
        assert lines[-1] == "ready", lines
        with ros_context(lambda ctx: rclpy.create_node("peer", context=ctx)) as (ex, (peer,)):
            got, pubs = node_outputs(peer), sensor_publishers(peer)
            assert spin_until(
                ex, lambda: all(p.get_subscription_count() for p in pubs), max_spins=1500
            ), "the node process was not discovered"
            frame = load_bundled_frames(1)[0]  # 1242x375 image, ~120k points: large messages
            for k in range(3):  # best effort: a first set may race the matching of readers
                for p, m in zip(pubs, frame_messages(frame, 10**9 + k * 10**8)):
                    p.publish(m)
                if spin_until(ex, lambda: got["tf"] and got["pose"] and got["est"], 100):
                    break
            assert got["tf"] and got["pose"] and got["est"]
            tf = got["tf"][0].transforms[0]
            assert tf.header.frame_id == "cam0" and tf.child_frame_id == "velodyne"
            np.testing.assert_allclose(tf.transform.translation.x, T_TRUE[0, 3], atol=1e-12)
            np.testing.assert_allclose(np.reshape(got["pose"][0].pose.covariance, (6, 6)), COV)
            assert got["est"][0].num_inliers == 400
            assert spin_until(ex, lambda: got["overlay"], max_spins=500)
            assert (got["overlay"][0].width, got["overlay"][0].height) == (1242, 375)
        node.send_signal(signal.SIGINT)
        out, _ = node.communicate(timeout=30)
        assert node.returncode == 0, out
    finally:
        if node.poll() is None:
            node.kill()
            node.communicate()
