"""Estimate -> ROS messages (TransformStamped, PoseWithCovarianceStamped, CalibrationEstimate)."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseWithCovarianceStamped, Transform, TransformStamped
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from vp2p_ros.data import Frame
from vp2p_ros.geometry import matrix_to_quaternion
from vp2p_ros.msgconv import array_to_image, arrays_to_pointcloud2

__all__ = ["calibration_msg", "frame_messages", "pose_msg", "transform_msg", "transform_stamped"]


def frame_messages(
    frame: Frame,
    stamp_ns: int,
    camera_frame: str = "camera_optical",
    lidar_frame: str = "velodyne",
) -> tuple[Image, CameraInfo, PointCloud2]:
    """The (rgb8 Image, CameraInfo, PointCloud2) a driver would publish for ``frame``."""
    header = Header(frame_id=camera_frame)
    header.stamp.sec, header.stamp.nanosec = divmod(int(stamp_ns), 10**9)
    image = array_to_image(
        frame.image,
        "rgb8",
        msg_cls=Image,
        header_cls=Header,
        frame_id=camera_frame,
        stamp=header.stamp,
    )
    info = CameraInfo(header=header, **frame.camera.to_camera_info_fields())
    cloud = arrays_to_pointcloud2(
        frame.points,
        frame.intensity,
        frame_id=lidar_frame,
        msg_cls=PointCloud2,
        field_cls=PointField,
        header_cls=Header,
    )
    cloud.header.stamp = header.stamp
    return image, info, cloud


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


def calibration_msg(
    msg_cls, T, cov, header, parent, child, est, state, quality, message, drift_delta=None
):
    """Fill ``vp2p_ros/CalibrationEstimate`` (``msg_cls``); T / cov may be None for failures."""
    out = msg_cls()
    out.header = header
    out.parent_frame_id, out.child_frame_id = parent, child
    if T is not None:
        out.transform = transform_msg(T)
        out.covariance = [float(v) for v in np.asarray(cov, float).reshape(36)]
    out.num_matches, out.num_inliers = int(est.num_matches), int(est.num_inliers)
    out.quality, out.state, out.message = float(quality), int(state), str(message)
    if drift_delta is not None:
        out.drift_delta = [float(v) for v in drift_delta]
    return out
