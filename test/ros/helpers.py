"""Shared helpers of the rclpy tests: isolated contexts and bounded spinning (no sleeps)."""

import contextlib

import numpy as np

from vp2p_ros.calib import Estimate
from vp2p_ros.geometry import se3_exp


@contextlib.contextmanager
def ros_context(*node_factories):
    """Init a private rclpy context, build nodes with ``factory(ctx)``, spin them together."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    nodes = [f(ctx) for f in node_factories]
    ex = SingleThreadedExecutor(context=ctx)
    for n in nodes:
        ex.add_node(n)
    try:
        yield ex, nodes
    finally:
        ex.shutdown()
        for n in nodes:
            n.destroy_node()
        rclpy.shutdown(context=ctx)


def spin_until(ex, cond, max_spins=600):
    """Spin until ``cond()`` holds (True) or the spin budget is used up (cond's value)."""
    for _ in range(max_spins):
        if cond():
            return True
        ex.spin_once(timeout_sec=0.02)
    return cond()


def single_frame(**params):
    """Parameter overrides publishing each accepted estimate as is (no fusion, no drift)."""
    from rclpy.parameter import Parameter

    params = {"fuse": False, "drift_nominal": "off", **params}
    return [Parameter(k, value=v) for k, v in params.items()]


T_TRUE = se3_exp(np.r_[0.05, -0.08, -0.3, -1.2, 0.02, -1.55])
COV = np.diag([1e-4] * 3 + [1e-5] * 3)


class FakeEstimator:
    """Returns T_TRUE; raises on frames whose stamp ends in 7 (to test error handling)."""

    name = "fake"

    def __init__(self):
        self.priors = []

    def estimate(self, frame, prior):
        self.priors.append(prior)
        if frame.stamp_ns % 10 == 7:
            raise RuntimeError("estimator exploded")
        return Estimate("ok", T_TRUE.copy(), COV.copy(), 500, 400, "fake")


def node_outputs(peer, camera="camera", node="/vp2p_calibration_node"):
    """Subscribe ``peer`` to every output of one camera; returns {kind: [messages]}."""
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from sensor_msgs.msg import Image
    from tf2_msgs.msg import TFMessage
    from vp2p_ros.msg import CalibrationEstimate

    from vp2p_ros.ros.tf_out import DYNAMIC_QOS

    got = {"tf": [], "pose": [], "est": [], "diag": [], "overlay": []}
    ns = f"{node}/{camera}"
    peer.create_subscription(TFMessage, "/tf", got["tf"].append, DYNAMIC_QOS)
    peer.create_subscription(PoseWithCovarianceStamped, f"{ns}/extrinsic", got["pose"].append, 10)
    peer.create_subscription(CalibrationEstimate, f"{ns}/estimate", got["est"].append, 10)
    peer.create_subscription(DiagnosticArray, "/diagnostics", got["diag"].append, 10)
    peer.create_subscription(Image, f"{ns}/overlay", got["overlay"].append, 2)
    return got


def sensor_publishers(peer, camera="camera", points="points"):
    """Image, CameraInfo and PointCloud2 publishers (sensor-data QoS) in that order."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    topics = ((Image, f"{camera}/image"), (CameraInfo, f"{camera}/camera_info"))
    topics += ((PointCloud2, points),)
    return [peer.create_publisher(c, t, qos_profile_sensor_data) for c, t in topics]
