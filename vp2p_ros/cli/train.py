"""``vp2p-train --config FILE``: train VP2P's network (single process, or under ``torchrun``).

    vp2p-train --config config/train_synthetic.yaml
    vp2p-train --config config/train_synthetic.yaml --steps 50 --out out/try --resume
    torchrun --nproc_per_node 2 -m vp2p_ros.cli.train --config config/train_synthetic.yaml

The YAML has three sections: ``train`` (:class:`TrainConfig` fields), ``protocol``
(:class:`ProtocolConfig` fields; sizes must match the preset) and ``data``:

* ``source: synthetic`` with ``scenes`` (count), ``seed``, ``rig: full | small``;
* ``source: kitti_raw`` with ``path`` (a drive folder; default: the bundled frames) and
  ``limit``;

plus ``keypoints`` (per modality). Writes ``last.safetensors``, ``log.csv`` and ``curve.png`` to
``train.out``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml
from tqdm import tqdm

from vp2p_ros.protocol import ProtocolConfig
from vp2p_ros.protocol.config import config_from_dict
from vp2p_ros.train.data import PairDataset
from vp2p_ros.train.trainer import TrainConfig, loss_curve, train

__all__ = ["build_dataset", "main"]

SMALL_RIG = dict(width=620, height=188, focal=360.0, beams=32, azimuth_step_deg=0.4)


def build_dataset(data: dict, protocol: ProtocolConfig) -> PairDataset:
    """The ``data`` section -> a :class:`PairDataset` (frames loaded once, kept in memory)."""
    source = data.get("source", "synthetic")
    if source == "synthetic":
        from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame

        rig = SyntheticRig(**SMALL_RIG) if data.get("rig", "full") == "small" else SyntheticRig()
        seed = int(data.get("seed", 0))
        n = int(data.get("scenes", 32))
        frames = [synthetic_frame(seed + i, rig) for i in tqdm(range(n), desc="scenes")]
    elif source == "kitti_raw":
        from vp2p_ros.data import BUNDLED_KITTI_RAW, kitti_raw_indices, load_kitti_raw

        path = Path(data.get("path") or BUNDLED_KITTI_RAW)
        idx = kitti_raw_indices(path)[: data.get("limit")]
        frames = [load_kitti_raw(path, i) for i in tqdm(idx, desc="frames")]
    else:
        raise ValueError(f"data.source must be synthetic or kitti_raw, got {source!r}")
    return PairDataset(frames, protocol, int(data.get("keypoints", 512)), int(data.get("seed", 0)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="vp2p-train", description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--steps", type=int, help="override train.steps")
    ap.add_argument("--out", help="override train.out")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.*")
    args = ap.parse_args(argv)
    doc = yaml.safe_load(args.config.read_text())
    unknown = set(doc) - {"train", "protocol", "data"}
    if unknown:
        raise SystemExit(f"{args.config}: unknown section(s) {sorted(unknown)}")
    cfg = TrainConfig(**doc.get("train", {}))
    overrides = {k: v for k, v in (("steps", args.steps), ("out", args.out)) if v is not None}
    cfg = dataclasses.replace(cfg, **overrides)
    protocol = config_from_dict(doc.get("protocol", {}))
    dataset = build_dataset(doc.get("data", {}), protocol)
    last = train(cfg, dataset, resume=args.resume, extra_meta={"data": doc.get("data", {})})
    out = Path(cfg.out)
    if (out / "log.csv").exists():
        loss_curve(out / "log.csv", out / "curve.png")
    print(f"step {cfg.steps}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"weights: {out / 'last.safetensors'}; curve: {out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
