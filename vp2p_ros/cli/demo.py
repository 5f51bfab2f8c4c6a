"""Offline demo on the bundled real KITTI frames: load, project, evaluate, draw.

    vp2p-demo                              # bundled frames -> out/demo/
    vp2p-demo --kitti-raw DRIVE --out DIR  # any KITTI raw drive
    vp2p-demo --seed 3 --frames 2

For each frame it projects the scan with the ground-truth ``T_cam_lidar`` (points in the image,
median depth), builds VP2P's network input (160x512 crop, 40960 points, seeded random
perturbation) and scores two extrinsics with the paper's metrics: the perturbed input (what an
estimator starts from) and the ground truth (the check that the metrics read zero). It writes
``proj_input`` / ``proj_gt`` overlays per frame (VP2P's pictures, on the 160x512 input) and a
full-resolution overlay. No estimator runs yet: the network and solver come in later stages.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vp2p_ros.data import BUNDLED_KITTI_RAW, kitti_raw_indices, load_kitti_raw
from vp2p_ros.geometry import inverse_transform, transform_points
from vp2p_ros.protocol import ProtocolConfig, make_sample, registration_errors, summarize
from vp2p_ros.viz import draw_projection, label, save_png, stack_vertical

LOG = logging.getLogger("vp2p.demo")


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vp2p-demo", description=__doc__.split("\n")[0])
    g = p.add_argument_group("data")
    g.add_argument(
        "--kitti-raw",
        type=Path,
        default=BUNDLED_KITTI_RAW,
        help="KITTI raw drive folder (default: the bundled frames)",
    )
    g.add_argument("--frames", type=int, default=None, help="use at most this many frames")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0, help="seed of sampling and perturbations")
    g.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    cfg = ProtocolConfig()
    rng = np.random.default_rng(args.seed)
    indices = kitti_raw_indices(args.kitti_raw)[: args.frames]
    if not indices:
        LOG.error("no frames with both an image and a scan under %s", args.kitti_raw)
        return 1
    rows, errs_input, errs_gt, pictures = [], [], [], []
    for idx in tqdm(indices, desc="frames", unit="frame"):
        frame = load_kitti_raw(args.kitti_raw, idx)
        pc = transform_points(frame.T_cam_lidar, frame.points.astype(np.float64))
        _, in_img = frame.camera.project(pc)
        sample = make_sample(frame, cfg, rng=rng)
        # The perturbed input places the points at T_cam_input = I; the truth is sample.P.
        e_in = registration_errors(np.eye(4), sample.P)
        e_gt = registration_errors(sample.P, sample.P)
        errs_input.append(e_in)
        errs_gt.append(e_gt)
        rows.append(
            (
                frame.name.rsplit("/", 1)[-1],
                len(frame.points),
                int(in_img.sum()),
                float(np.median(pc[in_img, 2])),
                float(e_in["rre"]),
                float(e_in["rte"]),
            )
        )
        # VP2P's pictures, on the 160x512 network input; the sample's points are already in the
        # perturbed frame, so draw them with I (input) and with P (ground truth).
        img = (sample.image.transpose(1, 2, 0) * 255).astype(np.uint8)
        stem = args.out / rows[-1][0]
        save_png(
            f"{stem}_proj_input.png",
            draw_projection(img, sample.points, np.eye(4), sample.camera, radius=0),
        )
        save_png(
            f"{stem}_proj_gt.png",
            draw_projection(img, sample.points, sample.P, sample.camera, radius=0),
        )
        full = draw_projection(frame.image, frame.points, frame.T_cam_lidar, frame.camera)
        save_png(f"{stem}_overlay_gt.png", full)
        wrong = frame.T_cam_lidar @ inverse_transform(sample.P)  # the perturbation, full size
        pictures.append(
            stack_vertical(
                [
                    label(
                        draw_projection(frame.image, frame.points, wrong, frame.camera),
                        f"{rows[-1][0]}: perturbed input (RRE {e_in['rre']:.1f} deg, "
                        f"RTE {e_in['rte']:.2f} m)",
                    ),
                    label(full, f"{rows[-1][0]}: ground truth T_cam_lidar"),
                ]
            )
        )
    montage = save_png(args.out / "demo_overlays.png", stack_vertical(pictures[:3], gap=10))

    print(f"\nvp2p-demo on {args.kitti_raw} (seed {args.seed}); overlays in {args.out}/")
    print(
        f"{'frame':>12} {'points':>8} {'in image':>9} {'median z':>9} {'input RRE':>10} "
        f"{'input RTE':>10}"
    )
    for name, n, k, z, rre, rte in rows:
        print(f"{name:>12} {n:8d} {k:9d} {z:8.2f}m {rre:9.2f}° {rte:9.2f}m")
    for title, errs in (
        ("perturbed input (no estimator)", errs_input),
        ("ground truth (metric check)", errs_gt),
    ):
        s = summarize(errs)
        print(
            f"{title:>32}: RRE {s['rre_mean']:.2f}±{s['rre_std']:.2f}° "
            f"RTE {s['rte_mean']:.2f}±{s['rte_std']:.2f} m success {100 * s['success_rate']:.0f}%"
        )
    print(f"montage: {montage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
