"""ApproximateTimeSync against message_filters' documented behaviour (and the real one if present).

The five cases are the ones measured by running upstream message_filters on synthetic messages
(../shared/reference/ros2_on_pypi.md section 6).
"""

import importlib.util
import types

import pytest

from vp2p_ros.calib import ApproximateTimeSync

MS = 1_000_000


def run_ours(events, queue_size, slop, **kw):
    out = []
    sync = ApproximateTimeSync(2, queue_size, slop, lambda *m: out.append(m), **kw)
    for index, stamp in events:
        sync.add(index, stamp, (index, stamp))
    return [(a[1], b[1]) for a, b in out], sync


def stream(n=100, lidar_offset_ns=3 * MS):
    events = []
    for k in range(n):
        t = k * 100 * MS
        events += [(0, t), (1, t + lidar_offset_ns)]
    return events


CASES = {
    "10hz_offset3ms_slop50ms": (stream(), 10, 0.05, 100),
    "offset_above_slop": (stream(), 10, 0.002, 0),
    "spread_equal_slop": ([(0, 0), (1, 10 * MS)], 10, 0.010, 0),
    "spread_below_slop": ([(0, 0), (1, 9_999_000)], 10, 0.010, 1),
    "burst_12_queue_10": (
        [(0, k * MS) for k in range(12)] + [(1, k * MS) for k in range(12)],
        10,
        0.0005,
        10,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_conformance_cases(name):
    events, q, slop, expected = CASES[name]
    sets, _ = run_ours(events, q, slop)
    assert len(sets) == expected
    if name == "spread_below_slop":
        assert sets == [(0, 9_999_000)]


def test_greedy_first_complete_match_wins():
    sets, _ = run_ours([(0, 0), (1, 4 * MS), (1, 1 * MS)], 10, 0.05)
    assert sets == [(0, 4 * MS)]  # upstream: the worse match completed first


def test_queue_eviction_counts_and_oldest_first():
    sets, sync = run_ours([(0, k * MS) for k in range(12)], 10, 0.0005)
    assert sets == [] and sync.stats.evicted == [2, 0]
    assert sorted(sync.queues[0]) == [k * MS for k in range(2, 12)]


def test_fixed_offset_matches_a_delayed_lidar():
    events = stream(lidar_offset_ns=30 * MS)
    assert len(run_ours(events, 10, 0.01)[0]) == 0
    sets, _ = run_ours(events, 10, 0.01, offsets_ns=[0, 30 * MS])
    assert len(sets) == 100


def test_backward_jump_resets_queues():
    events = [(0, 5000 * MS), (0, 100 * MS), (1, 100 * MS)]  # a bag loop: time goes back 4.9 s
    sets, sync = run_ours(events, 10, 0.05, jump_back_ns=1000 * MS)
    assert sync.stats.resets == 1 and sets == [(100 * MS, 100 * MS)]
    sets, sync = run_ours(events, 10, 0.05)  # without the option: plain upstream behaviour
    assert sync.stats.resets == 0 and sets == [(100 * MS, 100 * MS)]


def test_three_inputs_and_validation():
    out = []
    sync = ApproximateTimeSync(3, 5, 0.02, lambda *m: out.append(m))
    for i, t in ((0, 0), (1, 5 * MS), (2, 12 * MS)):
        sync.add(i, t, t)
    assert out == [(0, 5 * MS, 12 * MS)] and all(not q for q in sync.queues)
    with pytest.raises(ValueError):
        ApproximateTimeSync(1, 5, 0.1)
    with pytest.raises(ValueError):
        ApproximateTimeSync(2, 0, 0.1)
    with pytest.raises(ValueError):
        ApproximateTimeSync(2, 5, 0.1, offsets_ns=[0])


@pytest.mark.skipif(
    importlib.util.find_spec("message_filters") is None, reason="no message_filters"
)
@pytest.mark.parametrize("name", list(CASES))
def test_same_pairs_as_real_message_filters(name):
    import message_filters
    from builtin_interfaces.msg import Time

    events, q, slop, _ = CASES[name]
    inputs = [message_filters.SimpleFilter() for _ in range(2)]
    got = []
    sync = message_filters.ApproximateTimeSynchronizer(inputs, q, slop)
    sync.registerCallback(lambda a, b: got.append((a.ns, b.ns)))
    for index, stamp in events:
        msg = types.SimpleNamespace(
            header=types.SimpleNamespace(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9)),
            ns=stamp,
        )
        inputs[index].signalMessage(msg)
    assert got == run_ours(events, q, slop)[0]
