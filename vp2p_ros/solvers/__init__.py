"""Pose solvers: VP2P's released inference and the probabilistic PnP (LM + pose distribution)."""

from vp2p_ros.solvers.lm import LMConfig, LMResult, gauss_newton_terms, solve_lm
from vp2p_ros.solvers.pnp_cost import PnPProblem, huber, pnp_cost, reprojection_terms
from vp2p_ros.solvers.pose_dist import (
    AMISConfig,
    PoseSamples,
    laplace_covariance,
    monte_carlo_pose_loss,
    sample_pose_distribution,
)
from vp2p_ros.solvers.probabilistic import (
    PoseEstimate,
    ProbabilisticConfig,
    solve_pnp_probabilistic,
)
from vp2p_ros.solvers.reference import (
    PnPResult,
    ReferenceConfig,
    select_and_match,
    solve_pnp_ransac,
    spread_ok,
)

__all__ = [
    "AMISConfig",
    "LMConfig",
    "LMResult",
    "PnPProblem",
    "PnPResult",
    "PoseEstimate",
    "PoseSamples",
    "ProbabilisticConfig",
    "ReferenceConfig",
    "gauss_newton_terms",
    "huber",
    "laplace_covariance",
    "monte_carlo_pose_loss",
    "pnp_cost",
    "reprojection_terms",
    "sample_pose_distribution",
    "select_and_match",
    "solve_lm",
    "solve_pnp_probabilistic",
    "solve_pnp_ransac",
    "spread_ok",
]
