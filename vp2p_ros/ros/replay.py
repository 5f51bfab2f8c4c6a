"""``vp2p-replay-bag BAG [--rate R] [--loop]``: publish a bag's raw CDR with /clock, no ros2 bag.

Messages keep their recorded order; they are sent at ``recorded time / rate`` after the start
(``--rate 0``: as fast as possible) and ``/clock`` follows the recorded timestamps, so nodes with
``use_sim_time`` see the recorded time.
"""

from __future__ import annotations

import argparse
import importlib
import time

from rosgraph_msgs.msg import Clock

from vp2p_ros.data.bag import bag_topics, read_bag

__all__ = ["BagReplayer", "main"]


def message_class(msgtype: str):
    """'sensor_msgs/msg/Image' -> the rclpy message class."""
    pkg, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class BagReplayer:
    """Publishes bag messages from a node (QoS depth 10 reliable, /clock depth 1)."""

    def __init__(self, node, bag, topics=None, rate: float = 1.0):
        self.node, self.bag, self.topics, self.rate = node, bag, topics, rate
        self.clock_pub = node.create_publisher(Clock, "/clock", 1)
        # publishers exist before the first message, so subscribers can match them in time
        self.pubs = {
            topic: node.create_publisher(message_class(msgtype), topic, 10)
            for topic, msgtype in bag_topics(bag).items()
            if topics is None or topic in topics
        }
        self.sent = 0

    def run(self, spin=None) -> int:
        """Replay once; ``spin()`` (optional) is called between messages. Returns messages sent."""
        t0_bag = t0_wall = None
        for msg in read_bag(self.bag, self.topics):
            if t0_bag is None:
                t0_bag, t0_wall = msg.stamp_ns, time.monotonic()
            if self.rate > 0:
                due = t0_wall + (msg.stamp_ns - t0_bag) / 1e9 / self.rate
                while (delay := due - time.monotonic()) > 0:
                    time.sleep(min(delay, 0.01))
            clock = Clock()
            clock.clock.sec, clock.clock.nanosec = divmod(msg.stamp_ns, 10**9)
            self.clock_pub.publish(clock)
            self.pubs[msg.topic].publish(msg.raw)  # serialized CDR straight through
            self.sent += 1
            if spin is not None:
                spin()
        return self.sent


def main(argv=None) -> int:
    import rclpy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bag")
    ap.add_argument(
        "--rate", type=float, default=1.0, help="speed factor; 0 = as fast as possible"
    )
    ap.add_argument("--loop", action="store_true", help="replay until interrupted")
    ap.add_argument("--topics", nargs="*", default=None)
    args, ros_args = ap.parse_known_args(argv)
    rclpy.init(args=ros_args)
    node = rclpy.create_node("vp2p_bag_replayer")
    try:
        replayer = BagReplayer(node, args.bag, args.topics, args.rate)
        while True:
            replayer.run()
            if not args.loop:
                break
        node.get_logger().info(f"replayed {replayer.sent} messages")
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
