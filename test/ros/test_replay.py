"""Bag -> replayer -> calibration node -> TF, in one process with real rclpy."""

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")
from rosgraph_msgs.msg import Clock  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from test.ros.helpers import ros_context, single_frame, spin_until  # noqa: E402
from test.ros.test_node import FakeEstimator  # noqa: E402
from vp2p_ros.cli.make_bag import write_bag  # noqa: E402
from vp2p_ros.data import load_bundled_frames  # noqa: E402
from vp2p_ros.data.bag import read_bag  # noqa: E402
from vp2p_ros.errors import DatasetError  # noqa: E402
from vp2p_ros.ros.node import CalibrationNode  # noqa: E402
from vp2p_ros.ros.replay import BagReplayer  # noqa: E402
from vp2p_ros.ros.tf_out import DYNAMIC_QOS  # noqa: E402

pytestmark = pytest.mark.ros


def test_replayed_bag_drives_the_node(tmp_path):
    bag = write_bag(tmp_path / "bag", load_bundled_frames(3))
    params = single_frame(points_topic="/points")
    est = FakeEstimator()
    with ros_context(
        lambda ctx: CalibrationNode(estimator=est, context=ctx, parameter_overrides=params),
        lambda ctx: rclpy.create_node("replayer", context=ctx),
    ) as (ex, (node, player)):
        tf, clock = [], []
        player.create_subscription(TFMessage, "/tf", tf.append, DYNAMIC_QOS)
        player.create_subscription(Clock, "/clock", clock.append, 10)
        replayer = BagReplayer(
            player, bag, ["/camera/image", "/camera/camera_info", "/points"], rate=0
        )
        pubs = replayer.pubs.values()
        assert spin_until(ex, lambda: all(p.get_subscription_count() > 0 for p in pubs))
        assert replayer.run(spin=lambda: ex.spin_once(timeout_sec=0.01)) == 9
        cam = node.cameras[0]
        assert spin_until(ex, lambda: tf and cam.worker.wait_idle(0) and cam.calib.frames >= 1)
        assert tf[0].transforms[0].child_frame_id == "velodyne"
        assert clock and clock[-1].clock.sec == 1  # recorded time, not wall time
        assert cam.sync.stats.received[0] >= 1


def test_corrupt_or_missing_bags_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        list(read_bag(tmp_path / "nope"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: 99}\n")
    with pytest.raises(DatasetError, match="cannot read bag"):
        list(read_bag(bad))
    good = write_bag(tmp_path / "good", load_bundled_frames(1))
    with pytest.raises(DatasetError, match="no topic"):
        list(read_bag(good, ["/nope"]))
