"""Where the node's window refinement settles when started at the truth, in its search box and
in one twice as wide: does the cost or the box bound the window estimates along the optical
axis?

On a stretch of a synthetic drive (``vp2p_ros.data.synthetic``, exact ground truth), each window
of three consecutive frames is refined from the true extrinsic with the node's settings
(``RefineConfig()``: +-2 sigma = +-30 cm per translation axis) and with ``--wide`` times its
translation spread; the baseline in the same run is the default box. A search that settles at
the edge of the wide box has a cost that keeps improving away from the truth.

Run (CPU, about 3 minutes)::

    python -m benchmarks.window_box                       # street 1, frames 84-95, beams 0.2 deg
    python -m benchmarks.window_box --plain-walls         # without the walls' textures
    python -m benchmarks.window_box --street 2 --first 50 --last 60
    python -m benchmarks.window_box --cull-margin 14      # also points that can come into view
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from tqdm import tqdm

import vp2p_ros.data.synthetic as synthetic
from benchmarks.common import add_cost_flags, add_cull_flag, edge_map_options
from vp2p_ros.refine import RefineConfig, prepare, refine


def plain_walls(make_scene):
    """``random_scene`` with every box's stripe / check texture removed."""

    def scene(rng, length=120.0):
        s = make_scene(rng, length)
        s.texture[:, 1] = 0
        return s

    return scene


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--street", type=int, default=1)
    ap.add_argument("--first", type=int, default=84, help="first frame of the stretch")
    ap.add_argument("--last", type=int, default=95, help="last frame (the newest of a window)")
    ap.add_argument("--beam-width", type=float, default=0.2, help="SyntheticRig.beam_width_deg")
    ap.add_argument("--wide", type=float, default=2.0, help="the wide box, times the default")
    ap.add_argument("--plain-walls", action="store_true", help="no stripe / check textures")
    add_cull_flag(ap)
    add_cost_flags(ap, mi_weight=RefineConfig().mi_weight)
    args = ap.parse_args(argv)
    if args.plain_walls:
        synthetic.random_scene = plain_walls(synthetic.random_scene)
    rig = synthetic.SyntheticRig(beam_width_deg=args.beam_width)
    frames = synthetic.synthetic_sequence(args.street, args.last + 1, rig=rig, start=args.first)
    T = rig.T_cam_lidar
    cfg = RefineConfig(cull_margin_deg=args.cull_margin, mi_weight=args.mi_weight)
    data = [prepare([f], cfg.sigmas_px, **edge_map_options(args))[0] for f in frames]
    wide = dataclasses.replace(cfg, translation_std_m=args.wide * cfg.translation_std_m)
    edge = 200 * wide.translation_std_m
    rows = []
    for k in tqdm(range(2, len(frames)), desc="windows", unit="window"):
        row = []
        for c in (cfg, wide):
            r = refine(data[k - 2 : k + 1], T, c)
            row += [100 * (r.T_cam_lidar[2, 3] - T[2, 3]), 100 * np.sqrt(r.covariance[2, 2])]
        rows.append((args.first + k, *row))
    print(
        f"\nstreet {args.street}, windows of 3 ending at frames {args.first + 2}-{args.last}, "
        f"beams {args.beam_width} deg, {'plain walls' if args.plain_walls else 'textured walls'}"
        f", {edge_map_options(args)}; from the truth, along the optical axis (cm): settled (own "
        "1-sigma)"
    )
    print(f"{'frame':>6s} {'default box +-30 cm':>22s} {f'wide box +-{edge:.0f} cm':>22s}")
    for frame, z, sd, zw, sdw in rows:
        print(f"{frame:6d} {f'{z:.1f} ({sd:.1f})':>22s} {f'{zw:.1f} ({sdw:.1f})':>22s}")
    a = np.abs(np.array([r[1::2] for r in rows]))
    med = np.median(a, axis=0)
    print(
        f"|settled| median: default {med[0]:.1f} cm, wide {med[1]:.1f} cm (ratio "
        f"{med[1] / max(med[0], 1e-9):.2f}); wide searches within 10 % of its edge: "
        f"{np.sum(a[:, 1] > 0.9 * edge)} of {len(a)}"
    )


if __name__ == "__main__":
    main()
