import threading
import time

from vp2p_ros.calib import LatestWinsWorker


def test_latest_wins_and_drops_are_counted():
    gate = threading.Event()
    seen = []

    def handler(job):
        gate.wait(5)
        seen.append(job)

    w = LatestWinsWorker(handler)
    w.submit(0)
    deadline = time.monotonic() + 5
    while not w._busy and time.monotonic() < deadline:  # job 0 has started
        time.sleep(0.001)
    t0 = time.perf_counter()
    accepted = [w.submit(k) for k in range(1, 101)]  # never blocks while the worker is busy
    assert time.perf_counter() - t0 < 0.5
    assert accepted[0] and not any(accepted[1:])
    gate.set()
    assert w.wait_idle(5)
    assert seen == [0, 100] and w.dropped == 99 and w.processed == 2
    w.stop()


def test_exception_is_reported_and_the_next_job_runs():
    errors, seen = [], []

    def handler(job):
        if job == "bad":
            raise RuntimeError("estimator exploded")
        seen.append(job)

    w = LatestWinsWorker(handler, on_error=lambda e, tb: errors.append(tb))
    w.submit("bad")
    assert w.wait_idle(5)
    w.submit("good")
    assert w.wait_idle(5)
    assert seen == ["good"] and w.failed == 1
    assert "estimator exploded" in w.last_error and "Traceback" in errors[0]
    w.stop()
    assert not w._thread.is_alive()
