"""Estimate -> ROS messages (TransformStamped, PoseWithCovarianceStamped, CalibrationEstimate)."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseWithCovarianceStamped, Transform, TransformStamped
from std_msgs.msg import Header

from vp2p_ros.geometry import matrix_to_quaternion

__all__ = ["calibration_msg", "pose_msg", "transform_msg", "transform_stamped"]


def transform_msg(T: np.ndarray) -> Transform:
    """(4, 4) -> geometry_msgs/Transform (quaternion x, y, z, w)."""
    out = Transform()
    out.translation.x, out.translation.y, out.translation.z = (float(v) for v in T[:3, 3])
    q = matrix_to_quaternion(np.asarray(T[:3, :3], float))
    out.rotation.x, out.rotation.y, out.rotation.z, out.rotation.w = (float(v) for v in q)
    return out


def transform_stamped(T: np.ndarray, header: Header, child: str) -> TransformStamped:
    out = TransformStamped()
    out.header = header
    out.child_frame_id = child
    out.transform = transform_msg(T)
    return out


def pose_msg(T: np.ndarray, cov: np.ndarray, header: Header) -> PoseWithCovarianceStamped:
    """T_parent_child as the pose of the child in the parent frame, with its 6x6 covariance."""
    out = PoseWithCovarianceStamped()
    out.header = header
    tf = transform_msg(T)
    p = out.pose.pose
    p.position.x, p.position.y, p.position.z = tf.translation.x, tf.translation.y, tf.translation.z
    p.orientation = tf.rotation
    out.pose.covariance = [float(v) for v in np.asarray(cov, float).reshape(36)]
    return out


def calibration_msg(msg_cls, T, cov, header, parent, child, est, state, quality, message):
    """Fill ``vp2p_ros/CalibrationEstimate`` (``msg_cls``); T / cov may be None for failures."""
    out = msg_cls()
    out.header = header
    out.parent_frame_id, out.child_frame_id = parent, child
    if T is not None:
        out.transform = transform_msg(T)
        out.covariance = [float(v) for v in np.asarray(cov, float).reshape(36)]
    out.num_matches, out.num_inliers = int(est.num_matches), int(est.num_inliers)
    out.quality, out.state, out.message = float(quality), int(state), str(message)
    return out
