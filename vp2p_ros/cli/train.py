"""``vp2p-train --config FILE``: train VP2P's network (single process, or under ``torchrun``).

    vp2p-train --config config/train_synthetic.yaml
    vp2p-train --config config/train_synthetic.yaml --steps 50 --out out/try --resume
    torchrun --nproc_per_node 2 -m vp2p_ros.cli.train --config config/train_synthetic.yaml

The YAML has up to four sections: ``train`` (:class:`TrainConfig` fields), ``protocol``
(:class:`ProtocolConfig` fields; sizes must match the preset), ``data`` and, optionally, ``val``
(frames registered every ``train.eval_every`` steps). ``data`` / ``val`` name a source
(synthetic, kitti_raw, kitti_odometry, kitti_object, nuscenes, bag: the keys of each are in
:mod:`vp2p_ros.train.sources`); ``data`` also takes ``keypoints`` (per modality) and ``seed``.
Writes ``last.safetensors`` (+ optimizer state), ``log.csv``, ``val.csv``, ``val_latest.png``,
``curve.png`` and TensorBoard events (``tb/``, when installed) to ``train.out``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml

from vp2p_ros.protocol import ProtocolConfig
from vp2p_ros.protocol.config import config_from_dict
from vp2p_ros.train.data import PairDataset
from vp2p_ros.train.sources import load_source
from vp2p_ros.train.trainer import TrainConfig, loss_curve, train

__all__ = ["build_dataset", "main"]


def build_dataset(data: dict, protocol: ProtocolConfig) -> PairDataset:
    """The ``data`` section -> a :class:`PairDataset` (see :mod:`vp2p_ros.train.sources`)."""
    frames = load_source(data)
    return PairDataset(frames, protocol, int(data.get("keypoints", 512)), int(data.get("seed", 0)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="vp2p-train", description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--steps", type=int, help="override train.steps")
    ap.add_argument("--out", help="override train.out")
    ap.add_argument("--max_minutes", type=float, help="override train.max_minutes")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.*")
    args = ap.parse_args(argv)
    doc = yaml.safe_load(args.config.read_text())
    unknown = set(doc) - {"train", "protocol", "data", "val"}
    if unknown:
        raise SystemExit(f"{args.config}: unknown section(s) {sorted(unknown)}")
    cfg = TrainConfig(**doc.get("train", {}))
    overrides = {
        k: v
        for k, v in (("steps", args.steps), ("out", args.out), ("max_minutes", args.max_minutes))
        if v is not None
    }
    cfg = dataclasses.replace(cfg, **overrides)
    protocol = config_from_dict(doc.get("protocol", {}))
    dataset = build_dataset(doc.get("data", {}), protocol)
    val = load_source(doc["val"]) if doc.get("val") else None
    meta = {"data": doc.get("data", {}), "protocol": dataclasses.asdict(protocol)}
    last = train(cfg, dataset, args.resume, meta, val_frames=val, protocol=protocol)
    out = Path(cfg.out)
    if (out / "log.csv").exists():
        loss_curve(out / "log.csv", out / "curve.png", out / "val.csv")
    step = last.pop("step")
    print(f"step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"weights: {out / 'last.safetensors'}; curve: {out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
