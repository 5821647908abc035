"""procrastinate on PostgreSQL: Job rows are deferred as procrastinate jobs and `crm worker` runs them.

procrastinate's tables live in their own schema (migration 0008), so its connections put that
schema first in their search_path. The task only carries the Job id; the Job row stays the record.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

QUEUE_SCHEMA = "procrastinate"
QUEUE = "altavoz"
log = logging.getLogger("crm.jobs")
_lock = threading.Lock()
_apps: dict[str, Any] = {}
_engines: dict[str, Engine] = {}


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _connection_kwargs() -> dict[str, Any]:
    return {"options": f"-c search_path={QUEUE_SCHEMA}"}


def _engine(url: str) -> Engine:
    from crm.db import make_engine

    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def make_app(url: str, *, for_worker: bool = False, stale_seconds: int = 60) -> Any:
    """A procrastinate App on this database, with the job task (and, for workers, the recovery task)."""
    import procrastinate

    if for_worker:
        connector: Any = procrastinate.PsycopgConnector(conninfo=conninfo(url), kwargs=_connection_kwargs())
    else:
        connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(url), kwargs=_connection_kwargs(),
                                                       min_size=1, max_size=2)
    app = procrastinate.App(connector=connector)

    @app.task(name="altavoz.run_job", queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def run_job(job_id: int) -> None:
        from crm.jobs import service

        service.run_job(_engine(url), job_id, stale_seconds=stale_seconds)

    @app.periodic(cron="* * * * *", periodic_id="recover")
    @app.task(name="altavoz.recover_stale", queue=QUEUE)
    def recover_stale(timestamp: int) -> None:
        from crm.jobs import service

        for job_id in service.recover_stale(_engine(url), stale_seconds=stale_seconds):
            defer(url, job_id)

    @app.periodic(cron="* * * * *", periodic_id="rank")
    @app.task(name="altavoz.rank_tick", queue=QUEUE)
    def rank_tick(timestamp: int) -> None:
        # Queue a score recompute when data or weights changed, or on the schedule (crm.ranking.schedule).
        from crm.ranking.schedule import rank_tick as make_tick
        from crm.settings import Settings

        make_tick(_engine(url), Settings())()

    @app.periodic(cron="* * * * *", periodic_id="listening")
    @app.task(name="altavoz.listening_tick", queue=QUEUE)
    def listening_tick(timestamp: int) -> None:
        # Evaluate alert rules, make digests, queue alert deliveries, send due reports (crm.listening.schedule).
        from crm.listening.schedule import listening_tick as make_tick
        from crm.settings import Settings

        make_tick(_engine(url), Settings())()

    return app


def defer(url: str, job_id: int) -> None:
    """Hand Job `job_id` to procrastinate (from synchronous code: requests, the CLI)."""
    with _lock:
        app = _apps.get(url)
        if app is None:
            app = _apps[url] = make_app(url)
            app.open()
    app.configure_task("altavoz.run_job", queue=QUEUE).defer(job_id=job_id)


async def run_worker_async(url: str, *, wait: bool = True, stale_seconds: int = 60, concurrency: int = 1) -> None:
    app = make_app(url, for_worker=True, stale_seconds=stale_seconds)
    async with app.open_async():
        await app.run_worker_async(queues=[QUEUE], wait=wait, concurrency=concurrency)
