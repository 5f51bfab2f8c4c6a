"""Rigid-body geometry (SO(3)/SE(3)), numpy or torch."""

from vp2p_ros.geometry.lie import (
    interpolate_transform,
    inverse_transform,
    make_transform,
    matrix_to_quaternion,
    matrix_to_rpy,
    quaternion_to_matrix,
    rotation_angle,
    rpy_to_matrix,
    se3_exp,
    se3_log,
    skew,
    so3_exp,
    so3_left_jacobian,
    so3_log,
    transform_distance,
    transform_points,
)
from vp2p_ros.geometry.perturbation import (
    covariance_of_composition,
    covariance_of_inverse,
    pose_difference,
    retract_pose,
)

__all__ = [
    "covariance_of_composition",
    "covariance_of_inverse",
    "pose_difference",
    "retract_pose",
    "inverse_transform",
    "interpolate_transform",
    "make_transform",
    "matrix_to_quaternion",
    "matrix_to_rpy",
    "quaternion_to_matrix",
    "rotation_angle",
    "rpy_to_matrix",
    "se3_exp",
    "se3_log",
    "skew",
    "so3_exp",
    "so3_left_jacobian",
    "so3_log",
    "transform_distance",
    "transform_points",
]
