r"""Weight-free refinement on the shared real frames: accuracy, covariance coverage, drift, time.

Run (CPU: about 3 minutes without the drift replays, about 30 more with them)::

    python -m benchmarks.refine                     # everything, seeded
    python -m benchmarks.refine --single 45 --joint 20 --drift-frames 40
    python -m benchmarks.refine --skip-drift
    python -m benchmarks.refine --joint 0 --skip-drift --jackknife-strips 0   # sandwich only
    python -m benchmarks.refine --skip-drift --translation-starts 1   # one start in both regimes
    python -m benchmarks.refine --skip-drift --no-polish   # no second pass over the finer blurs
    python -m benchmarks.refine --skip-drift --plain-edges   # edges matched in any orientation
    python -m benchmarks.refine --skip-drift --mi-weight 0   # no reflectivity-brightness MI
    python -m benchmarks.refine --joint 0 --skip-drift --synthetic-streets 6 --single 36
    python -m benchmarks.refine --single 0 --joint 0 --drift-steps 3 --drift-frames 60 \
        --drift-step-at 15   # a step while the drift detector learns its scatter

Issue 7's targets, each printed next to its measured value:

* single frame, start uniformly up to 5 deg / 25 cm: >= 90 % within 2 deg and 5 cm
  (frames: KITTI raw 70-74, KITTI object 0-2, the distorted 1920x1200 pjlab rig);
* five frames jointly (KITTI raw 70-74, one rig), start up to 10 deg / 50 cm: median <= 0.3 deg
  and <= 3 cm (searched in a 5 deg / 25 cm box with seven translation starts);
* the 95 % covariance ellipsoid holds >= 80 % of the errors;
* drift: the five consecutive KITTI frames replayed in a loop at 10 Hz through the node's
  pipeline (refinement window 3 + fusion + CUSUM), a step injected into the LiDAR frame mid-way:
  frames until DRIFT_CONFIRMED, false alarms without a step, the smallest detected step;
* refinement time per frame on this CPU (<= 1 s).

The baseline in the same run is the start itself (the error of the initial extrinsic). Pictures
go to ``--out`` (error histograms, drift CUSUM traces).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import (
    CHI2_6_95,
    SHARED,
    add_cost_flags,
    add_cull_flag,
    edge_map_options,
    errors,
    pipeline_options,
    random_offset,
    rank_correlation,
)
from benchmarks.drift_replay import drift, looped_with_step
from vp2p_ros.calib import QualityGate
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.data.kitti import load_kitti_object
from vp2p_ros.data.pjlab import load_pjlab
from vp2p_ros.data.synthetic import synthetic_sequence
from vp2p_ros.geometry import retract_pose
from vp2p_ros.refine import JackknifeConfig, RefineConfig, RefineEstimator, prepare, refine
from vp2p_ros.refine.align import alignment_score, cull


def trial_table(name, rows, rot_ok, tr_ok):
    a = np.array([(r["rot"], r["tr"], r["rot0"], r["tr0"], r["nees"], r["s"]) for r in rows])
    ok = (a[:, 0] < rot_ok) & (a[:, 1] < tr_ok)
    print(f"\n{name}: {len(rows)} trials")
    print(f"{'':26s} {'start (baseline)':>18s} {'refined':>18s}")
    print(f"{'median rotation (deg)':26s} {np.median(a[:, 2]):18.3f} {np.median(a[:, 0]):18.3f}")
    print(
        f"{'median translation (cm)':26s} {100 * np.median(a[:, 3]):18.2f} "
        f"{100 * np.median(a[:, 1]):18.2f}"
    )
    start_ok = np.mean((a[:, 2] < rot_ok) & (a[:, 3] < tr_ok))
    print(
        f"{f'within {rot_ok} deg / {100 * tr_ok:.0f} cm':26s} {100 * start_ok:17.0f}% "
        f"{100 * ok.mean():17.0f}%"
    )
    print(f"{'inside 95 % ellipsoid':26s} {'':>18s} {100 * np.mean(a[:, 4] < CHI2_6_95):17.0f}%")
    print(f"{'time per call (s), median':26s} {'':>18s} {np.median(a[:, 5]):18.2f}")
    return a, ok


def single_frame(frames, n, rng, options, maps):
    """Seeded trials, and per frame where the search settles when started at the truth: the
    cost's own optimum, which no search from elsewhere can beat (frame name -> (deg, m, the
    ROS-order difference from the truth, the finest-blur cost at the truth and where it
    settled, on the points the search scores))."""
    cfg = RefineConfig(**options)
    data, prep_s = [], []
    for f in frames:  # edges and maps: once per frame, outside the per-call time
        t = time.perf_counter()
        data.append(prepare([f], cfg.sigmas_px, **maps))
        prep_s.append(time.perf_counter() - t)
    print(f"prepare (edges + attraction maps) per frame: median {np.median(prep_s):.2f} s")
    from_truth = {}
    for f, d in zip(frames, data):
        r = refine(d, f.T_cam_lidar, cfg)  # r.score: the finest-blur cost where it settled
        scored = cull(d, f.T_cam_lidar, np.radians(cfg.cull_margin_deg))  # what refine scores
        truth_cost = alignment_score(scored, f.T_cam_lidar)
        from_truth[f.name] = (*errors(r.T_cam_lidar, f.T_cam_lidar), truth_cost, r.score)
    rows = []
    for k in tqdm(range(n), desc="single frame", unit="trial"):
        i = k % len(frames)
        T_gt = frames[i].T_cam_lidar
        T0 = retract_pose(T_gt, random_offset(rng, 5, 0.25))
        t = time.perf_counter()
        r = refine(data[i], T0, cfg)
        s = time.perf_counter() - t
        rot, tr, d = errors(r.T_cam_lidar, T_gt)
        rot0, tr0, _ = errors(T0, T_gt)
        nees = d @ np.linalg.solve(r.covariance, d)
        rows.append(
            dict(
                frame=frames[i].name,
                rot=rot,
                tr=tr,
                rot0=rot0,
                tr0=tr0,
                nees=nees,
                s=s,
                contrast=r.contrast,
                sd_t=np.sqrt(np.linalg.eigvalsh(r.covariance[:3, :3]).max()),
            )
        )
    return rows, from_truth


def joint(frames, n, rng, options, maps):
    """The wide-prior regime: a 5 deg / 25 cm search box and, unless ``options`` say otherwise,
    seven coarsest-stage starts (what ``vp2p-calibrate-bag`` is given for such a prior)."""
    options = {"translation_starts": 7, **options}
    cfg = RefineConfig(rotation_std_deg=5.0, translation_std_m=0.25, **options)
    data = prepare(frames, cfg.sigmas_px, **maps)
    T_gt = frames[0].T_cam_lidar
    rows = []
    for _ in tqdm(range(n), desc="five frames", unit="trial"):
        T0 = retract_pose(T_gt, random_offset(rng, 10, 0.5))
        t = time.perf_counter()
        r = refine(data, T0, cfg)
        s = time.perf_counter() - t
        rot, tr, d = errors(r.T_cam_lidar, T_gt)
        rot0, tr0, _ = errors(T0, T_gt)
        rows.append(
            dict(
                rot=rot,
                tr=tr,
                rot0=rot0,
                tr0=tr0,
                nees=d @ np.linalg.solve(r.covariance, d),
                s=s,
                contrast=r.contrast,
            )
        )
    return rows


def gate_curve(sd_t, accepted, ok, gates_m):
    """Per translation 1-sigma gate (m): how many estimates the gate (on top of ``accepted``,
    the contrast gate) lets through, the share of them within the target, and how many
    estimates within the target it refuses -> [(gate, passed, share within, good refused)]."""
    out = []
    for g in gates_m:
        passed = accepted & (sd_t <= g)
        share = float(ok[passed].mean()) if passed.any() else float("nan")
        out.append((g, int(passed.sum()), share, int((ok & ~passed).sum())))
    return out


def quality(rows, ok, nees):
    """How the quality numbers track the error: the contrast (higher is better) and the
    covariance's largest translation 1-sigma, each ranked against the translation error, what
    the node's contrast gate lets through, and what a translation 1-sigma gate on top of it
    lets through (:func:`gate_curve`: choosing ``max_translation_std_m``)."""
    c = np.array([r["contrast"] for r in rows])
    sd, tr = np.array([r["sd_t"] for r in rows]), np.array([r["tr"] for r in rows])
    print(
        f"contrast (quality score): median {np.median(c[ok]):.2f} on successes, "
        f"{np.median(c[~ok]) if (~ok).any() else float('nan'):.2f} on failures; "
        f"rank correlation with the translation error {rank_correlation(c, tr):+.2f} "
        f"(the covariance's largest translation 1-sigma: {rank_correlation(sd, tr):+.2f})"
    )
    gate = RefineEstimator().min_contrast
    acc = c >= gate
    print(
        f"accepted by the node's contrast gate (>= {gate}): {acc.sum()} of {len(c)}; "
        f"among them {100 * ok[acc].mean() if acc.any() else 0:.0f} % within 2 deg / 5 cm, "
        f"{100 * np.mean(nees[acc] < CHI2_6_95) if acc.any() else 0:.0f} % inside the "
        "95 % ellipsoid"
    )
    default_gate = QualityGate().max_translation_std_m
    print(
        "the covariance gate on top (largest translation 1-sigma, max_translation_std_m; the "
        f"node's default {100 * default_gate:g} cm):"
    )
    for g, n, share, refused in gate_curve(sd, acc, ok, (0.04, 0.05, 0.06, 0.08, default_gate)):
        print(
            f"  1-sigma <= {100 * g:4.1f} cm: {n:2d} of {len(c)} pass, {100 * share:3.0f} % of "
            f"them within 2 deg / 5 cm; {refused} within refused"
        )


def histograms(single, five, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for a, name in ((single, "single frame"), (five, "five frames")):
        if a is None:
            continue
        axes[0].hist(a[:, 0], bins=30, range=(0, 2), alpha=0.6, label=name)
        axes[1].hist(100 * a[:, 1], bins=30, range=(0, 10), alpha=0.6, label=name)
    axes[0].set_xlabel("rotation error (deg)")
    axes[1].set_xlabel("translation error (cm)")
    for ax in axes:
        if ax.patches:
            ax.legend()
    fig.tight_layout()
    fig.savefig(out / "refine_errors.png", dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", type=int, default=45, help="single-frame trials")
    ap.add_argument("--joint", type=int, default=20, help="five-frame trials")
    ap.add_argument("--drift-frames", type=int, default=80, help="step at half of them")
    ap.add_argument(
        "--drift-step-at",
        type=int,
        default=None,
        help="frame the step takes effect at instead (e.g. 15: while the detector learns)",
    )
    ap.add_argument(
        "--drift-steps",
        type=int,
        default=5,
        help="replays: none, 0.5 deg, 10 cm, 0.2 deg, 5 cm, 0.1 deg, 2 cm (the first N; each "
        "about 5 minutes)",
    )
    ap.add_argument("--skip-drift", action="store_true")
    ap.add_argument(
        "--jackknife-strips",
        type=int,
        default=JackknifeConfig().strips,
        help="strips of the covariance's spatial jackknife (0: sandwich + floor only)",
    )
    default = RefineConfig()
    ap.add_argument(
        "--translation-starts",
        type=int,
        default=None,
        help="coarsest-stage searches from the prior and +-1 translation sigma per axis "
        "(RefineConfig.translation_starts, up to 7; default 1 single frame, 7 five frames)",
    )
    ap.add_argument(
        "--coarse-points",
        type=int,
        default=default.coarse_points,
        help="edge points the coarsest stage scores (RefineConfig.coarse_points; 0: all)",
    )
    ap.add_argument(
        "--no-polish",
        action="store_true",
        help="no second pass over the finer stages (RefineConfig.polish_spread = 0)",
    )
    add_cost_flags(ap, mi_weight=default.mi_weight)
    add_cull_flag(ap)
    ap.add_argument(
        "--mi-points",
        type=int,
        default=default.mi_points,
        help="points the mutual information is computed on (RefineConfig.mi_points)",
    )
    ap.add_argument(
        "--synthetic-streets",
        type=int,
        default=0,
        help="single-frame trials on frames 0, 2, 4 of this many synthetic streets (exact ground "
        "truth, ideal thin beams) instead of the real frames",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("out/bench_refine"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    options = dict(  # RefineConfig fields the flags set, for both regimes
        jackknife=JackknifeConfig(strips=args.jackknife_strips),
        coarse_points=args.coarse_points,
        mi_weight=args.mi_weight,
        cull_margin_deg=args.cull_margin,
        mi_points=args.mi_points,
    )
    if args.translation_starts is not None:
        options["translation_starts"] = args.translation_starts
    if args.no_polish:
        options["polish_spread"] = (0.0, 0.0)
    kitti = load_bundled_frames()
    if args.synthetic_streets:
        streets = range(1, args.synthetic_streets + 1)
        singles = [f for s in streets for f in synthetic_sequence(s, 5)[::2]]
    else:
        singles = kitti + [
            load_kitti_object(SHARED / "kitti_object_training_kitti_object_vis", i)
            for i in range(3)
        ]
        singles.append(load_pjlab(SHARED / "pjlab_calibanything_ours" / "3"))
    single = five = None
    if args.single:
        rows, from_truth = single_frame(singles, args.single, rng, options, edge_map_options(args))
        single, ok = trial_table("single frame, start <= 5 deg / 25 cm", rows, 2.0, 0.05)
        print(f"target: >= 90 % within 2 deg / 5 cm -> measured {100 * ok.mean():.0f} %")
        by = {}
        for r, good in zip(rows, ok):
            by.setdefault(r["frame"], []).append((good, r["rot"], r["tr"], r["nees"] < CHI2_6_95))
        print(
            f"{'frame':44s} {'success':>8s} {'median deg':>11s} {'median cm':>10s} {'in 95 %':>8s}"
            f" {'from truth':>17s} {'(camera x y z cm, rot-x deg)':>29s} {'cost there':>17s}"
        )
        for k, v in by.items():
            v = np.array(v, float)
            print(
                f"{k:44s} {100 * v[:, 0].mean():7.0f}% {np.median(v[:, 1]):11.3f} "
                f"{100 * np.median(v[:, 2]):10.2f} {100 * v[:, 3].mean():7.0f}% "
                f"{from_truth[k][0]:7.3f} / {100 * from_truth[k][1]:5.2f} cm "
                f"{' '.join(f'{100 * c:+6.2f}' for c in from_truth[k][2][:3])} "
                f"{np.degrees(from_truth[k][2][3]):+6.3f} "
                f"{from_truth[k][3]:7.3f} -> {from_truth[k][4]:.3f}"
            )
        print(
            "from truth: the search started at the ground truth (deg / cm where it settles; its "
            "translation along the camera's x right, y down, z forward, and its rotation about x, "
            "the pitch that trades against y on structure at one depth; cost there: the "
            "finest-blur cost at the truth -> where it settled, higher is better aligned: "
            "where the latter is higher, the truth is not the cost's optimum)"
        )
        quality(rows, ok, single[:, 4])
    if args.joint:
        five, ok5 = trial_table(
            "five frames jointly, start <= 10 deg / 50 cm",
            joint(kitti, args.joint, rng, options, edge_map_options(args)),
            2.0,
            0.05,
        )
        print(
            f"target: median <= 0.3 deg and <= 3 cm -> measured {np.median(five[:, 0]):.3f} deg, "
            f"{100 * np.median(five[:, 1]):.2f} cm"
        )
    histograms(single, five, args.out)
    if not args.skip_drift:
        n = args.drift_frames
        at = n // 2 if args.drift_step_at is None else args.drift_step_at
        what = f"KITTI 70-74 looped to {n} frames"
        drift(
            looped_with_step(kitti, n, at),
            kitti[0].T_cam_lidar,
            at,
            args.out,
            args.drift_steps,
            what,
            estimator_options=pipeline_options(args),
        )
    print(f"\npictures: {args.out}/refine_errors.png, {args.out}/drift_cusum.png")


if __name__ == "__main__":
    main()
