"""``vp2p-eval``: VP2P's registration evaluation, with the published checkpoint or ours.

    vp2p-eval --data_path DRIVE --load_ckpt vp2p_kitti.pth --exp_name kitti
    vp2p-eval --data_path synthetic:100:32 --load_ckpt out/train/last.safetensors --exp_name syn
    vp2p-eval ... --mode vis_registration          # also proj_input / proj_pred / proj_gt PNGs
    vp2p-eval --config config/train_synthetic.yaml --load_ckpt random:tiny   # untrained baseline

Per pair (every frame, no filtering): VP2P's input with a seeded random perturbation, network,
the released selection (scores > thresholds, first-N caps) and cosine matching, EPnP-RANSAC at
K_4 (500 iterations, 1 px) -> ``T_pred``; a failed solve leaves the input pose (identity).
Reported as the paper does: RTE / RRE mean ± std over all pairs and the success rate
(RRE < 5°, RTE < 2 m), plus the geodesic rotation error. Writes ``out/eval/<exp_name>/``:
``pairs.csv``, ``summary.txt``, ``errors.png`` (histograms) and, in vis mode, the pictures.

``--data_path``: a KITTI raw drive folder, ``bundled`` (the 5 frames in the package),
``synthetic:FIRST_SEED:COUNT`` (held-out seeded streets), or a training YAML (its ``val``
section; any source of :mod:`vp2p_ros.train.sources`).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch
import yaml

from vp2p_ros.model import VP2PMatchNet
from vp2p_ros.model.config import PRESETS
from vp2p_ros.model.weights import load_model
from vp2p_ros.protocol import summarize
from vp2p_ros.protocol.config import config_from_dict
from vp2p_ros.solvers.reference import ReferenceConfig
from vp2p_ros.train.evaluation import default_protocol, evaluate, load_frames

__all__ = ["main"]


def _histograms(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].hist([r["rte"] for r in rows], bins=30)
    ax[0].set_xlabel("RTE (m)")
    ax[1].hist([r["rre"] for r in rows], bins=30)
    ax[1].set_xlabel("RRE (deg, sum of |Euler xzy|)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _model_and_protocol(args):
    """The network (a checkpoint, or ``random:PRESET`` seeded with ``--seed``: the untrained
    baseline) and the input protocol: ``--config``'s, else the one the checkpoint was trained
    with (its metadata), else the paper's at the model's sizes."""
    if args.load_ckpt.startswith("random:"):
        torch.manual_seed(args.seed)
        model, meta = VP2PMatchNet(PRESETS[args.load_ckpt.split(":", 1)[1]]).eval(), {}
    else:
        model, meta = load_model(args.load_ckpt)
    if args.config is not None:
        protocol = config_from_dict(yaml.safe_load(args.config.read_text()).get("protocol", {}))
    elif "json_protocol" in meta:
        protocol = config_from_dict(meta["json_protocol"])
    else:
        protocol = default_protocol(model.cfg)
    return model.to(args.device), protocol


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="vp2p-eval", description=__doc__.splitlines()[0])
    ap.add_argument("--data_path", help="frames (see above); default: --config's val section")
    ap.add_argument("--config", type=Path, help="a training YAML: its protocol (and val frames)")
    ap.add_argument(
        "--load_ckpt",
        required=True,
        help=".pth (released), .safetensors, or random:PRESET (an untrained baseline)",
    )
    ap.add_argument("--exp_name", default="eval")
    ap.add_argument("--mode", choices=["test", "vis_registration"], default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score_thres", type=float, default=0.95, help="pixel and point score cut")
    ap.add_argument("--out", type=Path, default=Path("out/eval"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    if args.data_path is None and args.config is None:
        ap.error("give --data_path or --config (its val section)")
    model, protocol = _model_and_protocol(args)
    frames = load_frames(args.data_path or str(args.config))
    folder = args.out / args.exp_name
    folder.mkdir(parents=True, exist_ok=True)
    ref = ReferenceConfig(img_thres=args.score_thres, pc_thres=args.score_thres)
    vis = folder if args.mode == "vis_registration" else None
    rows = evaluate(model, frames, args.seed, ref, args.device, vis, protocol=protocol)
    with open(folder / "pairs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    s = summarize(rows)
    inp = {k: [float(r[k]) for r in rows] for k in ("input_rte", "input_rre", "input_success")}
    text = (
        f"{args.exp_name}: {s['pairs']} pairs, checkpoint {args.load_ckpt}\n"
        f"RTE {s['rte_mean']:.3f} ± {s['rte_std']:.3f} m   RRE {s['rre_mean']:.2f} ± "
        f"{s['rre_std']:.2f}°   geodesic {s['rot_geodesic_deg_mean']:.2f} ± "
        f"{s['rot_geodesic_deg_std']:.2f}°   "
        f"success (RRE<5°, RTE<2 m) {100 * s['success_rate']:.1f} %\n"
        f"solver: {sum(r['status'] == 'ok' for r in rows)} of {len(rows)} solved\n"
        f"input (perturbation, no registration): RTE {np.mean(inp['input_rte']):.3f} m   RRE "
        f"{np.mean(inp['input_rre']):.2f}°   success {100 * np.mean(inp['input_success']):.1f} %\n"
    )
    (folder / "summary.txt").write_text(text)
    _histograms(rows, folder / "errors.png")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
