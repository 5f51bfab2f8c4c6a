"""Drift-detector settings replayed offline on the estimates of recorded drift replays.

The node's pipeline does not feed its drift state back into the estimates, so what a replay fed
its detector (``benchmarks.drift_replay`` saves it next to each picture: ``<picture>_<k>.npz``)
can be fed again to detectors with other settings, in seconds instead of a replay's minutes.
Each recording is first replayed with the detector settings it was recorded with (saved in the
npz), whose states must reproduce the recorded ones, which this script checks; the table's
baseline in the same run is the node's default (``DriftConfig`` told the refinement window).

Run (after ``python -m benchmarks.drift_drive`` or ``python -m benchmarks.refine``)::

    python -m benchmarks.drift_detector out/bench_drift_drive/*.npz
    python -m benchmarks.drift_detector out/bench_refine/drift_cusum_*.npz
    python -m benchmarks.drift_detector --shift-null   # where DriftConfig.shift_threshold is

``--shift-null`` simulates learning sequences without a shift (independent estimates, and means of
overlapping windows of 3 frames, as the node's refinement window makes them) and prints the
quantiles of the largest level-shift T^2 (``level_shift``) that the threshold is read from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from benchmarks.drift_replay import alarms
from vp2p_ros.calib import NodeConfig
from vp2p_ros.calib.fusion import DriftConfig, DriftDetector, level_shift
from vp2p_ros.calib.pipeline import STATES

# the node's detector with its default parameters (refinement window estimates)
NODE_DEFAULT = DriftConfig(
    threshold=NodeConfig().drift_threshold, estimate_window=NodeConfig().refine_window
)


def _with(**kw) -> DriftConfig:
    return dataclasses.replace(NODE_DEFAULT, **kw)


def recorded_config(log) -> DriftConfig:
    """The settings the replay's detector ran with (older recordings: ``DriftConfig()``)."""
    if "drift_config" not in log:
        return DriftConfig()
    fields = json.loads(str(log["drift_config"]))
    return DriftConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


VARIANTS = {
    "node default (baseline)": NODE_DEFAULT,
    "no level-shift check in learning": _with(shift_threshold=float("inf")),
    "level-shift threshold 60": _with(shift_threshold=60.0),
    "max_increment 20": _with(max_increment=20.0),
    "max_increment 10": _with(max_increment=10.0),
    "max_increment 6.7": _with(max_increment=40.0 / 6),
    "own_covariance_weight 1": _with(own_covariance_weight=1.0),
    "own_covariance_weight 3": _with(own_covariance_weight=3.0),
    "max_increment 10, own weight 1": _with(max_increment=10.0, own_covariance_weight=1.0),
    "learn_frames 50": _with(learn_frames=50),
    "threshold 80": _with(threshold=80.0),
    "threshold 30": _with(threshold=30.0),
    "estimate_window 1 (independent)": _with(estimate_window=1),
}


def _fed(log, config: DriftConfig):
    """``(frame, detector)`` after each frame of the recorded replay, a detector with ``config``
    fed what the recorded one was fed on it (nominals before updates, as the pipeline does)."""
    detector = DriftDetector(config)
    events = [(int(k), 0, i) for i, k in enumerate(log["nominal_frame"])]
    events += [(int(k), 1, i) for i, k in enumerate(log["update_frame"])]
    events.sort()
    e = 0
    for frame in range(int(log["frames"])):
        while e < len(events) and events[e][0] == frame:
            _, kind, i = events[e]
            if kind == 0:
                P = log["nominal_P"][i]
                detector.set_nominal(log["nominal_T"][i], P, bool(log["nominal_recenter"][i]))
            else:
                detector.update(log["update_T"][i], log["update_C"][i])
            e += 1
        yield frame, detector


def replay_detector(log, config: DriftConfig) -> list[int]:
    """Per frame of the recorded replay, the pipeline state (``STATES``) a detector with
    ``config`` reports, fed what the recorded one was fed; frames without drift information
    read as converged (the alarms are what is counted)."""
    return [STATES["converged" if d.state == "nominal" else d.state] for _, d in _fed(log, config)]


def alarm_frames(states) -> list:
    """``states`` with everything but drift_suspected / drift_confirmed as None."""
    drift = (STATES["drift_suspected"], STATES["drift_confirmed"])
    return [s if s in drift else None for s in states]


def learning(log) -> str:
    """When the recorded detector's nominal was set and its scatter learned, and the scatter's
    per-axis 1-sigma."""
    for frame, detector in _fed(log, recorded_config(log)):
        if detector.scatter is not None:
            sd = np.sqrt(np.diag(detector.scatter))
            return (
                f"nominal set at frame {int(log['nominal_frame'][0])}, scatter learned by frame "
                f"{frame} (1-sigma x y z {' '.join(f'{100 * v:.1f}' for v in sd[:3])} cm, "
                f"rotations {' '.join(f'{np.degrees(v):.2f}' for v in sd[3:])} deg), "
                + (
                    "no level shift"
                    if detector.learn_shift is None
                    else f"shifted after learning estimate {detector.learn_shift}"
                )
            )
    return "no scatter learned"


def outcome(log, states) -> tuple:
    """(frames suspected, confirmed before the step; frames to confirm after it or None; first
    confirmed frame or None)."""
    return alarms(states, int(log["at"]), bool(np.any(log["step"])))


def shift_null(runs: int = 10000, seed: int = 0, config: DriftConfig = DriftConfig()) -> dict:
    """Window length -> the 50 / 95 / 99 / 99.9 % quantiles of the largest level-shift T^2 over
    ``config.learn_frames`` estimates without a shift, each the mean of ``window`` consecutive
    frames' independent errors (window 1: independent estimates)."""
    rng = np.random.default_rng(seed)
    n, out = config.learn_frames, {}
    for window in (1, 3):
        t2 = []
        for _ in range(runs):
            x = rng.normal(size=(n + window - 1, 6))
            e = np.array([x[i : i + window].mean(0) for i in range(n)])
            t2.append(level_shift(e, config.shift_min_segment)[1])
        out[window] = np.percentile(t2, [50, 95, 99, 99.9])
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", type=Path, nargs="*", help="npz files written by the drift replays")
    ap.add_argument(
        "--shift-null", action="store_true", help="quantiles of the level-shift T^2, no shift"
    )
    args = ap.parse_args(argv)
    if args.shift_null:
        print(f"largest level-shift T^2 over {DriftConfig().learn_frames} estimates, no shift")
        print(f"{'estimates':28s} {'50 %':>7s} {'95 %':>7s} {'99 %':>7s} {'99.9 %':>7s}")
        for window, q in shift_null().items():
            label = "independent" if window == 1 else f"windows of {window} frames"
            print(f"{label:28s} " + " ".join(f"{v:7.1f}" for v in q))
        print(f"DriftConfig.shift_threshold: {DriftConfig().shift_threshold:g}")
        return
    if not args.logs:
        ap.error("give the npz logs, or --shift-null")
    logs = [(p, dict(np.load(p))) for p in sorted(args.logs)]
    for path, log in logs:  # the recorded settings reproduce what the replay recorded
        mine = replay_detector(log, recorded_config(log))
        if alarm_frames(mine) != alarm_frames(log["states"]):
            raise SystemExit(f"{path}: its recorded detector settings do not reproduce it")
    print(f"{len(logs)} recorded replays; each one's recorded detector settings reproduce it")
    for path, log in logs:
        print(f"  {path.name} ({log['name']}): {learning(log)}")
    steps = list(dict.fromkeys(str(log["name"]) for _, log in logs if np.any(log["step"])))
    nones = sum(1 for _, log in logs if not np.any(log["step"]))
    print(
        f"\n{'variant':32s} {f'no step ({nones}): alarmed, s / c':>30s}"
        + "".join(f"{s:>18s}" for s in steps)
    )
    for label, config in VARIANTS.items():
        alarmed = suspected = confirmed = 0
        delays = {name: [] for name in steps}
        for _, log in logs:
            sus, conf, late, _ = outcome(log, replay_detector(log, config))
            if np.any(log["step"]):
                delays[str(log["name"])].append("-" if late is None else str(late))
            else:
                alarmed += bool(sus or conf)
                suspected, confirmed = suspected + sus, confirmed + conf
        cells = "".join(f"{' '.join(delays[name]):>18s}" for name in steps)
        print(f"{label:32s} {f'{alarmed}, {suspected} / {confirmed}':>30s}{cells}")
    print(
        "no step: replays with any frame suspected or confirmed, and the frames suspected / "
        "confirmed over them; per step: frames from the step to the confirmation, per replay in "
        "file order (-: not within the replay)"
    )


if __name__ == "__main__":
    main()
