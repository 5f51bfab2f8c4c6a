"""Pose solvers: VP2P's released matching + EPnP-RANSAC inference."""

from vp2p_ros.solvers.reference import (
    PnPResult,
    ReferenceConfig,
    select_and_match,
    solve_pnp_ransac,
)

__all__ = ["PnPResult", "ReferenceConfig", "select_and_match", "solve_pnp_ransac"]
