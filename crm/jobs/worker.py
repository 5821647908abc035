"""The in-process worker (SQLite, and `crm worker` on SQLite): a thread that polls queued Job rows."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from crm.jobs import service

log = logging.getLogger("crm.jobs")


class InProcessWorker:
    def __init__(self, engine: Engine, *, poll_seconds: float = 1.0, stale_seconds: int = 60,
                 tick: Callable[[], object] | None = None, tick_seconds: float = 60.0) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        # Periodic work (queueing a score recompute when data changed); first call after one interval.
        self.tick = tick
        self.tick_seconds = tick_seconds
        self._next_tick = time.monotonic() + tick_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="crm-job-worker", daemon=True)

    def start(self) -> InProcessWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._maybe_tick()
                if not service.has_work(self.engine, stale_seconds=self.stale_seconds):
                    self._stop.wait(self.poll_seconds)
                    continue
                service.recover_stale(self.engine, stale_seconds=self.stale_seconds)
                job_id = service.claim(self.engine, stale_seconds=self.stale_seconds)
                if job_id is not None:
                    service.run_claimed(self.engine, job_id)
                    continue
            except Exception:
                log.exception("the job worker hit an error; trying again shortly")
            self._stop.wait(self.poll_seconds)

    def _maybe_tick(self) -> None:
        if self.tick is None or time.monotonic() < self._next_tick:
            return
        self._next_tick = time.monotonic() + self.tick_seconds
        self.tick()
