"""TF, pose and CalibrationEstimate outputs with real rclpy, in one process (no sleeps)."""

import math

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")
from geometry_msgs.msg import PoseWithCovarianceStamped  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from test.ros.helpers import ros_context, spin_until  # noqa: E402
from vp2p_ros.calib import Estimate  # noqa: E402
from vp2p_ros.calib.estimate import published_pose  # noqa: E402
from vp2p_ros.geometry import inverse_transform, quaternion_to_matrix, se3_exp  # noqa: E402
from vp2p_ros.ros import messages, tf_out  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture
def nodes():
    with ros_context(
        lambda ctx: rclpy.create_node("vp2p_test_pub", context=ctx),
        lambda ctx: rclpy.create_node("vp2p_test_sub", context=ctx),
    ) as (ex, (pub, sub)):
        yield pub, sub, ex


def header(frame="camera"):
    h = Header()
    h.frame_id = frame
    h.stamp.sec, h.stamp.nanosec = 12, 345
    return h


def test_static_tf_reaches_a_late_joiner_with_the_aggregated_list(nodes):
    pub, sub, ex = nodes
    static = tf_out.StaticTransformPublisher(pub)
    T1, T2 = se3_exp(np.r_[0.1, 0.2, 0.3, 0.01, 0.02, 0.03]), se3_exp(np.r_[1.0, 0, 0, 0, 0, 0.5])
    static.sendTransform(messages.transform_stamped(T1, header(), "lidar"))
    static.sendTransform(messages.transform_stamped(T2, header(), "lidar2"))
    static.sendTransform(messages.transform_stamped(T2, header(), "lidar"))  # replaces by child
    got = []
    qos = QoSProfile(
        depth=100,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    sub.create_subscription(TFMessage, "/tf_static", got.append, qos)  # joins afterwards
    assert spin_until(ex, lambda: got)
    children = sorted(t.child_frame_id for t in got[-1].transforms)
    assert children == ["lidar", "lidar2"]
    lidar = next(t for t in got[-1].transforms if t.child_frame_id == "lidar")
    assert math.isclose(lidar.transform.translation.x, T2[0, 3])
    info = pub.get_publishers_info_by_topic("/tf_static")[0].qos_profile
    assert info.durability == DurabilityPolicy.TRANSIENT_LOCAL  # as discovered on the graph
    assert info.reliability == ReliabilityPolicy.RELIABLE
    assert static._pub.qos_profile.depth == 1  # depth is not announced by discovery


def test_dynamic_tf_qos_and_values(nodes):
    pub, sub, ex = nodes
    dyn = tf_out.TransformPublisher(pub)
    got = []
    sub.create_subscription(TFMessage, "/tf", got.append, tf_out.DYNAMIC_QOS)
    T = se3_exp(np.r_[0.5, -0.2, 0.1, 0.1, -0.2, 0.3])
    assert spin_until(ex, lambda: pub.count_subscribers("/tf") > 0)
    dyn.sendTransform(messages.transform_stamped(T, header(), "velodyne"))
    assert spin_until(ex, lambda: got)
    tf = got[0].transforms[0]
    q = [
        tf.transform.rotation.x,
        tf.transform.rotation.y,
        tf.transform.rotation.z,
        tf.transform.rotation.w,
    ]
    np.testing.assert_allclose(quaternion_to_matrix(np.array(q)), T[:3, :3], atol=1e-12)
    assert tf.header.frame_id == "camera" and tf.child_frame_id == "velodyne"
    info = pub.get_publishers_info_by_topic("/tf")[0].qos_profile
    assert info.durability == DurabilityPolicy.VOLATILE
    assert dyn._pub.qos_profile.depth == 100


def test_pose_and_calibration_messages_carry_the_covariance():
    from vp2p_ros.msg import CalibrationEstimate

    T = se3_exp(np.r_[0.3, 0.1, -0.2, 0.05, 0.1, -0.02])
    A = np.random.default_rng(0).normal(size=(6, 6)) * 0.01
    cov = A @ A.T
    est = Estimate("ok", T, cov, 900, 700)
    for direction, parent in (("cam_lidar", "camera"), ("lidar_cam", "lidar")):
        T_pub, cov_pub = published_pose(T, cov, direction)
        pose = messages.pose_msg(T_pub, cov_pub, header(parent))
        assert isinstance(pose, PoseWithCovarianceStamped)
        np.testing.assert_allclose(np.reshape(pose.pose.covariance, (6, 6)), cov_pub)
        assert math.isclose(pose.pose.pose.position.x, T_pub[0, 3])
        msg = messages.calibration_msg(
            CalibrationEstimate,
            T_pub,
            cov_pub,
            header(parent),
            parent,
            "x",
            est,
            CalibrationEstimate.STATE_CONVERGED,
            0.9,
            "",
        )
        assert msg.num_inliers == 700 and msg.state == CalibrationEstimate.STATE_CONVERGED
        np.testing.assert_allclose(np.reshape(msg.covariance, (6, 6)), cov_pub)
    T_inv, _ = published_pose(T, cov, "lidar_cam")
    np.testing.assert_allclose(T_inv, inverse_transform(T))
    with pytest.raises(ValueError, match="direction"):
        published_pose(T, cov, "up")


def test_tf2_ros_agrees_when_installed(nodes):
    tf2_ros = pytest.importorskip("tf2_ros")
    pub, _, _ = nodes
    assert isinstance(tf_out.make(pub, static=True), tf2_ros.StaticTransformBroadcaster)
    ours = tf_out.make(pub, static=True, prefer_tf2_ros=False)
    assert isinstance(ours, tf_out.StaticTransformPublisher)
