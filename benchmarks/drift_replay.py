"""Drift replays through the node's pipeline: a ladder of LiDAR-frame steps injected part-way,
the alarms they raise, a picture of the CUSUM and of the per-frame estimates.

Used by ``benchmarks.refine`` (KITTI raw 70-74 looped, :func:`looped_with_step`) and
``benchmarks.drift_drive`` (synthetic drives with the mount shift rendered).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import threading
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import CHI2_6_95, errors, rank_correlation
from vp2p_ros.calib import CameraCalibrator, QualityGate
from vp2p_ros.calib.estimate import estimate_window
from vp2p_ros.calib.fusion import DriftConfig, DriftDetector, PoseFusion
from vp2p_ros.calib.pipeline import STATES
from vp2p_ros.geometry import inverse_transform, retract_pose, se3_exp
from vp2p_ros.refine import RefineConfig, RefineEstimator

# steps of the LiDAR frame (ROS order), largest first
DRIFT_LADDER = (
    ("none", np.zeros(6)),
    ("0.5 deg (yaw)", np.r_[0, 0, 0, 0, 0, np.radians(0.5)]),
    ("10 cm (x)", np.r_[0.10, 0, 0, 0, 0, 0]),
    ("0.2 deg (yaw)", np.r_[0, 0, 0, 0, 0, np.radians(0.2)]),
    ("5 cm (x)", np.r_[0.05, 0, 0, 0, 0, 0]),
    ("0.1 deg (yaw)", np.r_[0, 0, 0, 0, 0, np.radians(0.1)]),
    ("2 cm (x)", np.r_[0.02, 0, 0, 0, 0, 0]),
)

# the replays' start: 0.8 deg / 8.7 cm off the extrinsic (ROS order)
START_OFFSET = np.r_[0.05, -0.05, 0.05, 0.01, -0.01, 0.01]


class RecordingDriftDetector(DriftDetector):
    """The node's detector, logging what it is fed (with the frame it came on), so that other
    detector settings can be replayed offline on the same estimates: the pipeline's estimates do
    not depend on its detector. :func:`replay` sets :attr:`frame`."""

    def __init__(self, config: DriftConfig = DriftConfig()):
        super().__init__(config)
        self.log: list = []
        self.frame = 0

    def set_nominal(self, T, P=None, recenter=False) -> None:
        super().set_nominal(T, P, recenter)
        P = np.zeros((6, 6)) if P is None else np.asarray(P, float)
        self.log.append(("nominal", self.frame, np.array(T, float), P.copy(), recenter))

    def update(self, T_i, C_i) -> str:
        self.log.append(("update", self.frame, np.array(T_i, float), np.array(C_i, float)))
        return super().update(T_i, C_i)


def node_pipeline(T_start: np.ndarray, estimator_options: dict | None = None) -> CameraCalibrator:
    """The node's per-camera pipeline with its default parameters: refinement on a window of 3
    frames (other :class:`RefineEstimator` settings from ``estimator_options``), quality gate,
    fusion, drift detection against the first converged fusion (told the estimates' window, as
    the node does)."""
    estimator = RefineEstimator(
        **{"config": RefineConfig(), "window": 3, **(estimator_options or {})}
    )
    drift = RecordingDriftDetector(DriftConfig(estimate_window=estimate_window(estimator)))
    return CameraCalibrator(estimator, T_start, QualityGate(), PoseFusion(), drift)


def looped_with_step(frames, n, at):
    """``step ->`` ``frames`` looped to ``n``, the LiDAR frame moved by ``step`` from frame
    ``at`` on (points p -> exp(step) p, so the true T_cam_lidar becomes T @ exp(step)^-1).
    Moving recorded points also moves the origin their range image is built around, which a
    real mount shift does not; ``benchmarks.drift_drive`` renders the shift."""

    def frames_for(step):
        moved = se3_exp(np.asarray(step, float))
        for k in range(n):
            f = frames[k % len(frames)]
            if k >= at:
                pts = f.points.astype(np.float64) @ moved[:3, :3].T + moved[:3, 3]
                f = dataclasses.replace(f, points=pts.astype(np.float32))
            yield f

    return frames_for


@dataclasses.dataclass
class Trace:
    """Per frame of a replay: pipeline state, drift CUSUM, the frame's (window's) estimate."""

    states: list = dataclasses.field(default_factory=list)
    cusum: list = dataclasses.field(default_factory=list)
    estimates: list = dataclasses.field(default_factory=list)  # T_cam_lidar or None
    covariances: list = dataclasses.field(default_factory=list)  # the estimates' (6, 6) or None


def replay(calib: CameraCalibrator, frames, trace: Trace, desc: str) -> None:
    """Feed ``frames`` through ``calib``, appending to ``trace``."""
    for f in tqdm(frames, desc=desc, unit="frame", leave=False):
        if isinstance(calib.drift, RecordingDriftDetector):
            calib.drift.frame = len(trace.states)
        out = calib.process(f)
        trace.states.append(out.state)
        trace.cusum.append(calib.drift.g)
        est = out.frame_estimate or out.estimate
        trace.estimates.append(None if est is None else est.T_cam_lidar)
        trace.covariances.append(None if est is None else est.covariance)


def branch(calib: CameraCalibrator, trace: Trace):
    """An independent copy of a replay part-way (the calibrator's lock is not copyable)."""
    lock, calib.lock = calib.lock, None
    try:
        twin = copy.deepcopy((calib, trace))
    finally:
        calib.lock = lock
    twin[0].lock = threading.Lock()
    return twin


def run_ladder(frames_for, T_gt, at, steps, estimator_options=None):
    """One replay per step of the ladder's first ``steps``: ``[(name, step, calibrator, trace)]``.
    The pipeline starts :data:`START_OFFSET` off ``T_gt``; the replays share their frames before
    the step (``frames_for(step)``'s first ``at``): those run once and the pipeline
    (deterministic) is branched there."""
    calib0 = node_pipeline(retract_pose(T_gt, START_OFFSET), estimator_options)
    trace0 = Trace()
    replay(calib0, itertools.islice(frames_for(np.zeros(6)), at), trace0, "before the step")
    out = []
    for name, step in tqdm(DRIFT_LADDER[:steps], desc="drift replays", unit="replay"):
        calib, trace = branch(calib0, trace0)
        replay(calib, itertools.islice(frames_for(step), at, None), trace, name)
        out.append((name, step, calib, trace))
    return out


def alarms(states, at, stepped: bool):
    """(frames before the step suspected, confirmed; frames from the step to the first
    confirmation or None; the frame first confirmed). Without a step every frame is before."""
    before = states[:at] if stepped else states
    suspected = sum(1 for s in before if s == STATES["drift_suspected"])
    early = sum(1 for s in before if s == STATES["drift_confirmed"])
    confirmed = [k for k, s in enumerate(states) if s == STATES["drift_confirmed"]]
    late = [k - at + 1 for k in confirmed if k >= at] if stepped else []
    return suspected, early, late[0] if late else None, confirmed[0] if confirmed else None


def optical_axis_errors(trace: Trace, T_gt, step, at):
    """``[(frame, cm)]``: each per-frame estimate's error along the optical axis (camera z:
    T_cam_lidar's translation is in the camera frame) against the extrinsic of its frame."""
    T_after = T_gt @ inverse_transform(se3_exp(step))
    return [
        (k, 100 * (T[2, 3] - (T_gt if k < at else T_after)[2, 3]))
        for k, T in enumerate(trace.estimates)
        if T is not None
    ]


def report_unperturbed(calib: CameraCalibrator, T_gt, axis, trace: Trace) -> None:
    """Where the replay without a step ended: is what the node publishes honest about its
    error, how far did the per-frame estimates stray along the optical axis, and did their own
    covariance say so."""
    frames = len(trace.states)
    rot, tr, d = errors(calib.fusion.T, T_gt)
    nees = d @ np.linalg.solve(calib.fusion.covariance, d)
    print(
        f"no step, fused after {frames} frames: {rot:.3f} deg / {100 * tr:.2f} cm from the "
        f"truth, NEES {nees:.1f} under the published covariance (95 %: {CHI2_6_95})"
    )
    e = np.abs([a for _, a in axis])
    print(
        f"no step, the {len(e)} per-frame (window) estimates along the optical axis: median "
        f"{np.median(e):.1f} cm, 95th percentile {np.percentile(e, 95):.1f} cm, worst "
        f"{e.max():.1f} cm from the truth"
    )
    sd = np.array([100 * np.sqrt(trace.covariances[k][2, 2]) for k, _ in axis])
    print(
        f"their own 1-sigma along the optical axis: median {np.median(sd):.1f} cm, "
        f"95th percentile {np.percentile(sd, 95):.1f} cm; the error within 2 sigma: "
        f"{100 * np.mean(e < 2 * sd):.0f} %, rank correlation of sigma with |error| "
        f"{rank_correlation(sd, e):+.2f}"
    )


def save_log(path: Path, name: str, step, at: int, calib: CameraCalibrator, trace: Trace):
    """What the replay fed its (recording) detector, for ``benchmarks.drift_detector``."""
    log = calib.drift.log
    nominal = [e for e in log if e[0] == "nominal"]
    updates = [e for e in log if e[0] == "update"]
    np.savez_compressed(
        path,
        name=name,
        step=np.asarray(step, float),
        at=at,
        frames=len(trace.states),
        states=np.asarray(trace.states),
        nominal_frame=np.array([e[1] for e in nominal], int),
        nominal_T=np.array([e[2] for e in nominal]).reshape(-1, 4, 4),
        nominal_P=np.array([e[3] for e in nominal]).reshape(-1, 6, 6),
        nominal_recenter=np.array([e[4] for e in nominal], bool),
        update_frame=np.array([e[1] for e in updates], int),
        update_T=np.array([e[2] for e in updates]).reshape(-1, 4, 4),
        update_C=np.array([e[3] for e in updates]).reshape(-1, 6, 6),
        drift_config=json.dumps(dataclasses.asdict(calib.drift.config)),
    )


def plot(traces: dict, at: int, path: Path) -> None:
    """CUSUM (top) and optical-axis error of the per-frame estimates (bottom) per replay."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for name, (c, axis) in traces.items():
        top.plot(c, label=name)
        bottom.plot(*zip(*axis), ".-", ms=3, lw=0.7, label=name)
    for ax in (top, bottom):
        ax.axvline(at, color="k", ls=":")
    top.axhline(DriftDetector().config.threshold, color="r", ls="--", label="confirm threshold")
    top.set_ylabel("CUSUM of NIS")
    top.legend()
    bottom.set_xlabel("frame")
    bottom.set_ylabel("window estimate - truth\nalong the optical axis (cm)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def drift(
    frames_for, T_gt, at, out, steps, what, picture="drift_cusum.png", estimator_options=None
):
    """:func:`run_ladder`, then the table of alarms and, without a step, where the fused and the
    per-frame (window) estimates ended; the picture goes to ``out / picture``. ``T_gt``: the
    extrinsic before the step, ``T_gt @ exp(step)^-1`` after. Returns per step (name, frames
    before the step suspected / confirmed, frames from the step to the first confirmation or
    None, the estimated delta in deg and m)."""
    print(f"\ndrift: 10 Hz ({what}), step at frame {at}")
    print(
        f"{'step':16s} {'alarms before step':>19s} {'confirmed after':>16s} {'est. delta':>22s}"
        "\n(alarms: frames suspected / confirmed; without a step over the whole replay, and the"
        " frame first confirmed in brackets)"
    )
    traces, results = {}, []
    for name, step, calib, trace in run_ladder(frames_for, T_gt, at, steps, estimator_options):
        stepped = bool(step.any())
        suspected, early, late, first = alarms(trace.states, at, stepped)
        if stepped:
            after = f"{late} frames" if late is not None else "not confirmed"
        else:  # a false alarm: when it first came
            after = f"(frame {first})" if first is not None else "-"
        d = calib.drift.delta
        rot, tr = np.degrees(np.linalg.norm(d[3:])), np.linalg.norm(d[:3])
        delta = f"{rot:.2f} deg {100 * tr:.1f} cm"
        print(f"{name:16s} {f'{suspected} / {early}':>19s} {after:>16s} {delta:>22s}")
        results.append((name, suspected, early, late, rot, tr))
        axis = optical_axis_errors(trace, T_gt, step, at)
        traces[name] = trace.cusum, axis
        save_log(
            out / f"{Path(picture).stem}_{len(results) - 1}.npz", name, step, at, calib, trace
        )
        if not stepped:
            report_unperturbed(calib, T_gt, axis, trace)
    plot(traces, at, out / picture)
    return results
