"""A worker thread fed by a latest-wins slot of depth 1.

Producers (subscription callbacks) call :meth:`LatestWinsWorker.submit`, which never blocks: a
job that has not started yet is replaced by the newer one and counted as dropped. The worker
runs ``handler(job)`` one job at a time; an exception is caught, counted, stored with its
traceback, passed to ``on_error`` and the worker keeps going.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["LatestWinsWorker"]


class LatestWinsWorker:
    """Run ``handler`` on the newest submitted job, in a background thread.

    Args:
        handler: called with each job that is not superseded before it starts.
        on_error: called with ``(exception, traceback text)`` when ``handler`` raises.
        name: thread name.
    """

    def __init__(
        self,
        handler: Callable[[Any], Any],
        on_error: Callable[[BaseException, str], Any] | None = None,
        name: str = "vp2p-worker",
    ):
        self._handler = handler
        self._on_error = on_error
        self._cond = threading.Condition()
        self._job: Any = None
        self._has_job = False
        self._stop = False
        self._busy = False
        self.submitted = 0
        self.dropped = 0  # replaced before they started
        self.processed = 0
        self.failed = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Any) -> bool:
        """Offer a job; returns False if it replaced a pending one (which is dropped)."""
        with self._cond:
            replaced = self._has_job
            if replaced:
                self.dropped += 1
            self._job, self._has_job = job, True
            self.submitted += 1
            self._cond.notify()
            return not replaced

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._has_job and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job, self._job, self._has_job = self._job, None, False
                self._busy = True
            try:
                self._handler(job)
                with self._cond:
                    self.processed += 1
            except Exception as e:  # the worker must survive any estimator failure
                text = traceback.format_exc()
                with self._cond:
                    self.failed += 1
                    self.last_error = f"{type(e).__name__}: {e}"
                if self._on_error is not None:
                    self._on_error(e, text)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is pending or running (for tests and shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._has_job and not self._busy, timeout)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Finish the running job (a pending one is discarded) and end the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
