"""Per-camera calibration decisions, ROS-free: estimate, gate, state, diagnostics values.

The node feeds frames in (from its worker thread) and publishes whatever :meth:`process` decides;
it makes no decisions of its own.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from vp2p_ros.calib.estimate import Estimate, Estimator, QualityGate
from vp2p_ros.data import Frame

__all__ = ["CameraCalibrator", "Outcome", "STATES"]

STATES = {
    "initializing": 0,
    "converged": 1,
    "drift_suspected": 2,
    "drift_confirmed": 3,
    "failed": 4,
}
OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


@dataclasses.dataclass
class Outcome:
    """What to publish for one frame: ``accepted`` estimates go to TF, all to ~/estimate."""

    estimate: Estimate
    accepted: bool
    reason: str
    state: int


class CameraCalibrator:
    """Runs an estimator around the current extrinsic and keeps the published one.

    Args:
        estimator: any ``estimate(frame, prior) -> Estimate``; None reports "no estimator".
        prior: (4, 4) initial ``T_cam_lidar``.
        gate: publication thresholds.
    """

    def __init__(self, estimator: Estimator | None, prior: np.ndarray, gate: QualityGate):
        self.estimator, self.gate = estimator, gate
        self.prior = np.asarray(prior, float)
        self.current: Estimate | None = None  # last accepted
        self.lock = threading.Lock()
        self.frames = self.accepted = self.rejected = self.errors = 0
        self.last_reason = "waiting for synchronised data"
        self.last_error = ""
        self.last_latency_s = float("nan")
        self.last_estimate: Estimate | None = None

    def process(self, frame: Frame) -> Outcome:
        """Estimate on one frame and decide whether it is published."""
        with self.lock:
            self.frames += 1
            prior = self.prior if self.current is None else self.current.T_cam_lidar
        if self.estimator is None:
            est = Estimate("no_estimator", message="no checkpoint configured")
        else:
            t0 = time.perf_counter()
            est = self.estimator.estimate(frame, prior)
            est.latency_s = est.latency_s or time.perf_counter() - t0
        passed, reason = self.gate.check(est)
        with self.lock:
            self.last_estimate, self.last_reason = est, reason
            self.last_latency_s = est.latency_s
            if passed:
                self.accepted += 1
                self.current = est
            else:
                self.rejected += 1
            converged = self.current is not None
        state = STATES["converged"] if converged else STATES["initializing"]
        return Outcome(est, passed, reason, state)

    def record_error(self, text: str) -> None:
        """A frame could not be converted or the estimator raised."""
        with self.lock:
            self.errors += 1
            self.last_error = text

    def diagnostics(self) -> tuple[int, str, dict]:
        """(level, message, key values) for /diagnostics."""
        with self.lock:
            values = {
                "frames": str(self.frames),
                "accepted": str(self.accepted),
                "rejected": str(self.rejected),
                "errors": str(self.errors),
                "last_reason": self.last_reason,
                "last_error": self.last_error,
                "inference_latency_s": f"{self.last_latency_s:.3f}",
            }
            if self.last_estimate is not None:
                values["matches"] = str(self.last_estimate.num_matches)
                values["inliers"] = str(self.last_estimate.num_inliers)
            if self.current is not None:
                return OK, "converged: publishing the accepted extrinsic", values
            if self.errors and not self.frames:
                return ERROR, f"no usable data: {self.last_error}", values
            return WARN, f"no accepted estimate yet: {self.last_reason}", values
