"""Score runs and recompute jobs as the leaderboard page and the API show them: the recent runs, the
recompute job a page follows, and "recompute now" (one queued job however often it is asked for)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.errors import NotFound
from crm.jobs.models import Job, JobStatus
from crm.ranking.models import ScoreRun
from crm.ranking.service import JOB_KIND, request_recompute

ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


def recent_runs(*, session: Session, limit: int = 20) -> list[ScoreRun]:
    """The latest computations (of any status), newest first."""
    query = select(ScoreRun).order_by(col(ScoreRun.id).desc()).limit(max(1, limit))
    return list(session.exec(query))


def rank_job(job_id: int, *, session: Session) -> Job:
    """A recompute job (any other job is "not found" here)."""
    job = session.get(Job, job_id)
    if job is None or job.kind != JOB_KIND:
        raise NotFound("No such recompute job.")
    return job


def active_job(*, session: Session) -> Job | None:
    """The recompute job that is waiting or running (the waiting one when there are both)."""
    query = (select(Job).where(col(Job.kind) == JOB_KIND, col(Job.status).in_(ACTIVE))
             .order_by(col(Job.id).desc()).limit(1))
    return session.exec(query).first()


@dataclass
class Requested:
    job: Job
    created: bool  # False: one was already waiting, and that one is shown


def recompute_now(*, session: Session, actor: Actor) -> Requested:
    """Queue a recompute of everyone's scores, unless one is already waiting: then that one. Only a
    new job is audited (asking again while one waits changes nothing)."""
    job = request_recompute(session=session, reason="manual")
    if job is not None:
        job.created_by_id = actor.user_id
        session.add(job)
        session.flush()
        audit.record(session=session, actor=actor, action=AuditAction.rank_recompute, object_type="score",
                     object_id=None, after={"job": job.id, "reason": "manual"})
        return Requested(job, True)
    waiting = session.exec(select(Job).where(col(Job.kind) == JOB_KIND, col(Job.status) == JobStatus.queued.value)
                           .order_by(col(Job.id).desc()).limit(1)).first()
    if waiting is None:  # pragma: no cover - request_recompute found one a moment ago, in this transaction
        raise NotFound("No recompute job is waiting.")
    return Requested(waiting, False)
