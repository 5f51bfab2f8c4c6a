"""Approximate time synchronisation with ``message_filters.ApproximateTimeSynchronizer`` semantics.

ROS-free: messages come in as ``(input index, stamp in ns, payload)``. The matching rule is the
Python message_filters one (Humble to Rolling):

* one queue per input, ``stamp -> message`` (a duplicate stamp overwrites); beyond ``queue_size``
  the **oldest stamp** is evicted;
* on each arrival at stamp ``t``: for every other input, candidates with ``|s - t| <= slop``
  sorted by distance; if an input has none, nothing is emitted; otherwise the first combination
  (``itertools.product`` order, the new message at its own index) whose spread
  ``max - min < slop`` (strictly) is emitted and removed from the queues — greedy, at most one set
  per arrival, always containing the newest message.

Additions for a calibration node (all off by default, so the defaults conform exactly):

* ``offsets_ns``: a fixed per-input delay (like Kilted's ``queue_offset``): input ``i`` is matched
  at ``stamp - offsets_ns[i]`` (a LiDAR stamped 20 ms after the camera trigger gets 20e6);
* ``jump_back_ns``: a stamp older than the newest seen on its input by more than this (a bag
  loop, a clock reset) clears every queue and is counted in ``stats.resets``.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ApproximateTimeSync", "SyncStats"]


@dataclasses.dataclass
class SyncStats:
    """Counters since construction (read under the synchroniser's lock)."""

    received: list[int]
    evicted: list[int]  # messages dropped by queue_size without being matched
    emitted: int = 0
    resets: int = 0  # queues cleared after a backward time jump


class ApproximateTimeSync:
    """Greedy approximate-time matching of N inputs.

    Args:
        num_inputs: number of synchronised inputs (>= 2).
        queue_size: messages kept per input.
        slop_s: largest accepted spread of a set, seconds (strict ``<``).
        callback: called as ``callback(*payloads)`` for every emitted set, inside the lock.
        offsets_ns: per-input stamp offsets subtracted before matching (default all 0).
        jump_back_ns: backward jump that resets the queues; None disables.
    """

    def __init__(
        self,
        num_inputs: int,
        queue_size: int,
        slop_s: float,
        callback: Callable[..., Any] | None = None,
        *,
        offsets_ns: Sequence[int] | None = None,
        jump_back_ns: int | None = None,
    ):
        if num_inputs < 2:
            raise ValueError(f"need at least 2 inputs, got {num_inputs}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if not slop_s > 0:
            raise ValueError(f"slop must be > 0 s, got {slop_s}")
        self.queue_size = queue_size
        self.slop_ns = round(slop_s * 1e9)
        self.callback = callback
        self.offsets_ns = list(offsets_ns) if offsets_ns is not None else [0] * num_inputs
        if len(self.offsets_ns) != num_inputs:
            raise ValueError(f"{len(self.offsets_ns)} offsets for {num_inputs} inputs")
        self.jump_back_ns = jump_back_ns
        self.queues: list[dict[int, Any]] = [{} for _ in range(num_inputs)]
        self._newest = [None] * num_inputs
        self.stats = SyncStats([0] * num_inputs, [0] * num_inputs)
        self.lock = threading.Lock()

    def add(self, index: int, stamp_ns: int, payload: Any) -> tuple | None:
        """Queue one message; return the emitted set of payloads, if any."""
        with self.lock:
            t = int(stamp_ns) - self.offsets_ns[index]
            self.stats.received[index] += 1
            newest = self._newest[index]
            if (
                self.jump_back_ns is not None
                and newest is not None
                and t < newest - self.jump_back_ns
            ):
                self._reset()
            self._newest[index] = t if self._newest[index] is None else max(self._newest[index], t)
            mine = self.queues[index]
            mine[t] = payload
            while len(mine) > self.queue_size:
                del mine[min(mine)]
                self.stats.evicted[index] += 1
            found = self._match(index, t)
            if found is None:
                return None
            payloads = tuple(q.pop(s) for q, s in zip(self.queues, found))
            self.stats.emitted += 1
            if self.callback is not None:
                self.callback(*payloads)
            return payloads

    def reset(self) -> None:
        """Drop every queued message (e.g. /clock jumped back); counted in ``stats.resets``."""
        with self.lock:
            self._reset()

    def _reset(self) -> None:
        for q in self.queues:
            q.clear()
        self._newest = [None] * len(self.queues)
        self.stats.resets += 1

    def _match(self, index: int, t: int) -> list[int] | None:
        candidates = []
        for i, q in enumerate(self.queues):
            if i == index:
                continue
            # stable sort by distance: ties keep queue insertion order, as upstream
            near = sorted((s for s in q if abs(s - t) <= self.slop_ns), key=lambda s: abs(s - t))
            if not near:
                return None
            candidates.append(near)
        for combo in itertools.product(*candidates):
            stamps = list(combo)
            stamps.insert(index, t)
            if max(stamps) - min(stamps) < self.slop_ns:
                return stamps
        return None
