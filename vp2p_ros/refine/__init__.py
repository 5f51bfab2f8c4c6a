"""Weight-free extrinsic refinement: LiDAR range edges aligned with image edges (ROS-free)."""

from vp2p_ros.refine.align import (
    FrameCost,
    JackknifeConfig,
    RefineConfig,
    RefineResult,
    prepare,
    refine,
)
from vp2p_ros.refine.estimator import RefineEstimator
from vp2p_ros.refine.features import LidarEdges, edge_attraction, lidar_edges

__all__ = [
    "FrameCost",
    "JackknifeConfig",
    "LidarEdges",
    "RefineConfig",
    "RefineEstimator",
    "RefineResult",
    "edge_attraction",
    "lidar_edges",
    "prepare",
    "refine",
]
