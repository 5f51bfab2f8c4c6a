"""End-to-end latency of the calibration node: last message of a set published -> TF received.

Run (from scripts/test.sh's environment, i.e. with rclpy)::

    python -m benchmarks.node --sets 30

One process: a peer publishes the bundled KITTI frames (1242x375 rgb8 Image, CameraInfo,
~120k-point PointCloud2) to the node, which runs a fixed stand-in estimator (so the numbers are
the node's own overhead: sync, conversion, worker hand-off, publishing) and, in the same run, the
bare conversion ``frame_from_messages`` as the baseline. Prints p50 / p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    import rclpy
    from tf2_msgs.msg import TFMessage

    from test.ros.helpers import ros_context, sensor_publishers, single_frame, spin_until
    from vp2p_ros.calib import Estimate
    from vp2p_ros.calib.frames import frame_from_messages
    from vp2p_ros.data import load_bundled_frames
    from vp2p_ros.ros.messages import frame_messages
    from vp2p_ros.ros.node import CalibrationNode
    from vp2p_ros.ros.tf_out import DYNAMIC_QOS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=30)
    args = ap.parse_args(argv)
    frame = load_bundled_frames(1)[0]

    class Fixed:
        name = "fixed"

        def estimate(self, f, prior):
            return Estimate("ok", frame.T_cam_lidar, np.eye(6) * 1e-6, 500, 500, "fixed")

    latencies, convert = [], []
    with ros_context(
        lambda ctx: CalibrationNode(
            estimator=Fixed(), context=ctx, parameter_overrides=single_frame()
        ),
        lambda ctx: rclpy.create_node("bench_peer", context=ctx),
    ) as (ex, (node, peer)):
        got = []
        peer.create_subscription(
            TFMessage, "/tf", lambda m: got.append(time.perf_counter()), DYNAMIC_QOS
        )
        pubs = sensor_publishers(peer)
        spin_until(ex, lambda: all(p.get_subscription_count() > 0 for p in pubs))
        for k in range(args.sets):
            triple = frame_messages(frame, 10**9 + k * 10**8)
            t0 = time.perf_counter()
            frame_from_messages(*triple)
            convert.append(time.perf_counter() - t0)
            n = len(got)
            for p, m in zip(pubs, triple):
                p.publish(m)
            t_sent = time.perf_counter()
            if spin_until(ex, lambda n=n: len(got) > n, max_spins=500):
                latencies.append(got[-1] - t_sent)
    lat, conv = 1e3 * np.array(latencies), 1e3 * np.array(convert)
    print(f"{len(lat)}/{args.sets} sets produced a TF")
    print(f"{'step':44s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, v in (
        ("frame_from_messages (baseline, bare)", conv),
        ("node: last message sent -> TF received", lat),
    ):
        print(f"{name:44s} {np.percentile(v, 50):8.1f} {np.percentile(v, 95):8.1f}")
    extra = np.percentile(lat, 50) - np.percentile(conv, 50)
    print(f"overhead beyond conversion (p50): {extra:.1f} ms")


if __name__ == "__main__":
    main()
