"""How reliably two processes match over Fast DDS in the tests' loopback-only namespace.

The CI ran one node in its own process and saw its subscriptions never match the test's
publishers within 60 s (the demo test, once in a full run); this measures that per transport
configuration. Each trial runs in a fresh ``unshare -n`` namespace (loopback only, a random
domain): a process holding ``--extra`` other participants (as a test process does by then)
publishes a topic and starts a subscriber process; the trial records the seconds until the
publisher sees the subscription, "stuck" when it did not within ``--wait`` s, "hung" when the
trial did not even end. ``--load`` processes of multithreaded tensor work keep the CPUs
saturated, as a node's refinement or a benchmark does. Configurations: ``LARGE_DATA``
(``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA``: UDP discovery, TCP + shared memory for data; the
baseline, what the tests used), ``profile``
(``ci/fastdds_lo_large.xml``: 16 MB shared-memory segments + UDP on 127.0.0.1, no TCP) and
``default`` (Fast DDS's own: shared memory with 512 KB segments + UDP).

Run (needs the ROS 2 test wheels and ``unshare -n``; about 10 minutes)::

    bash scripts/ros_env.sh python -m benchmarks.dds_discovery
    bash scripts/ros_env.sh python -m benchmarks.dds_discovery --configs profile --trials 50
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "/vp2p_discovery_check"
CONFIGS = {
    "LARGE_DATA": {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    "profile": {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(ROOT / "ci" / "fastdds_lo_large.xml"),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SYSTEM_DEFAULT",
    },
    "default": {},
}
SUBSCRIBER = f"""
import time, rclpy
from std_msgs.msg import String
rclpy.init()
node = rclpy.create_node("discovery_subscriber")
node.create_subscription(String, "{TOPIC}", lambda m: None, 10)
time.sleep(600)
"""

# what a refinement does to the machine: multithreaded tensor work
BUSY = "import torch\na = torch.randn(1024, 1024)\nwhile True: a = torch.tanh(a @ a)"


def trial(extra: int, wait: float) -> None:
    """One trial (inside the namespace): prints ``matched SECONDS`` or ``stuck``."""
    import rclpy
    from rclpy.context import Context
    from std_msgs.msg import String

    held = []
    for i in range(extra):
        context = Context()
        rclpy.init(context=context)
        held.append(rclpy.create_node(f"held_{i}", context=context))
    rclpy.init()
    pub = rclpy.create_node("discovery_publisher").create_publisher(String, TOPIC, 10)
    child = subprocess.Popen([sys.executable, "-c", SUBSCRIBER])
    t0 = time.monotonic()
    while not pub.get_subscription_count() and time.monotonic() - t0 < wait:
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    print(f"matched {seconds:.2f}" if pub.get_subscription_count() else "stuck", flush=True)
    child.kill()
    os._exit(0)  # rclpy's shutdown of many contexts is not what is measured


def run_trial(config: str, extra: int, wait: float) -> str | float:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FASTDDS_", "ROS_AUTOMATIC_DISCOVERY"))
    }
    env.update(CONFIGS[config], ROS_DOMAIN_ID=str(random.randrange(102)))
    cmd = [sys.executable, "-m", "benchmarks.dds_discovery", "--trial", str(extra), "--wait"]
    cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$0" "$@"', *cmd, str(wait)]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=wait + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "hung"
    words = out.split()
    return float(words[1]) if words[:1] == ["matched"] else "stuck"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--configs", nargs="+", choices=list(CONFIGS), default=["LARGE_DATA", "profile"]
    )
    ap.add_argument("--trials", type=int, default=30, help="per configuration")
    ap.add_argument("--extra", type=int, default=3, help="participants held besides")
    ap.add_argument("--wait", type=float, default=20.0, help="seconds until a trial is stuck")
    ap.add_argument("--load", type=int, default=2, help="tensor-work processes during the trials")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trial", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.trial is not None:
        return trial(args.trial, args.wait)
    random.seed(args.seed)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.load)]
    results = {}
    try:
        jobs = [(c, k) for k in range(args.trials) for c in args.configs]  # interleaved
        for config, _ in tqdm(jobs, desc="trials", unit="trial"):
            results.setdefault(config, []).append(run_trial(config, args.extra, args.wait))
    finally:
        for p in busy:
            p.kill()
    print(
        f"\n{args.trials} trials per configuration, {args.extra} participants held, "
        f"{args.load} tensor-work processes, stuck after {args.wait:.0f} s"
    )
    print(
        f"{'config':12s} {'matched':>8s} {'stuck':>6s} {'hung':>5s} {'median s':>9s} {'max s':>6s}"
    )
    for config, rs in results.items():
        t = sorted(r for r in rs if isinstance(r, float))
        median = f"{t[len(t) // 2]:.2f}" if t else "-"
        top = f"{t[-1]:.2f}" if t else "-"
        print(
            f"{config:12s} {len(t):8d} {rs.count('stuck'):6d} {rs.count('hung'):5d} "
            f"{median:>9s} {top:>6s}"
        )
    base = args.configs[0]
    failed = sum(not isinstance(r, float) for r in results[base])
    print(f"(baseline: {base}, failed {failed} of {args.trials})")


if __name__ == "__main__":
    main()
