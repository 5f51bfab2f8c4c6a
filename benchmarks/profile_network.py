"""Where a forward pass of the point and voxel branches spends its time (torch.profiler).

Run::

    python -m benchmarks.profile_network --device cuda

Prints, per branch, the top operators by CPU time, the number of kernel launches and of host
synchronisations (``aten::item`` / ``cudaStreamSynchronize`` ...). On a GPU, many launches with
little GPU time each mean the ops are launch-bound (the pure-torch FPS loop, for one).
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.network import make_inputs
from vp2p_ros.model import VP2PConfig, VP2PMatchNet


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--rows", type=int, default=14)
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    net = VP2PMatchNet(VP2PConfig()).to(dev).eval()
    x = make_inputs(net.cfg, 1, dev)
    feats = torch.cat([x["points"], x["intensity"][..., None], x["normals"]], -1)
    branches = {
        "point branch": lambda: net.point_transformer(feats.transpose(1, 2)),
        "voxel branch": lambda: net.voxel_branch(x["points"], feats),
    }
    with torch.inference_mode():
        for _ in range(2):  # warm-up
            net(x)
        sync()
        for name, fn in branches.items():
            with profile(activities=activities) as prof:
                fn()
                sync()
            events = prof.key_averages()
            print(f"===== {name} ({dev})")
            print(events.table(sort_by="cpu_time_total", row_limit=args.rows))
            launches = sum(e.count for e in events if e.key.startswith("cudaLaunchKernel"))
            syncs = sum(e.count for e in events if "Synchronize" in e.key or e.key == "aten::item")
            print(f"kernel launches {launches}, host syncs {syncs}")


if __name__ == "__main__":
    main()
