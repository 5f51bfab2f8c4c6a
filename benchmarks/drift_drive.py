"""Drift detection on drives through new scenes, with the mount shift rendered.

``benchmarks.refine``'s drift replay (``benchmarks.drift_replay``) loops KITTI raw 70-74: the
scatter the detector learns in its first 30 estimates comes from the very frames it is then tested
on, and the step is injected by moving the recorded points (which also moves the origin of their
range image). Here the rig drives along synthetic streets (exact ground truth,
``vp2p_ros.data.synthetic``) at 8 m/s, 10 Hz, so every frame shows new structure, and from the step
on the frames are rendered with the drifted mount (``SyntheticRig.extrinsic_step``). The node's
pipeline (``benchmarks.drift_replay.node_pipeline``: refinement on a window of 3, gate, fusion,
drift against the first converged fusion) and the ladder of steps are those of
``benchmarks.refine``. The baseline in the same run is the drive without a step: alarms there are
false alarms.

Run (this 2-core CPU: about 12 minutes per street)::

    python -m benchmarks.drift_drive
    python -m benchmarks.drift_drive --streets 4 5 --steps 5   # also 0.2 deg and 5 cm
    python -m benchmarks.drift_drive --beam-width 0.2   # beams as wide as their spacing
    python -m benchmarks.drift_drive --beam-width 0.2 --cull-margin 14   # the earlier cull
    python -m benchmarks.drift_drive --beam-width 0.2 --orientation-leak 0   # the pure split
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from tqdm import tqdm

from benchmarks.common import add_beam_width_flag, add_cost_flags, add_cull_flag, pipeline_options
from benchmarks.drift_replay import DRIFT_LADDER, drift
from vp2p_ros.data.synthetic import SyntheticRig, synthetic_sequence
from vp2p_ros.refine import RefineConfig


def drive(street: int, n: int, at: int, after: int, rig: SyntheticRig = SyntheticRig()):
    """``step ->`` the frames of ``street``: without a step all ``n``, else the first ``at`` and
    ``after`` more rendered with the LiDAR frame moved by ``step`` (the frames before the step
    are rendered once)."""
    base = synthetic_sequence(street, max(n, at), rig=rig)

    def frames_for(step):
        if not step.any():
            return base[:n]
        drifted = dataclasses.replace(rig, extrinsic_step=tuple(float(x) for x in step))
        return base[:at] + synthetic_sequence(street, at + after, rig=drifted, start=at)

    return frames_for, rig.T_cam_lidar


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streets", type=int, nargs="+", default=[1, 2, 3], help="street seeds")
    ap.add_argument("--frames", type=int, default=100, help="frames of the drive without a step")
    ap.add_argument("--step-at", type=int, default=40, help="frame the step takes effect at")
    ap.add_argument("--after", type=int, default=20, help="frames driven after the step")
    ap.add_argument(
        "--steps",
        type=int,
        default=3,
        help=f"the ladder's first N of {len(DRIFT_LADDER)} (none, 0.5 deg, 10 cm, 0.2 deg, 5 cm, "
        "0.1 deg, 2 cm)",
    )
    ap.add_argument(
        "--thin-beam-edges",
        action="store_true",
        help="place LiDAR range edges half-way along rings too (boundary_shift (0.5, 0.5), what "
        "the synthetic LiDAR's ideal thin beams call for) instead of the default tuned on KITTI",
    )
    add_beam_width_flag(ap)
    add_cull_flag(ap)
    add_cost_flags(ap, RefineConfig().mi_weight)
    ap.add_argument("--out", type=Path, default=Path("out/bench_drift_drive"))
    return ap.parse_args(argv)


def estimator_options(args: argparse.Namespace) -> dict:
    """The :class:`RefineEstimator` settings the flags ask for (``node_pipeline``'s options)."""
    options = pipeline_options(args)
    if args.thin_beam_edges:
        options["edge_options"]["boundary_shift"] = (0.5, 0.5)
    return options


def main(argv=None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    at, summary, options = args.step_at, {}, estimator_options(args)
    rig = SyntheticRig(beam_width_deg=args.beam_width)
    for s in tqdm(args.streets, desc="streets", unit="street"):
        frames_for, T_gt = drive(s, args.frames, at, args.after, rig)
        what = f"synthetic street {s} driven at 8 m/s: {args.frames} frames, with a step {at} + "
        what += f"{args.after}; beam width {args.beam_width} deg"
        rows = drift(frames_for, T_gt, at, args.out, args.steps, what, f"cusum_{s}.png", options)
        for row in rows:
            summary.setdefault(row[0], []).append(row[1:])
    print(
        f"\nover {len(args.streets)} streets: {args.frames} frames without a step, "
        f"{at} + {args.after} with one"
    )
    print(
        f"{'step':16s} {'drives alarmed before the step':>31s} {'alarm frames':>13s} "
        f"{'confirmed (drives)':>19s} {'frames to confirm':>18s}"
    )
    for name, rows in summary.items():
        alarmed = sum(1 for suspected, early, *_ in rows if suspected or early)
        frames_alarmed = f"{sum(r[0] for r in rows)} / {sum(r[1] for r in rows)}"
        late = [r[2] for r in rows if r[2] is not None]
        frames = ", ".join(str(k) for k in late) or ("never" if name != "none" else "-")
        print(f"{name:16s} {alarmed:31d} {frames_alarmed:>13s} {len(late):19d} {frames:>18s}")
    print(
        "alarm: a frame in DRIFT_SUSPECTED or DRIFT_CONFIRMED (frames: suspected / confirmed); "
        "without a step, the whole drive is before it"
    )
    print(f"pictures: {args.out}/cusum_<street>.png")


if __name__ == "__main__":
    main()
