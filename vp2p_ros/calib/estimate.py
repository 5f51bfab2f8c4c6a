"""What every estimator returns, and the quality gate that decides whether it may be published.

Estimators implement ``estimate(frame, prior) -> Estimate``; the node and the CLIs only see this
interface, so they do not know which estimator runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import numpy as np

from vp2p_ros.data import Frame

__all__ = [
    "DIRECTIONS",
    "Estimate",
    "Estimator",
    "QualityGate",
    "estimate_window",
    "published_pose",
]


@dataclasses.dataclass
class Estimate:
    """One extrinsic estimate.

    Attributes:
        status: "ok" or the reason the estimator produced no pose.
        T_cam_lidar: (4, 4) maps LiDAR points into the camera frame (None unless ok).
        covariance: (6, 6) ROS order (x, y, z, rot-x, rot-y, rot-z), camera frame.
        num_matches, num_inliers: correspondence statistics.
        estimator: name of what produced it.
        latency_s: wall time of the estimate.
        message: human-readable detail.
    """

    status: str
    T_cam_lidar: np.ndarray | None = None
    covariance: np.ndarray | None = None
    num_matches: int = 0
    num_inliers: int = 0
    estimator: str = ""
    latency_s: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.T_cam_lidar is not None


class Estimator(Protocol):
    name: str

    def estimate(self, frame: Frame, prior: np.ndarray) -> Estimate: ...


def estimate_window(estimator) -> int:
    """Frames each of ``estimator``'s estimates is computed from, consecutive estimates sharing
    all but one: its ``window`` attribute (an estimator over a sliding window of frames says so
    with one), else 1."""
    return max(int(getattr(estimator, "window", 1)), 1)


@dataclasses.dataclass(frozen=True)
class QualityGate:
    """Thresholds an estimate must pass before it is broadcast."""

    min_inliers: int = 30  # RANSAC / LM inliers; 0 disables
    max_rotation_std_deg: float = 2.0  # largest 1-sigma rotation (degrees); inf disables
    max_translation_std_m: float = 0.2  # largest 1-sigma translation (metres); inf disables

    def check(self, est: Estimate) -> tuple[bool, str]:
        """(passed, reason); the reason names the first failed threshold."""
        if not est.ok:
            return False, f"estimator status {est.status!r}"
        if est.num_inliers < self.min_inliers:
            return False, f"{est.num_inliers} inliers < {self.min_inliers}"
        cov = est.covariance
        if cov is None or cov.shape != (6, 6) or not np.all(np.isfinite(cov)):
            return False, "no finite 6x6 covariance"
        t_std = math.sqrt(max(float(np.linalg.eigvalsh(cov[:3, :3]).max()), 0.0))
        r_std = math.degrees(math.sqrt(max(float(np.linalg.eigvalsh(cov[3:, 3:]).max()), 0.0)))
        if r_std > self.max_rotation_std_deg:
            return False, f"rotation std {r_std:.3f} deg > {self.max_rotation_std_deg}"
        if t_std > self.max_translation_std_m:
            return False, f"translation std {t_std:.3f} m > {self.max_translation_std_m}"
        return True, "passed"


DIRECTIONS = ("cam_lidar", "lidar_cam")


def published_pose(T_cam_lidar: np.ndarray, covariance: np.ndarray, direction: str):
    """The transform and covariance to publish for a direction parameter.

    Args:
        T_cam_lidar: (4, 4) estimate.
        covariance: (6, 6) ROS order in the camera frame.
        direction: "cam_lidar" publishes ``T_cam_lidar`` (parent = camera); "lidar_cam" publishes
            ``T_lidar_cam`` (parent = LiDAR) with the covariance moved to the LiDAR frame.

    Returns:
        (T_parent_child (4, 4), covariance (6, 6) in the parent frame).
    """
    from vp2p_ros.geometry import covariance_of_inverse, inverse_transform

    if direction == "cam_lidar":
        return np.asarray(T_cam_lidar, float), np.asarray(covariance, float)
    if direction == "lidar_cam":
        return inverse_transform(T_cam_lidar), covariance_of_inverse(T_cam_lidar, covariance)
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
