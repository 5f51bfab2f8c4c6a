"""Refinement with traffic: cars that hide the street, and cars the two sensors see apart.

A car that moves between the camera's exposure and the moment the LiDAR sweeps past it is in two
places (10 m/s and 50 ms: 0.5 m); even a parked car hides different background from the two
viewpoints. On synthetic streets (exact ground truth, ``vp2p_ros.data.synthetic``) with cars
driving in both directions (``synthetic_sequence(traffic=, traffic_speed_mps=,
lidar_delay_s=)``) five frames are refined jointly from the same seeded starts; the baseline in
the same run is the street without traffic, and the cars parked in the lanes are the same cars
without motion.

Then the node's pipeline (``benchmarks.drift_replay.node_pipeline``: refinement on a window of 3,
gate, fusion, drift detection) over longer drives of the same streets, without traffic and with the
LiDAR 50 ms late: the fused extrinsic at the end, how many estimates passed the gate, and how many
frames reported drift (there is none).

Run (CPU, about 8 minutes for the first part, 6 per street for the second)::

    python -m benchmarks.robustness
    python -m benchmarks.robustness --streets 3 --starts 1 --cars 10 --node-streets 0
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from benchmarks.common import CHI2_6_95, errors, random_offset
from benchmarks.drift_replay import node_pipeline
from vp2p_ros.calib.pipeline import STATES
from vp2p_ros.data.synthetic import synthetic_sequence
from vp2p_ros.geometry import retract_pose
from vp2p_ros.refine import RefineConfig, prepare, refine

# (label, with cars, their speed m/s, LiDAR delay after the camera s)
CONDITIONS = (
    ("no traffic (baseline)", False, 0.0, 0.0),
    ("parked in the lanes", True, 0.0, 0.0),
    ("10 m/s, in sync", True, 10.0, 0.0),
    ("10 m/s, LiDAR 50 ms late", True, 10.0, 0.05),
    ("10 m/s, LiDAR 150 ms late", True, 10.0, 0.15),
)


def run(streets: int, starts: int, cars: int, seed: int) -> dict[str, np.ndarray]:
    """Per condition, (streets * starts, 2) errors (cm, deg) of the joint refinement, street by
    street."""
    cfg = RefineConfig()
    out = {label: [] for label, *_ in CONDITIONS}
    for s in tqdm(range(1, streets + 1), desc="streets", unit="street"):
        rng = np.random.default_rng([seed, s])
        offsets = [random_offset(rng, 2.0, 0.10) for _ in range(starts)]  # same for every case
        for label, traffic, speed, delay in CONDITIONS:
            frames = synthetic_sequence(
                s, 5, traffic=cars if traffic else 0, traffic_speed_mps=speed, lidar_delay_s=delay
            )
            data = prepare(frames, cfg.sigmas_px)
            T_gt = frames[0].T_cam_lidar
            for offset in offsets:
                T = refine(data, retract_pose(T_gt, offset), cfg).T_cam_lidar
                rot, tr, _ = errors(T, T_gt)
                out[label].append((100 * tr, rot))
    return {k: np.array(v) for k, v in out.items()}


def through_the_node(streets: int, num: int, cars: int, seed: int) -> list[tuple]:
    """Per street and condition (no traffic; 10 m/s with the LiDAR 50 ms late), the node's
    pipeline over ``num`` frames from the same seeded start <= 2 deg / 10 cm: (street,
    condition, fused error cm, deg, its NEES under the published covariance, estimates
    accepted, frames in a drift state)."""
    rows = []
    todo = [(s, c) for s in range(1, streets + 1) for c in (CONDITIONS[0], CONDITIONS[3])]
    for s, (label, traffic, speed, delay) in tqdm(todo, desc="node drives", unit="drive"):
        start = random_offset(np.random.default_rng([seed, s, 1]), 2.0, 0.10)
        frames = synthetic_sequence(
            s, num, traffic=cars if traffic else 0, traffic_speed_mps=speed, lidar_delay_s=delay
        )
        T_gt = frames[0].T_cam_lidar
        calib = node_pipeline(retract_pose(T_gt, start))
        alarms = (STATES["drift_suspected"], STATES["drift_confirmed"])
        drifting = sum(calib.process(f).state in alarms for f in frames)
        rot = tr = nees = np.nan
        if calib.fusion.T is not None:
            rot, tr, d = errors(calib.fusion.T, T_gt)
            nees = d @ np.linalg.solve(calib.fusion.covariance, d)
        rows.append((s, label, 100 * tr, rot, nees, calib.accepted, drifting))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streets", type=int, default=6, help="synthetic 5-frame sequences")
    ap.add_argument("--starts", type=int, default=2, help="seeded starts per street")
    ap.add_argument("--cars", type=int, default=6, help="cars on the street where there are")
    ap.add_argument("--node-streets", type=int, default=2, help="drives through the node")
    ap.add_argument("--node-frames", type=int, default=50, help="frames per drive (10 Hz)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = run(args.streets, args.starts, args.cars, args.seed) if args.streets else {}
    if res:
        report(res, args)
    if args.node_streets:
        rows = through_the_node(args.node_streets, args.node_frames, args.cars, args.seed)
        print(
            f"\nthe node's pipeline over {args.node_frames} frames at 10 Hz (window 3, gate, "
            "fusion, drift), the same start per street"
        )
        print(
            f"{'street':>6s} {'condition':26s} {'fused cm':>9s} {'fused deg':>10s} "
            f"{'NEES':>6s} {'accepted':>9s} {'drift frames':>13s}"
        )
        for s, label, tr, rot, nees, acc, drifting in rows:
            print(f"{s:6d} {label:26s} {tr:9.2f} {rot:10.3f} {nees:6.1f} {acc:9d} {drifting:13d}")
        print(f"NEES: the fused error under the published covariance (95 %: {CHI2_6_95})")


def report(res: dict[str, np.ndarray], args) -> None:
    """The joint-refinement table and the per-street errors."""
    base = res[CONDITIONS[0][0]]
    print(
        f"\nfive frames jointly from <= 2 deg / 10 cm, {len(base)} searches per condition, "
        f"{args.cars} cars"
    )
    print(
        f"{'condition':26s} {'median cm':>10s} {'median deg':>11s} {'within 2 deg / 5 cm':>20s}"
        f" {'median cm vs baseline':>22s}"
    )
    for label, e in res.items():
        ok = np.mean((e[:, 0] < 5.0) & (e[:, 1] < 2.0))
        ratio = np.median(e[:, 0]) / max(np.median(base[:, 0]), 1e-9)
        print(
            f"{label:26s} {np.median(e[:, 0]):10.2f} {np.median(e[:, 1]):11.3f} "
            f"{100 * ok:19.0f}% {ratio:21.2f}x"
        )
    print("\ntranslation error (cm) per street, starts side by side:")
    for label, e in res.items():
        cells = e[:, 0].reshape(args.streets, args.starts)
        print(f"{label:26s} " + "  ".join(" ".join(f"{c:5.1f}" for c in row) for row in cells))


if __name__ == "__main__":
    main()
