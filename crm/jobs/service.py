"""Jobs: queue, claim, run, heartbeat and recover the Job rows that pages poll and the CLI shows.

The Job row is the record. Execution: on PostgreSQL the job is deferred to procrastinate once the
transaction that created it commits (crm.jobs.queue; `crm worker` runs it); on SQLite the
in-process worker (crm.jobs.worker) claims queued rows. Task functions are idempotent and commit
in batches, so a job whose worker died (no heartbeat for `job_stale_seconds`) is queued again and
resumes where its last batch ended.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, event, select, update
from sqlmodel import Session, col

from crm.db import utcnow, write_bind
from crm.errors import NotFound
from crm.jobs.models import Job, JobStatus

log = logging.getLogger("crm.jobs")
J = cast(Table, Job.__table__)  # type: ignore[attr-defined]

# kind -> "module:function"; the function takes (engine, job_id, progress=...) and is idempotent.
TASKS = {
    "import": "crm.imports.importer:run_import_job",
    "rank": "crm.ranking.service:run_rank_job",
    "communities": "crm.graph.service:run_communities_job",
    "listen": "crm.listening.match:run_listen_job",
    "deliver": "crm.listening.delivery:run_deliver_job",
}


def task_for(kind: str) -> Callable[..., Any]:
    module, name = TASKS[kind].split(":")
    return cast(Callable[..., Any], getattr(importlib.import_module(module), name))


def enqueue(kind: str, params: dict[str, Any], *, session: Session, title: str = "", created_by_id: int | None = None) -> Job:
    """A queued Job; on PostgreSQL it is handed to procrastinate when this transaction commits."""
    if kind not in TASKS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, params=params, title=title[:200], created_by_id=created_by_id)
    session.add(job)
    session.flush()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        url = cast(Engine, bind).url.render_as_string(hide_password=False)
        job_id = job.id

        def _defer(_session: Session) -> None:
            from crm.jobs import queue

            queue.defer(url, cast(int, job_id))

        event.listen(session, "after_commit", _defer, once=True)
    return job


def get_job(job_id: int, *, session: Session) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.")
    return job


def list_jobs(*, session: Session, kind: str | None = None, limit: int = 50, offset: int = 0) -> list[Job]:
    query = select(Job).order_by(col(Job.id).desc()).limit(limit).offset(offset)
    if kind:
        query = query.where(col(Job.kind) == kind)
    return list(session.exec(query).scalars())  # type: ignore[call-overload]


def claim(engine: Engine, job_id: int | None = None, *, stale_seconds: int = 60) -> int | None:
    """Mark a queued job (this one, or the oldest) running and return its id; None if there is none.
    On PostgreSQL the row is locked with FOR UPDATE SKIP LOCKED so two workers never take one job."""
    bind = write_bind(engine)
    with bind.begin() as conn:
        query = select(J.c.id, J.c.status, J.c.heartbeat_at).order_by(J.c.id).limit(1)
        stale = utcnow() - timedelta(seconds=stale_seconds)
        query = query.where(J.c.id == job_id) if job_id is not None else query.where(J.c.status == JobStatus.queued.value)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        running_elsewhere = row.status == JobStatus.running.value and row.heartbeat_at and row.heartbeat_at > stale
        if row.status not in (JobStatus.queued.value, JobStatus.running.value) or running_elsewhere:
            return None
        now = utcnow()
        conn.execute(update(J).where(J.c.id == row.id).values(status=JobStatus.running.value, heartbeat_at=now,
                                                              started_at=now, error=""))
        return int(row.id)


def has_work(engine: Engine, *, stale_seconds: int = 60) -> bool:
    """A read, without the write lock: is any job queued, or running with no recent heartbeat? The
    worker polls with this, so an idle one never takes SQLite's write lock."""
    stale = utcnow() - timedelta(seconds=stale_seconds)
    waiting = (J.c.status == JobStatus.queued.value) | (
        (J.c.status == JobStatus.running.value) & ((J.c.heartbeat_at < stale) | J.c.heartbeat_at.is_(None)))
    with engine.connect() as conn:
        return conn.execute(select(J.c.id).where(waiting).limit(1)).first() is not None


def recover_stale(engine: Engine, *, stale_seconds: int = 60) -> list[int]:
    """Queue again the running jobs whose worker stopped beating (killed, machine lost)."""
    stale = utcnow() - timedelta(seconds=stale_seconds)
    with write_bind(engine).begin() as conn:
        ids = [int(i) for i in conn.execute(select(J.c.id).where(
            J.c.status == JobStatus.running.value, (J.c.heartbeat_at < stale) | J.c.heartbeat_at.is_(None))).scalars()]
        if ids:
            conn.execute(update(J).where(J.c.id.in_(ids)).values(status=JobStatus.queued.value))
    if ids:
        log.warning("jobs %s had no heartbeat for %ss: queued again", ids, stale_seconds)
    return ids


def beat(engine: Engine, job_id: int) -> None:
    with write_bind(engine).begin() as conn:
        conn.execute(update(J).where(J.c.id == job_id, J.c.status == JobStatus.running.value).values(heartbeat_at=utcnow()))


def run_claimed(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None,
                heartbeat_seconds: float = 10.0, **task_options: Any) -> str:
    """Run a job this worker has claimed; failures are recorded on the row, never raised.
    `task_options` go to the task function (the seed loader hands the import its validated rows)."""
    with engine.connect() as conn:
        kind = conn.execute(select(J.c.kind).where(J.c.id == job_id)).scalar_one()
    stop = threading.Event()

    def _beat() -> None:
        while not stop.wait(heartbeat_seconds):
            try:
                beat(engine, job_id)
            except Exception:  # a busy database: the next beat will do
                log.debug("heartbeat of job %s skipped", job_id, exc_info=True)

    beater = threading.Thread(target=_beat, name=f"job-{job_id}-heartbeat", daemon=True)
    beater.start()
    try:
        outcome = task_for(kind)(engine, job_id, progress=progress, **task_options)
        return str(getattr(outcome, "status", JobStatus.done.value))
    except Exception as exc:
        log.exception("job %s failed", job_id)
        with write_bind(engine).begin() as conn:
            conn.execute(update(J).where(J.c.id == job_id).values(
                status=JobStatus.failed.value, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow()))
        return JobStatus.failed.value
    finally:
        stop.set()
        beater.join(timeout=5)


def run_job(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None,
            stale_seconds: int = 60, **task_options: Any) -> str | None:
    """Claim and run one job now (the CLI, the demo, procrastinate's task). None if another worker has it."""
    if claim(engine, job_id, stale_seconds=stale_seconds) is None:
        return None
    return run_claimed(engine, job_id, progress=progress, **task_options)


def run_pending(engine: Engine, *, stale_seconds: int = 60) -> int:
    """Run every queued job, one after another; returns how many ran."""
    ran = 0
    recover_stale(engine, stale_seconds=stale_seconds)
    while (job_id := claim(engine, stale_seconds=stale_seconds)) is not None:
        run_claimed(engine, job_id)
        ran += 1
    return ran
