"""The calibration node with the stand-in estimator, as its own process (cross-process tests).

    python -m test.ros.fake_node_process [--ros-args ...]

Spins until SIGINT / SIGTERM and exits 0; prints "ready" once the node is built.
"""

import signal
import sys


def main() -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from test.ros.helpers import FakeEstimator
    from vp2p_ros.ros.node import CalibrationNode

    rclpy.init(args=sys.argv)
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    node = CalibrationNode(estimator=FakeEstimator())
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
