"""TF output with tf2_ros' wire behaviour (tf2_ros is used instead when importable).

* dynamic: ``/tf``, RELIABLE, VOLATILE, KEEP_LAST 100, one TFMessage per call;
* static: ``/tf_static``, RELIABLE, TRANSIENT_LOCAL, KEEP_LAST 1, always the whole aggregated
  list, a transform replacing the previous one with the same ``child_frame_id`` — so a
  late-joining subscriber gets every static transform.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

__all__ = ["DYNAMIC_QOS", "STATIC_QOS", "StaticTransformPublisher", "TransformPublisher", "make"]

DYNAMIC_QOS = QoSProfile(
    depth=100,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
STATIC_QOS = QoSProfile(
    depth=1,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


class TransformPublisher:
    """``tf2_ros.TransformBroadcaster`` equivalent."""

    def __init__(self, node):
        self._pub = node.create_publisher(TFMessage, "/tf", DYNAMIC_QOS)

    def sendTransform(self, transforms) -> None:  # noqa: N802 (tf2_ros' name)
        transforms = transforms if isinstance(transforms, list) else [transforms]
        self._pub.publish(TFMessage(transforms=transforms))


class StaticTransformPublisher:
    """``tf2_ros.StaticTransformBroadcaster`` equivalent (aggregating, replace by child)."""

    def __init__(self, node):
        self._pub = node.create_publisher(TFMessage, "/tf_static", STATIC_QOS)
        self._by_child: dict = {}

    def sendTransform(self, transforms) -> None:  # noqa: N802
        transforms = transforms if isinstance(transforms, list) else [transforms]
        for t in transforms:
            self._by_child[t.child_frame_id] = t
        self._pub.publish(TFMessage(transforms=list(self._by_child.values())))


def make(node, static: bool, prefer_tf2_ros: bool = True):
    """A broadcaster: tf2_ros' when importable and preferred, ours otherwise."""
    if prefer_tf2_ros:
        try:
            import tf2_ros

            cls = tf2_ros.StaticTransformBroadcaster if static else tf2_ros.TransformBroadcaster
            return cls(node)
        except ImportError:
            pass
    return StaticTransformPublisher(node) if static else TransformPublisher(node)
