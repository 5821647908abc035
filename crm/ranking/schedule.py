"""Work the job workers queue without anyone asking: they call `rank_tick` every `rank_check_seconds`;
it queues a score recompute when data or weights changed since the last run (`rank_after_changes`)
or the last run is older than `rank_every_hours`, and the communities job when a large graph changed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from crm.db import serialize_writes, write_bind
from crm.settings import Settings


def rank_tick(engine: Engine, settings: Settings) -> Callable[[], object]:
    """Also queues the communities job when a large graph changed (crm.graph.service)."""

    def _tick() -> object:
        from crm.graph.service import COMMUNITIES_JOB, communities_due
        from crm.jobs import service as jobs
        from crm.ranking.service import tick

        queued = tick(engine, every_hours=settings.rank_every_hours, after_changes=settings.rank_after_changes)
        with Session(engine) as session:
            due = communities_due(session=session)
        if due:
            with Session(write_bind(engine)) as session:
                serialize_writes(session, "communities-request")
                if communities_due(session=session):
                    jobs.enqueue(COMMUNITIES_JOB, {}, session=session, title="Find communities")
                session.commit()
        return queued

    return _tick
