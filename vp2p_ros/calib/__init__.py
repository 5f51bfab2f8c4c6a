"""Calibration pipeline pieces shared by the node and the CLIs (ROS-free)."""

from vp2p_ros.calib.sync import ApproximateTimeSync, SyncStats
from vp2p_ros.calib.worker import LatestWinsWorker

__all__ = ["ApproximateTimeSync", "LatestWinsWorker", "SyncStats"]
