"""Calibration pipeline pieces shared by the node and the CLIs (ROS-free)."""

from vp2p_ros.calib.estimate import Estimate, Estimator, QualityGate, published_pose
from vp2p_ros.calib.node_config import NodeConfig
from vp2p_ros.calib.pipeline import CameraCalibrator, Outcome
from vp2p_ros.calib.sync import ApproximateTimeSync, SyncStats
from vp2p_ros.calib.worker import LatestWinsWorker

__all__ = [
    "ApproximateTimeSync",
    "CameraCalibrator",
    "NodeConfig",
    "Outcome",
    "published_pose",
    "Estimate",
    "Estimator",
    "LatestWinsWorker",
    "QualityGate",
    "SyncStats",
]
