"""When scores are recomputed without anyone asking: the job workers call `rank_tick` every
`rank_check_seconds`; it queues a recompute job when data or weights changed since the last run
(`rank_after_changes`) or the last run is older than `rank_every_hours`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from crm.settings import Settings


def rank_tick(engine: Engine, settings: Settings) -> Callable[[], object]:
    def _tick() -> object:
        from crm.ranking.service import tick

        return tick(engine, every_hours=settings.rank_every_hours, after_changes=settings.rank_after_changes)

    return _tick
