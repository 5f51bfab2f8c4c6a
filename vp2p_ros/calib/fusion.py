"""Temporal fusion of per-frame extrinsic estimates on SE(3), and drift detection.

Fusion is an information filter on the ROS-order chart (``retract_pose``): each accepted estimate
``(T_i, C_i)`` updates the fused ``(T, P)`` with a Kalman gain, after a Mahalanobis gate that
rejects outliers. A small random-walk process noise per update keeps the filter able to follow a
slow change, and a floor keeps ``P`` from shrinking below what correlated per-frame errors allow.

Drift detection compares each estimate with a *nominal* extrinsic (the configured one or the first
converged one). It first learns how much per-frame estimates scatter around it (``learn_frames``
estimates, a shrunk sample covariance ``S``; without learning, each estimate's own covariance;
if the rig moved while learning, the residuals about the means before and after that shift, and
the estimates after it are tested at once), then the normalised innovation squared
``NIS = e^T (S + P_nom)^-1 e`` is about χ²(6) when nothing moved; a one-sided CUSUM
``g = max(0, g + NIS - k)`` raises ``drift_suspected`` at ``h/3`` and ``drift_confirmed`` at
``h``, with the delta estimated as the information-weighted mean of the
innovations since the CUSUM last left zero. It recovers (``g`` decays to 0) when the rig returns.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vp2p_ros.geometry import pose_difference, retract_pose

__all__ = ["DriftConfig", "DriftDetector", "FusionConfig", "PoseFusion", "level_shift"]

CHI2_6_999 = 22.458  # 99.9 % quantile of chi-square with 6 degrees of freedom


@dataclasses.dataclass(frozen=True)
class FusionConfig:
    """Attributes:
    gate_chi2: Mahalanobis gate on the innovation (chi-square, 6 dof).
    process_std: random walk per update (m, m, m, rad, rad, rad).
    floor_std: smallest published standard deviation per axis: per-frame errors of a weight-free
        aligner are correlated (same scene structure, same biases), so averaging frames stops
        helping at about the batch-to-batch repeatability (0.2 deg / 2.5 cm for 10-frame batches
        in ``../shared/reference/refinement_notes.md``; 0.15 deg / 1.5 cm here).
    converged_rotation_std_deg / converged_translation_std_m / min_updates: convergence.
    restart_after_rejections: this many gated-out estimates in a row restart the fusion from
        the newest (the rig moved: drift detection reports it, the estimate follows).
    """

    gate_chi2: float = CHI2_6_999
    process_std: tuple = (0.001, 0.001, 0.001, 2e-4, 2e-4, 2e-4)
    floor_std: tuple = (0.015, 0.015, 0.015, 0.0026, 0.0026, 0.0026)  # 1.5 cm, 0.15 deg
    converged_rotation_std_deg: float = 0.2
    converged_translation_std_m: float = 0.02
    min_updates: int = 3
    restart_after_rejections: int = 5


class PoseFusion:
    """Information-weighted fusion of ``T_cam_lidar`` estimates with their covariances."""

    def __init__(self, config: FusionConfig = FusionConfig()):
        self.config = config
        self.T: np.ndarray | None = None
        self.P: np.ndarray | None = None
        self.updates = self.rejected = self.restarts = 0
        self._in_a_row = 0
        self.last_nis = float("nan")

    def update(self, T_i: np.ndarray, C_i: np.ndarray) -> bool:
        """Fuse one estimate; False (and counted) when the gate rejects it as an outlier."""
        C_i = np.asarray(C_i, float)
        if self.T is None or self._in_a_row >= self.config.restart_after_rejections:
            self.restarts += self.T is not None
            self.T, self.P, self.updates = np.asarray(T_i, float).copy(), C_i.copy(), 1
            self._in_a_row = 0
            return True
        P = self.P + np.diag(np.square(self.config.process_std))
        e = pose_difference(np.asarray(T_i, float), self.T)
        S = P + C_i
        self.last_nis = float(e @ np.linalg.solve(S, e))
        if self.last_nis > self.config.gate_chi2:
            self.rejected += 1
            self._in_a_row += 1
            return False
        self._in_a_row = 0
        K = P @ np.linalg.inv(S)
        self.T = retract_pose(self.T, K @ e)
        P = (np.eye(6) - K) @ P
        P = 0.5 * (P + P.T)
        self.P = P
        self.updates += 1
        return True

    @property
    def covariance(self) -> np.ndarray | None:
        """The covariance to publish: the filter's, never below ``floor_std`` in any direction
        (the filter itself keeps averaging; only what it claims is floored)."""
        if self.P is None:
            return None
        D = np.maximum(np.asarray(self.config.floor_std, float), 1e-12)
        w, V = np.linalg.eigh(self.P / np.outer(D, D))  # floor in whitened coordinates
        P = np.outer(D, D) * (
            (V * np.maximum(w, 1.0 if np.any(self.config.floor_std) else w)) @ V.T
        )
        return 0.5 * (P + P.T)

    @property
    def converged(self) -> bool:
        if self.P is None or self.updates < self.config.min_updates:
            return False
        P = self.covariance
        t_std = np.sqrt(np.linalg.eigvalsh(P[:3, :3]).max())
        r_std = np.degrees(np.sqrt(np.linalg.eigvalsh(P[3:, 3:]).max()))
        return (
            r_std <= self.config.converged_rotation_std_deg
            and t_std <= self.config.converged_translation_std_m
        )


@dataclasses.dataclass(frozen=True)
class DriftConfig:
    """CUSUM settings on the NIS against the nominal (chi-square 6: mean 6 when nothing moved).

    Attributes:
        allowance: ``k``, subtracted per frame (above the no-drift mean of 6).
        threshold: ``h``: confirmed at ``h``, suspected at ``h / 3``.
        learn_frames: estimates after the nominal is set from which the scatter of per-frame
            estimates is learned (0: trust each estimate's own covariance). The per-frame
            covariances of a weight-free aligner describe its noise, not its frame-to-frame
            repeatability, so the test is far sharper and still calibrated on learned scatter.
        shrinkage: weight of the diagonal in the learned covariance (few samples, 6 dims).
        floor_std: smallest per-axis std of the learned scatter (m, m, m, rad, rad, rad).
        max_increment: largest rise of the CUSUM from one estimate (inf: none), so that one
            wild estimate cannot confirm drift: confirmation then takes at least
            ``threshold / max_increment`` estimates.
        own_covariance_weight: the NIS is taken against the learned scatter plus this times the
            estimate's own covariance (0: the scatter alone), so an estimate that says it is
            uncertain along some direction weighs less there.
        shift_threshold: the learning estimates are checked for one level shift (the rig moved
            while the scatter was being learned): the largest two-sample Hotelling T^2 over the
            split points leaving ``shift_min_segment`` estimates on each side. Above this value
            the scatter comes from the residuals about each side's own mean, a provisional
            nominal is recentred on the estimates before the shift, and those after it go
            through the test at once. Without this, a step while learning widens the scatter
            until the step itself looks like noise and is never confirmed. Estimates from
            overlapping windows are correlated, which inflates T^2: 300 is about the 99.9 %
            quantile of the largest T^2 over 30 estimates of windows of 3 frames (the node's
            default; 59 for independent estimates; ``python -m benchmarks.drift_detector
            --shift-null``). inf: no check.
        estimate_window: frames each estimate is computed from, consecutive estimates sharing
            all but one (the node's refinement window). Such estimates are correlated, so the
            learned scatter rests on fewer independent samples than estimates; with w > 1 the
            scatter's small-sample widening uses the effective degrees of freedom of a sample
            covariance of that moving average, ``dof / (1 + 2 sum_k rho_k^2)`` with
            ``rho_k = (w - k) / w``. 1: independent estimates (the default, as before).
    """

    allowance: float = 9.0
    threshold: float = 40.0
    learn_frames: int = 30
    shrinkage: float = 0.5
    floor_std: tuple = (0.003, 0.003, 0.003, 3e-4, 3e-4, 3e-4)
    max_increment: float = float("inf")
    own_covariance_weight: float = 0.0
    shift_threshold: float = 300.0
    shift_min_segment: int = 4
    estimate_window: int = 1


def effective_dof(dof: int, window: int) -> float:
    """Degrees of freedom of a sample covariance over ``dof`` moving averages of ``window``
    consecutive independent errors (one new error per estimate): ``dof`` for ``window`` 1."""
    w = max(int(window), 1)
    return dof / (1.0 + 2.0 * sum(((w - k) / w) ** 2 for k in range(1, w)))


def about_side_means(e: np.ndarray, k: int) -> np.ndarray:
    """The rows of ``e`` minus the mean of their side of the split at ``k`` (``e[:k]``,
    ``e[k:]``; ``k == len(e)``: one side, the mean of all)."""
    return np.vstack([side - side.mean(0) for side in (e[:k], e[k:]) if len(side)])


def level_shift(e: np.ndarray, min_segment: int) -> tuple[int | None, float]:
    """The split of the (n, p) sequence ``e`` into ``e[:k]`` and ``e[k:]`` whose means differ the
    most, in the two-sample Hotelling T^2 on the pooled within-side covariance, with at least
    ``min_segment`` rows on each side -> (k, T^2); (None, 0.0) when no split is possible."""
    n, p = e.shape
    best_k, best = None, 0.0
    for k in range(max(min_segment, 1), n - max(min_segment, 1) + 1):
        r = about_side_means(e, k)
        W = r.T @ r / (n - 2) + 1e-12 * np.eye(p)
        d = e[:k].mean(0) - e[k:].mean(0)
        t2 = float(k * (n - k) / n * d @ np.linalg.solve(W, d))
        if t2 > best:
            best_k, best = k, t2
    return best_k, best


STATES = ("nominal", "drift_suspected", "drift_confirmed")


class DriftDetector:
    """Sequential test of per-frame estimates against a nominal ``T_cam_lidar``."""

    def __init__(self, config: DriftConfig = DriftConfig()):
        self.config = config
        self.T_nominal: np.ndarray | None = None
        self.P_nominal = np.zeros((6, 6))
        self.g = 0.0
        self.state = "nominal"
        self._info = np.zeros((6, 6))
        self._info_e = np.zeros(6)
        self.confirmations = 0
        self._learned: list[tuple] = []  # (T_i, C_i) while learning
        self.scatter: np.ndarray | None = None  # learned covariance of per-frame estimates
        self.learn_shift: int | None = None  # where the learning estimates shifted, if they did
        self.recenter = False

    def set_nominal(self, T: np.ndarray, P: np.ndarray | None = None, recenter=False) -> None:
        """Test against ``T`` (covariance ``P``; None: exact, e.g. a surveyed value).

        ``recenter``: ``T`` is a provisional estimate (the first converged fusion); after
        learning, the nominal becomes the mean of the learning estimates, with the covariance
        of that mean.
        """
        self.T_nominal = np.asarray(T, float).copy()
        self.P_nominal = np.zeros((6, 6)) if P is None else np.asarray(P, float).copy()
        self.recenter = recenter
        self.g, self.state = 0.0, "nominal"
        self._info, self._info_e = np.zeros((6, 6)), np.zeros(6)
        self._learned, self.scatter, self.learn_shift = [], None, None

    @property
    def learning(self) -> bool:
        return self.T_nominal is not None and len(self._learned) < self.config.learn_frames

    @property
    def scatter_status(self) -> str:
        """How far learning the scatter is: ``learning k/n``, ``learned`` or ``learned, shift
        after estimate k`` (the rig moved while learning; /diagnostics shows it)."""
        if self.scatter is None:
            return f"learning {len(self._learned)}/{self.config.learn_frames}"
        if self.learn_shift is None:
            return "learned"
        return f"learned, shift after estimate {self.learn_shift}"

    def _learn(self, T_i: np.ndarray, C_i: np.ndarray) -> None:
        self._learned.append((T_i, C_i))
        n, p = len(self._learned), 6
        if n < self.config.learn_frames:
            return
        E = np.array([pose_difference(T, self.T_nominal) for T, _ in self._learned])
        k, t2 = level_shift(E, self.config.shift_min_segment)
        if k is None or t2 <= self.config.shift_threshold:
            k = n
        self.learn_shift = None if k == n else k
        residuals = about_side_means(E, k)
        dof = max(n - (1 if k == n else 2), 1)
        S = residuals.T @ residuals / dof
        a = self.config.shrinkage
        S = (1 - a) * S + a * np.diag(np.diag(S))
        # a covariance estimated with dof degrees of freedom makes e^T S^-1 e larger than
        # chi2(6) on average by dof / (dof - p - 1) (Hotelling; dof: the effective ones of
        # correlated estimates); widen S by it so 6 stays the mean
        n_eff = effective_dof(dof, self.config.estimate_window)
        S = S * n_eff / max(n_eff - p - 1, 1.0)
        self.scatter = S + np.diag(np.square(self.config.floor_std))
        if self.recenter:
            self.T_nominal = retract_pose(self.T_nominal, E[:k].mean(axis=0))
            self.P_nominal = self.scatter / k
        for T, C in self._learned[k:]:  # after a shift: tested now, against the nominal
            self._test(T, C)

    def update(self, T_i: np.ndarray, C_i: np.ndarray) -> str:
        """Feed one estimate; returns the state after it."""
        if self.T_nominal is None:
            return self.state
        T_i, C_i = np.asarray(T_i, float), np.asarray(C_i, float)
        if self.learning:
            self._learn(T_i, C_i)
        else:
            self._test(T_i, C_i)
        return self.state

    def _test(self, T_i: np.ndarray, C_i: np.ndarray) -> None:
        """One CUSUM step on the NIS of ``T_i`` against the nominal."""
        e = pose_difference(T_i, self.T_nominal)
        if self.scatter is None:
            C = C_i
        else:
            C = self.scatter + self.config.own_covariance_weight * C_i
        info = np.linalg.inv(C + self.P_nominal)
        nis = float(e @ info @ e)
        if self.g == 0.0:  # a new excursion: the delta is estimated from here on
            self._info, self._info_e = np.zeros((6, 6)), np.zeros(6)
        rise = min(nis - self.config.allowance, self.config.max_increment)
        self.g = max(0.0, self.g + rise)
        if self.g > 0:
            self._info += info
            self._info_e += info @ e
        h = self.config.threshold
        before = self.state
        if self.g >= h:
            self.state = "drift_confirmed"
        elif self.g >= h / 3 and before != "drift_confirmed":
            self.state = "drift_suspected"
        elif self.g == 0.0:
            self.state = "nominal"
        if self.state == "drift_confirmed" and before != "drift_confirmed":
            self.confirmations += 1
        self.g = min(self.g, 1.5 * h)  # bounded: recovery takes a bounded number of frames

    @property
    def delta(self) -> np.ndarray:
        """Estimated change (ROS order, parent frame) from the nominal; zeros when nominal."""
        if self.state == "nominal" or not np.any(self._info):
            return np.zeros(6)
        return np.linalg.solve(self._info, self._info_e)
