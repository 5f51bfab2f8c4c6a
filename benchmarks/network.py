"""Latency and memory of VP2PMatchNet at the released input size, per branch and end to end.

Run::

    python -m benchmarks.network                       # CPU, batch 1 and 4
    python -m benchmarks.network --device cuda --batch 1 4 --amp bf16

Prints one row per (batch, part): median latency of ``--repeats`` runs after a warm-up, peak
memory (CUDA: ``max_memory_allocated``; CPU: growth of the process's max RSS), and the parameter
count. Where spconv is importable the voxel branch is also timed with spconv's sparse
convolutions, and where pointnet2_ops is (CUDA) the point ops with it; the ratio pure-torch /
native is printed. Targets (issue 4): CPU forward <= 2 s;
GPU <= 10 ms at batch 1 and <= 3 GB at batch 4.
"""

from __future__ import annotations

import argparse
import functools
import resource
import time

import numpy as np
import torch

from vp2p_ros.model import VP2PConfig, VP2PMatchNet, backends
from vp2p_ros.model.ops import points as torch_points


def make_inputs(cfg, B, device):
    g = torch.Generator().manual_seed(0)
    n = cfg.num_points
    d = {
        "points": torch.randn(B, n, 3, generator=g) * 15,
        "intensity": torch.rand(B, n, generator=g),
        "normals": torch.nn.functional.normalize(torch.randn(B, n, 3, generator=g), dim=-1),
        "image": torch.rand(B, 3, cfg.image_height, cfg.image_width, generator=g),
    }
    return {k: v.to(device) for k, v in d.items()}


def timed(fn, repeats, device):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    if device.type == "cuda":
        mem = torch.cuda.max_memory_allocated() / 2**20
    else:
        mem = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return 1e3 * float(np.median(times)), mem


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--amp", choices=["none", "fp16", "bf16"], default="none")
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    cfg = VP2PConfig()
    net = VP2PMatchNet(cfg).to(dev).eval()
    n_params = sum(p.numel() for p in net.parameters())
    amp = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.amp)
    print(f"device {dev}, threads {torch.get_num_threads()}, params {n_params:,}, amp {args.amp}")
    print(f"native extensions: {backends.available()}")
    print(f"{'batch':>5s} {'part':28s} {'median ms':>10s} {'peak MiB':>9s}")
    for B in args.batch:
        bench_batch(net, cfg, B, dev, amp, args.repeats)


def bench_batch(net, cfg, B, dev, amp, repeats) -> None:
    data = make_inputs(cfg, B, dev)
    feats = torch.cat([data["points"], data["intensity"][..., None], data["normals"]], -1)

    def run(fn):
        with torch.inference_mode(), torch.autocast(dev.type, amp, enabled=amp is not None):
            return fn()

    parts = [
        ("point branch", lambda: net.point_transformer(feats.transpose(1, 2))),
        ("voxel branch", lambda: net.voxel_branch(data["points"], feats)),
        ("pixel branch", lambda: net.resnet(data["image"])),
        ("end to end", lambda: net(data)),
    ]
    for name, fn in parts:
        ms, mem = timed(functools.partial(run, fn), repeats, dev)
        print(f"{B:5d} {name:28s} {ms:10.1f} {mem:9.0f}")
    if backends.available()["spconv"]:

        def voxel_with(sparse):
            with backends.selected("torch", dev.type == "cuda", sparse=sparse):
                return run(lambda: net.voxel_branch(data["points"], feats))

        t_torch, _ = timed(functools.partial(voxel_with, "torch"), repeats, dev)
        t_nat, _ = timed(functools.partial(voxel_with, "native"), repeats, dev)
        print(f"{B:5d} {'voxel branch torch/spconv':28s} {t_torch / t_nat:10.2f}")
    if backends.available()["pointnet2_ops"] and dev.type == "cuda":
        native = backends._native_point_ops()
        xyz = data["points"]
        centres = xyz[:, :1024].contiguous()
        for op, op_args in (
            ("furthest_point_sample", (xyz, 1024)),
            ("ball_query", (20.0, 64, xyz, centres)),
            ("three_nn", (xyz, centres)),
        ):
            t_torch, _ = timed(
                functools.partial(getattr(torch_points, op), *op_args), repeats, dev
            )
            t_nat, _ = timed(functools.partial(getattr(native, op), *op_args), repeats, dev)
            print(f"{B:5d} {op + ' torch/native':28s} {t_torch / t_nat:10.2f}")


if __name__ == "__main__":
    main()
