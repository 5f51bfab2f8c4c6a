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
from vp2p_ros.calib.fusion import DriftDetector, PoseFusion
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
    """What to publish for one frame: ``accepted`` estimates go to TF, all to ~/estimate.

    With fusion, ``estimate`` carries the fused pose and covariance (what is published) and
    ``frame_estimate`` the single-frame one; ``drift_delta`` is the estimated change from the
    nominal extrinsic (ROS order) while drift is suspected or confirmed.
    """

    estimate: Estimate
    accepted: bool
    reason: str
    state: int
    frame_estimate: Estimate | None = None
    drift_delta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(6))


class CameraCalibrator:
    """Runs an estimator around the current extrinsic and keeps the published one.

    Args:
        estimator: any ``estimate(frame, prior) -> Estimate``; None reports "no estimator".
        prior: (4, 4) initial ``T_cam_lidar``.
        gate: publication thresholds (applied to each single-frame estimate).
        fusion: fuse accepted estimates over time and publish the fused one; None publishes each
            accepted estimate as it is.
        drift: drift detector; its nominal is ``nominal`` or, if None, the first converged fusion.
    """

    def __init__(
        self,
        estimator: Estimator | None,
        prior: np.ndarray,
        gate: QualityGate,
        fusion: PoseFusion | None = None,
        drift: DriftDetector | None = None,
        nominal: np.ndarray | None = None,
    ):
        self.estimator, self.gate = estimator, gate
        self.fusion, self.drift = fusion, drift
        if drift is not None and nominal is not None:
            drift.set_nominal(nominal)
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
            prior = self.prior
            if self.current is not None:
                prior = self.current.T_cam_lidar
            elif self.fusion is not None and self.fusion.T is not None:
                prior = self.fusion.T
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
            if not passed:
                self.rejected += 1
                return Outcome(est, False, reason, self._state_without(est), est)
            self.accepted += 1
            if self.fusion is None:
                self.current = est
                return Outcome(est, True, reason, self._drift_state(est), est)
            return self._fuse(est)

    def _fuse(self, est: Estimate) -> Outcome:
        f = self.fusion
        f.update(est.T_cam_lidar, est.covariance)
        if not f.converged and self.current is None:
            out = dataclasses.replace(est, T_cam_lidar=f.T, covariance=f.covariance)
            return Outcome(out, False, "fusing: not converged yet", STATES["initializing"], est)
        fused = dataclasses.replace(
            est,
            T_cam_lidar=f.T.copy(),
            covariance=f.covariance,
            estimator=f"{est.estimator}+fusion",
        )
        if self.drift is not None and self.drift.T_nominal is None:
            # the first converged fusion is a provisional nominal, recentred after learning
            self.drift.set_nominal(f.T, f.covariance, recenter=True)
        self.current = fused
        return Outcome(fused, True, "passed", self._drift_state(est), est, self._drift_delta())

    def _state_without(self, est: Estimate) -> int:
        """The state after an estimate that is not used: unchanged (a drift alarm stays
        raised while estimates are refused)."""
        if self.current is None:
            return STATES["initializing"]
        if self.drift is None or self.drift.state == "nominal":
            return STATES["converged"]
        return STATES[self.drift.state]

    def _drift_state(self, est: Estimate) -> int:
        if self.drift is None:
            return STATES["converged"]
        state = self.drift.update(est.T_cam_lidar, est.covariance)
        return STATES["converged" if state == "nominal" else state]

    def _drift_delta(self) -> np.ndarray:
        return np.zeros(6) if self.drift is None else self.drift.delta

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
            if self.fusion is not None:
                values["fused_updates"] = str(self.fusion.updates)
                values["fusion_gated_out"] = str(self.fusion.rejected)
                values["fusion_restarts"] = str(self.fusion.restarts)
            if self.drift is not None and self.drift.T_nominal is not None:
                d = self.drift.delta
                values["drift_state"] = self.drift.state
                values["drift_cusum"] = f"{self.drift.g:.1f}"
                values["drift_scatter"] = self.drift.scatter_status
                values["drift_delta_rotation_deg"] = f"{np.degrees(np.linalg.norm(d[3:])):.3f}"
                values["drift_delta_translation_m"] = f"{np.linalg.norm(d[:3]):.4f}"
                if self.drift.state == "drift_confirmed":
                    return ERROR, "drift confirmed: the extrinsic changed from the nominal", values
                if self.drift.state == "drift_suspected":
                    return WARN, "drift suspected: estimates move away from the nominal", values
            if self.current is not None:
                return OK, "converged: publishing the accepted extrinsic", values
            if self.errors and not self.frames:
                return ERROR, f"no usable data: {self.last_error}", values
            return WARN, f"no accepted estimate yet: {self.last_reason}", values
