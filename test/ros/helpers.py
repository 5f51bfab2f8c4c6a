"""Shared helpers of the rclpy tests: isolated contexts and bounded spinning (no sleeps)."""

import contextlib


@contextlib.contextmanager
def ros_context(*node_factories):
    """Init a private rclpy context, build nodes with ``factory(ctx)``, spin them together."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    nodes = [f(ctx) for f in node_factories]
    ex = SingleThreadedExecutor(context=ctx)
    for n in nodes:
        ex.add_node(n)
    try:
        yield ex, nodes
    finally:
        ex.shutdown()
        for n in nodes:
            n.destroy_node()
        rclpy.shutdown(context=ctx)


def spin_until(ex, cond, max_spins=600):
    """Spin until ``cond()`` holds (True) or the spin budget is used up (cond's value)."""
    for _ in range(max_spins):
        if cond():
            return True
        ex.spin_once(timeout_sec=0.02)
    return cond()
