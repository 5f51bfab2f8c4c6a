"""The main job: bundled KITTI frames -> bag -> calibration node (own process) -> replay -> result.

    python -m vp2p_ros.ros.demo                 # what scripts/demo.sh runs
    python -m vp2p_ros.ros.demo --start-error 3 0.15 --loops 4 --out out/demo

1. ``vp2p-make-bag`` writes the 5 bundled real KITTI raw frames (10 Hz) with their ground truth.
2. ``vp2p_calibration_node`` starts as its own process with ``use_sim_time``, the estimator
   ``refine`` (weight-free edge alignment + SE(3) fusion + drift check: the best estimator this
   project has on real data; ``--checkpoint`` runs VP2P's network instead) and an initial
   extrinsic that is the
   ground truth moved by a seeded random 3 deg / 15 cm, as a rough CAD value would be.
3. The bag is replayed (raw CDR + /clock) ``--loops`` times at ``--rate``, each frame only once
   the node has published its estimate of the one before (``--realtime``: whatever the node
   keeps up with, as live).
4. The last ``CalibrationEstimate`` is printed next to the ground truth with its errors and its
   1-sigma covariance; the node's overlay and an initial-vs-final picture are saved as PNG.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _node_command(T_init: np.ndarray, checkpoint: Path | None = None) -> list[str]:
    from vp2p_ros.geometry import matrix_to_rpy

    xyz = ",".join(f"{v:.6f}" for v in T_init[:3, 3])
    rpy = ",".join(f"{v:.6f}" for v in matrix_to_rpy(T_init[:3, :3]))
    params = {
        "use_sim_time": "true",
        "estimator": "vp2p" if checkpoint else "refine",
        "points_topic": "/points",
        "initial_xyz": f"[{xyz}]",
        "initial_rpy": f"[{rpy}]",
        "jump_back_s": "0.5",
    }
    if checkpoint:
        params["checkpoint"] = str(Path(checkpoint).resolve())
    cmd = [sys.executable, "-m", "vp2p_ros.ros.node", "--ros-args"]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    return cmd


def _start_node(cmd, log_path: Path):
    log = open(log_path, "w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)), log


def _lockstep(ex, replayer, estimates: list, per_frame: int, timeout_s: float = 30.0):
    """A spin for :meth:`BagReplayer.run` that, once a frame's ``per_frame`` messages are out,
    waits (up to ``timeout_s``) for the node's estimate of it: the result then does not depend on
    how fast this machine refines (the node's worker drops frames it is still busy for)."""
    seen = [len(estimates)]

    def spin():
        ex.spin_once(timeout_sec=0)
        if replayer.sent % per_frame == 0:
            deadline = time.monotonic() + timeout_s
            while len(estimates) <= seen[0] and time.monotonic() < deadline:
                ex.spin_once(timeout_sec=0.05)
            seen[0] = len(estimates)

    return spin


def _matrix(tf) -> np.ndarray:
    from vp2p_ros.data.bag_frames import transform_to_matrix

    return transform_to_matrix(tf)


def _table(T_init, T_final, cov, T_gt) -> str:
    from vp2p_ros.geometry import pose_difference

    rows = ["", f"{'':22s} {'rotation error':>15s} {'translation error':>18s}"]
    for name, T in (("initial (given)", T_init), ("calibrated (node)", T_final)):
        d = pose_difference(T, T_gt)
        rows.append(
            f"{name:22s} {np.degrees(np.linalg.norm(d[3:])):13.3f} ° "
            f"{100 * np.linalg.norm(d[:3]):15.2f} cm"
        )
    std = np.sqrt(np.diag(cov))
    rows += [
        "",
        "1-sigma from the published covariance (x y z cm | rot-x rot-y rot-z deg): "
        + " ".join(f"{100 * v:.2f}" for v in std[:3])
        + " | "
        + " ".join(f"{np.degrees(v):.3f}" for v in std[3:]),
        "",
        "T_cam_lidar calibrated:",
        np.array2string(T_final, precision=5, suppress_small=True),
        "T_cam_lidar ground truth (KITTI calibration files):",
        np.array2string(T_gt, precision=5, suppress_small=True),
    ]
    return "\n".join(rows)


def main(argv=None) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from vp2p_ros.cli.make_bag import write_bag
    from vp2p_ros.data import load_bundled_frames
    from vp2p_ros.data.bag_frames import ground_truth
    from vp2p_ros.geometry import retract_pose
    from vp2p_ros.msg import CalibrationEstimate
    from vp2p_ros.msgconv import image_to_rgb8
    from vp2p_ros.ros.replay import BagReplayer
    from vp2p_ros.viz import draw_projection, label, save_png, stack_vertical

    ap = argparse.ArgumentParser(prog="vp2p-demo-ros", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/demo"))
    ap.add_argument(
        "--start-error",
        type=float,
        nargs=2,
        default=(3.0, 0.15),
        metavar=("DEG", "M"),
        help="initial extrinsic = ground truth moved this much",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--checkpoint",
        type=Path,
        help="run VP2P's learned estimator with these weights instead of the refinement",
    )
    ap.add_argument("--loops", type=int, default=4, help="times the 5-frame bag is replayed")
    ap.add_argument("--rate", type=float, default=0.1, help="replay speed (0.1 = 1 frame/s)")
    ap.add_argument(
        "--realtime",
        action="store_true",
        help="replay at --rate whatever the node keeps up with (frames it is still busy for are "
        "dropped, as live); default: each frame waits for the node's estimate of the one before",
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    frames = load_bundled_frames()
    bag = args.out / "kitti_bundled_bag"
    if not bag.exists():
        write_bag(bag, frames)
    T_gt = ground_truth(bag)
    rng = np.random.default_rng(args.seed)
    axis, direction = rng.normal(size=3), rng.normal(size=3)
    deg, m = args.start_error
    T_init = retract_pose(
        T_gt,
        np.r_[
            m * direction / np.linalg.norm(direction),
            np.radians(deg) * axis / np.linalg.norm(axis),
        ],
    )
    if args.checkpoint:
        print(f"estimator: VP2P network + probabilistic PnP, weights {args.checkpoint}")
    else:
        print(
            "estimator: weight-free edge refinement + SE(3) fusion + drift check (the default: "
            "no shipped VP2P weights are trained on real data; --checkpoint runs the network)"
        )
    node_proc, log = _start_node(_node_command(T_init, args.checkpoint), args.out / "node.log")
    rclpy.init()
    peer = rclpy.create_node("vp2p_demo")
    ex = SingleThreadedExecutor()
    ex.add_node(peer)
    got = {"est": [], "overlay": []}
    ns = "/vp2p_calibration_node/camera"
    peer.create_subscription(CalibrationEstimate, f"{ns}/estimate", got["est"].append, 10)
    from sensor_msgs.msg import Image

    peer.create_subscription(Image, f"{ns}/overlay", got["overlay"].append, 2)
    try:
        replayer = BagReplayer(
            peer, bag, ["/camera/image", "/camera/camera_info", "/points"], rate=args.rate
        )
        deadline = time.monotonic() + 60
        while not all(p.get_subscription_count() for p in replayer.pubs.values()):
            if node_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the node did not come up; see {args.out / 'node.log'}")
            ex.spin_once(timeout_sec=0.1)
        spin = (
            (lambda: ex.spin_once(timeout_sec=0))
            if args.realtime
            else _lockstep(ex, replayer, got["est"], len(replayer.pubs))
        )
        for k in range(args.loops):
            print(f"replay {k + 1}/{args.loops} ({len(got['est'])} estimates so far)", flush=True)
            replayer.run(spin=spin)
        deadline = time.monotonic() + 30
        n = len(got["est"])
        while time.monotonic() < deadline and len(got["est"]) == n:  # the last frame's estimate
            ex.spin_once(timeout_sec=0.1)
        for _ in range(20):
            ex.spin_once(timeout_sec=0.05)
    finally:
        node_proc.send_signal(signal.SIGINT)
        try:
            node_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node_proc.kill()
        log.close()
        ex.shutdown()
        peer.destroy_node()
        rclpy.try_shutdown()
    published = [e for e in got["est"] if any(e.covariance)]
    states = [e.state for e in got["est"]]
    print(
        f"{len(got['est'])} estimates received, {len(published)} published (states: "
        f"{sorted(set(states))}; 1 = converged)"
    )
    if not published:
        print(f"no estimate passed the quality gate; see {args.out / 'node.log'}")
        return 1
    last = published[-1]
    T_final = _matrix(last.transform)
    cov = np.reshape(last.covariance, (6, 6))
    print(_table(T_init, T_final, cov, T_gt))
    pictures = []
    f = frames[0]
    pictures.append(label(draw_projection(f.image, f.points, T_init, f.camera), "initial"))
    pictures.append(label(draw_projection(f.image, f.points, T_final, f.camera), "calibrated"))
    pictures.append(label(draw_projection(f.image, f.points, T_gt, f.camera), "ground truth"))
    path = save_png(args.out / "demo_overlay.png", stack_vertical(pictures))
    if got["overlay"]:
        save_png(args.out / "node_overlay.png", image_to_rgb8(got["overlay"][-1]))
    print(f"\npictures: {path}" + (f", {args.out / 'node_overlay.png'}" if got["overlay"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
