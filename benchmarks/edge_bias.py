"""Bias of the edge-alignment cost for each LiDAR edge placement, where the truth is exact.

Five frames searched jointly from near the truth (start <= 1 deg / 5 cm, narrow prior): where
the search settles is the cost's own optimum, so its distance from the truth is the cost's bias.
On synthetic streets (``vp2p_ros.data.synthetic``: exact ground truth, ideal thin beams unless
``--beam-width``) and on
KITTI raw 70-74 (ground truth = KITTI's calibration, itself accurate to a few cm). Placements
(``lidar_edges(boundary_shift=(along a ring, across rings))``): the nearer beam, half-way across
rings (the default), half-way in both directions. Baseline: the nearer beam, in the same run.
The edge cost alone by default (no reflectivity-brightness mutual information, which is a
different cue; ``--mi-weight`` adds it as the refinement does).

Run (CPU, about 5 minutes)::

    python -m benchmarks.edge_bias
    python -m benchmarks.edge_bias --streets 3 --starts 2
    python -m benchmarks.edge_bias --plain-edges   # image edges of any orientation attract
    python -m benchmarks.edge_bias --mi-weight 3   # with the refinement's reflectivity term
    python -m benchmarks.edge_bias --beam-width 0.2   # synthetic beams as wide as their spacing
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from tqdm import tqdm

from benchmarks.common import (
    add_beam_width_flag,
    add_cost_flags,
    edge_map_options,
    errors,
    random_offset,
)
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.data.synthetic import SyntheticRig, synthetic_sequence
from vp2p_ros.geometry import retract_pose
from vp2p_ros.refine import JackknifeConfig, RefineConfig, prepare, refine

PLACEMENTS = {
    "nearer beam": (0.0, 0.0),
    "half across (default)": (0.0, 0.5),
    "half both": (0.5, 0.5),
}


def settle(frames, shift, starts, rng, maps=None, mi_weight=0.0) -> np.ndarray:
    """Mean (translation cm, rotation deg) error where the joint search settles near the truth."""
    cfg = RefineConfig(
        rotation_std_deg=1.0,
        translation_std_m=0.08,
        jackknife=JackknifeConfig(strips=0),
        mi_weight=mi_weight,
    )
    data = prepare(frames, cfg.sigmas_px, **(maps or {}), boundary_shift=shift)
    T_gt = frames[0].T_cam_lidar
    out = []
    for k in range(starts):
        T0 = retract_pose(T_gt, random_offset(rng, 1.0, 0.05))
        rot, tr, _ = errors(refine(data, T0, dataclasses.replace(cfg, seed=k)).T_cam_lidar, T_gt)
        out.append((100 * tr, rot))
    return np.mean(out, axis=0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streets", type=int, default=6, help="synthetic 5-frame sequences")
    ap.add_argument("--starts", type=int, default=3, help="searches per sequence and placement")
    ap.add_argument("--seed", type=int, default=0)
    add_beam_width_flag(ap)
    add_cost_flags(ap, mi_weight=0.0)  # the edge cost alone by default
    args = ap.parse_args(argv)
    rig = SyntheticRig(beam_width_deg=args.beam_width)
    sets = [("kitti raw 70-74", load_bundled_frames())]
    for s in tqdm(range(1, args.streets + 1), desc="synthetic streets", unit="street"):
        sets.append((f"synthetic street {s}", synthetic_sequence(s, 5, rig=rig)))
    rows = {}
    for name, frames in tqdm(sets, desc="placements", unit="set"):
        for label, shift in PLACEMENTS.items():
            rng = np.random.default_rng(args.seed)  # the same starts for every placement
            rows[name, label] = settle(
                frames, shift, args.starts, rng, edge_map_options(args), args.mi_weight
            )
    print(f"\n{'set':22s}" + "".join(f"{k:>24s}" for k in PLACEMENTS) + "   (cm / deg from truth)")
    for name, _ in sets:
        cells = "".join(f"{rows[name, k][0]:15.2f} / {rows[name, k][1]:5.3f}" for k in PLACEMENTS)
        print(f"{name:22s}{cells}")
    synth = np.array([[rows[n, k][0] for k in PLACEMENTS] for n, _ in sets[1:]])
    if len(synth):
        med = np.median(synth, axis=0)
        print(f"{'synthetic median cm':22s}" + "".join(f"{m:24.2f}" for m in med))
        print(
            "ratio vs the nearer beam (synthetic median): "
            + ", ".join(f"{k} {m / med[0]:.2f}" for k, m in zip(PLACEMENTS, med))
        )


if __name__ == "__main__":
    main()
