"""Sensor data: the Frame type and dataset readers (KITTI, nuScenes, pjlab, bundled)."""

from vp2p_ros.data.bundled import BUNDLED_KITTI_RAW, load_bundled_frames
from vp2p_ros.data.frame import Frame
from vp2p_ros.data.kitti import (
    kitti_raw_indices,
    load_kitti_object,
    load_kitti_odometry,
    load_kitti_raw,
    split_projection_matrix,
)
from vp2p_ros.data.nuscenes import NuScenesTables, load_nuscenes
from vp2p_ros.data.pcd import read_pcd
from vp2p_ros.data.pjlab import load_pjlab

__all__ = [
    "BUNDLED_KITTI_RAW",
    "Frame",
    "NuScenesTables",
    "kitti_raw_indices",
    "load_bundled_frames",
    "load_kitti_object",
    "load_kitti_odometry",
    "load_kitti_raw",
    "load_nuscenes",
    "load_pjlab",
    "read_pcd",
    "split_projection_matrix",
]
