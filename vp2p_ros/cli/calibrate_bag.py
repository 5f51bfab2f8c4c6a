"""Offline camera-LiDAR calibration of a rosbag2 (.mcap / .db3), no ROS needed.

    vp2p-calibrate-bag BAG --out DIR --initial-xyz X Y Z --initial-rpy R P Y
    vp2p-calibrate-bag BAG --out DIR --initial-yaml previous/calibration.yaml
    vp2p-calibrate-bag BAG --out DIR --camera /left --lidar /velodyne_points ...

The node's pipeline on every synchronised frame (weight-free edge refinement around the current
extrinsic, quality gate, SE(3) fusion, drift check), then one joint refinement over frames spread
through the bag, started at the fused estimate. Writes to DIR:

- ``calibration.yaml``: T_cam_lidar and T_lidar_cam with covariances;
- ``urdf_joint.xml``; ``calib.json`` (direct_visual_lidar_calibration layout);
- ``frames.csv`` (per-frame estimates), ``report.md``, ``overlay_before_after.png``,
  ``estimates.png``.

If the bag has ``/vp2p/ground_truth`` (``vp2p-make-bag`` writes it) the report gives the errors
against it. Exit code 0: calibrated (from the fused estimate, converged or not when the bag ended,
polished by the joint pass); 2: no frame gave an estimate that passed the quality gate.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vp2p_ros.calib import CameraCalibrator, QualityGate
from vp2p_ros.calib.estimate import Estimate, estimate_window
from vp2p_ros.calib.export import read_calibration_yaml
from vp2p_ros.calib.fusion import DriftConfig, DriftDetector, PoseFusion
from vp2p_ros.cli.calibration_report import write_outputs
from vp2p_ros.data.bag import topic_counts
from vp2p_ros.data.bag_frames import BagFrames, ground_truth
from vp2p_ros.geometry import make_transform, retract_pose, rpy_to_matrix
from vp2p_ros.refine import RefineConfig, RefineEstimator, prepare, refine
from vp2p_ros.refine.align import alignment_score
from vp2p_ros.refine.features import ORIENTATION_LEAK

LOG = logging.getLogger("vp2p.calibrate_bag")

__all__ = ["main"]


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vp2p-calibrate-bag", description=__doc__.split("\n")[0])
    p.add_argument("bag", type=Path, help="rosbag2 folder (.mcap or .db3 inside)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--camera", default="/camera", help="camera namespace: <c>/image, <c>/camera_info"
    )
    p.add_argument("--lidar", default="/points", help="PointCloud2 topic")
    g = p.add_argument_group("initial T_cam_lidar (one of)")
    g.add_argument("--initial-xyz", type=float, nargs=3, metavar=("X", "Y", "Z"))
    g.add_argument("--initial-rpy", type=float, nargs=3, metavar=("R", "P", "Y"), help="rad")
    g.add_argument("--initial-yaml", type=Path, help="a calibration.yaml of an earlier run")
    g.add_argument(
        "--initial-from-ground-truth",
        type=float,
        nargs=3,
        metavar=("DEG", "M", "SEED"),
        help="evaluation only: the bag's ground truth moved by DEG degrees and M metres in "
        "seeded random directions",
    )
    g = p.add_argument_group("search")
    g.add_argument("--window", type=int, default=3, help="frames refined jointly per estimate")
    g.add_argument("--rotation-std-deg", type=float, default=3.0)
    g.add_argument("--translation-std-m", type=float, default=0.15)
    g.add_argument(
        "--translation-starts",
        type=int,
        default=7,
        help="coarsest-stage searches per estimate from the prior and +-1 translation sigma per "
        "axis (up to 7; 1: one, about twice as fast, enough for a good initial extrinsic). One "
        "wrong first estimate from a poor initial extrinsic becomes the prior of the next ones",
    )
    g.add_argument(
        "--mi-weight",
        type=float,
        default=RefineConfig().mi_weight,
        help="weight of the LiDAR intensity / image brightness mutual information at the "
        "coarsest stage (0: edges only, for a LiDAR without useful intensity)",
    )
    g.add_argument(
        "--orientation-leak",
        type=float,
        default=ORIENTATION_LEAK,
        help="share of each image edge's strength that attracts LiDAR edges of the other "
        "orientation too (0: vertical and horizontal edges matched apart; 1: any orientation)",
    )
    g.add_argument(
        "--min-contrast",
        type=float,
        default=RefineEstimator().min_contrast,
        help="quality floor of an estimate's alignment contrast (optimum vs poses 1 deg / 5 cm "
        "away, in cost standard deviations); estimates below it are not fused",
    )
    g.add_argument("--final-frames", type=int, default=10, help="frames of the final joint pass")
    g.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    args = p.parse_args(argv)
    if not 0.0 <= args.orientation_leak <= 1.0:
        p.error(f"--orientation-leak must lie in [0, 1], got {args.orientation_leak}")
    return args


def _initial(args, T_gt) -> np.ndarray:
    if args.initial_yaml is not None:
        return read_calibration_yaml(args.initial_yaml)[0]
    if args.initial_from_ground_truth is not None:
        if T_gt is None:
            raise SystemExit("--initial-from-ground-truth: the bag has no /vp2p/ground_truth")
        deg, m, seed = args.initial_from_ground_truth
        rng = np.random.default_rng(int(seed))
        axis, direction = rng.normal(size=3), rng.normal(size=3)
        delta = np.r_[
            m * direction / np.linalg.norm(direction),
            np.radians(deg) * axis / np.linalg.norm(axis),
        ]
        return retract_pose(T_gt, delta)
    if args.initial_xyz is None or args.initial_rpy is None:
        raise SystemExit(
            "give the initial extrinsic: --initial-xyz and --initial-rpy, or --initial-yaml"
        )
    return make_transform(rpy_to_matrix(np.asarray(args.initial_rpy, float)), args.initial_xyz)


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    T_gt = ground_truth(args.bag)
    T_init = _initial(args, T_gt)
    cfg = RefineConfig(
        rotation_std_deg=args.rotation_std_deg,
        translation_std_m=args.translation_std_m,
        translation_starts=args.translation_starts,
        mi_weight=args.mi_weight,
    )
    edge_options = {"orientation_leak": args.orientation_leak}  # per frame and in the joint pass
    estimator = RefineEstimator(
        cfg, window=args.window, min_contrast=args.min_contrast, edge_options=edge_options
    )
    drift = DriftDetector(DriftConfig(estimate_window=estimate_window(estimator)))
    calib = CameraCalibrator(estimator, T_init, QualityGate(), PoseFusion(), drift)
    frames = BagFrames(args.bag, f"{args.camera}/image", f"{args.camera}/camera_info", args.lidar)
    total = topic_counts(args.bag).get(f"{args.camera}/image", 0)
    if args.max_frames:
        total = min(total, args.max_frames)
    stride = max(1, total // max(args.final_frames, 1))
    kept, rows, t0 = [], [], time.perf_counter()
    for i, frame in enumerate(tqdm(frames, total=total, desc="calibrating", unit="frame")):
        if args.max_frames and i >= args.max_frames:
            break
        out = calib.process(frame)
        if i % stride == 0 and len(kept) < args.final_frames:
            kept.append(frame)
        est = out.frame_estimate or out.estimate
        rows.append(
            {
                "frame": i,
                "stamp_ns": frame.stamp_ns,
                "status": est.status,
                "accepted": out.accepted,
                "state": out.state,
                "message": est.message,
                "T_frame": est.T_cam_lidar,
                "T_fused": out.estimate.T_cam_lidar if out.accepted else None,
            }
        )
    for s in frames.skipped:
        LOG.warning("skipped %s", s)
    if not rows:
        LOG.error("no synchronised frames on %s/image + %s", args.camera, args.lidar)
        return 2
    fused, converged = calib.current, calib.current is not None
    if not converged and calib.fusion.T is not None:
        # the bag ended before the fusion converged: its mean still holds every estimate that
        # passed the gate, and is a better start for the joint pass than the initial guess
        fused = Estimate(
            "ok",
            calib.fusion.T.copy(),
            calib.fusion.covariance,
            estimator="refine+fusion",
        )
    start = fused.T_cam_lidar if fused is not None else T_init
    # the joint pass only polishes: fine scales, a narrow box, kept only if it aligns better
    final_cfg = RefineConfig(
        sigmas_px=(4.0, 2.0, 1.0), rotation_std_deg=1.0, translation_std_m=0.05, seed=1
    )
    data = prepare(kept, final_cfg.sigmas_px, **edge_options)
    joint = refine(data, start, final_cfg)
    final = (joint.T_cam_lidar, joint.covariance, "joint pass over the kept frames")
    if fused is not None and alignment_score(data, start) >= alignment_score(data, final[0]):
        final = (start, fused.covariance, "fused estimate (the joint pass did not improve it)")
    ok = fused is not None
    seconds = time.perf_counter() - t0
    write_outputs(
        args.out,
        args,
        frames.frame_ids,
        rows,
        kept,
        data,
        T_init,
        fused,
        final,
        T_gt,
        seconds,
        gate_passed=calib.accepted,
        fused_converged=converged,
    )
    if not ok:
        LOG.error("no estimate passed the quality gate: see %s", args.out / "report.md")
        return 2
    LOG.info("T_cam_lidar written to %s", args.out / "calibration.yaml")
    print(np.array2string(final[0], precision=5, suppress_small=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
