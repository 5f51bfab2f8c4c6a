"""``vp2p-export-weights``: a training checkpoint -> a file to ship (e.g. in ``models/``).

    vp2p-export-weights out/train_synthetic/last.safetensors models/vp2p_tiny.safetensors \
        --meta eval_summary=out/eval/syn/summary.txt --meta licence='"Apache-2.0"'

Keeps the training metadata (config, step, data, protocol), stores floats as float16 by default
(half the size) or int8 with per-channel scales (a quarter; ``--dtype int8``) -- loading restores
float32 --, adds ``--meta KEY=VALUE`` entries (VALUE: JSON,
or a path whose text is stored), and prints the sha256 for the model card.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vp2p_ros.model.weights import load_model, save_safetensors

__all__ = ["main"]


def _value(text: str):
    if Path(text).is_file():
        return Path(text).read_text()
    return json.loads(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="vp2p-export-weights", description=__doc__.splitlines()[0])
    ap.add_argument("src", help="checkpoint (.pth or .safetensors)")
    ap.add_argument("dst", type=Path, help="target .safetensors")
    ap.add_argument(
        "--dtype", choices=["int8", "float16", "bfloat16", "float32"], default="float16"
    )
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE (JSON or a file path)")
    args = ap.parse_args(argv)
    model, meta = load_model(args.src)
    kept = {k[len("json_") :]: v for k, v in meta.items() if k.startswith("json_")}
    kept.pop("vp2p_config", None)  # written again from the model
    for item in args.meta:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--meta needs KEY=VALUE, got {item!r}")
        kept[key] = _value(value)
    args.dst.parent.mkdir(parents=True, exist_ok=True)
    dtype = None if args.dtype == "float32" else getattr(torch, args.dtype)
    sha = save_safetensors(model, args.dst, dtype=dtype, source_checkpoint=str(args.src), **kept)
    size = args.dst.stat().st_size / 2**20
    print(f"{args.dst}: {size:.1f} MiB, {args.dtype}, sha256 {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
