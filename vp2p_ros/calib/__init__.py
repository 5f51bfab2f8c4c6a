"""Calibration pipeline pieces shared by the node and the CLIs (ROS-free)."""

from vp2p_ros.calib.estimate import Estimate, Estimator, QualityGate
from vp2p_ros.calib.sync import ApproximateTimeSync, SyncStats
from vp2p_ros.calib.worker import LatestWinsWorker

__all__ = [
    "ApproximateTimeSync",
    "Estimate",
    "Estimator",
    "LatestWinsWorker",
    "QualityGate",
    "SyncStats",
]
