"""Leaderboards (overall, by role, topic, platform and period), rising and slipping people, and the
preview of a new weight set (who moves up or down, and by how much) before it is activated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, cast

import numpy as np
from pydantic import Field as PydField
from sqlalchemy import Table, and_, func, select
from sqlmodel import Session, col

from crm.profiles.models import Platform, Profile, ProfileRole
from crm.profiles.search import ListQuery, TeamFilter, matching_ids
from crm.ranking import scoring
from crm.ranking.explain import latest_run
from crm.ranking.models import RunStatus, ScoreRun, ScoreSnapshot
from crm.schemas import InputModel

SNAP = cast(Table, ScoreSnapshot.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]


class Period(StrEnum):
    all = "all"
    d30 = "30"
    d90 = "90"
    d365 = "365"


class BoardQuery(InputModel):
    """Which leaderboard: everyone, or people of one role, topic or platform; all time (the combined
    score) or one period (advocacy earned in the last 30, 90 or 365 days)."""

    role: ProfileRole | None = None
    topic: str = PydField(default="", max_length=50)
    platform: Platform | None = None
    period: Period = Period.all
    include_team: bool = PydField(default=False, description="Team members are left out unless this is true")
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=500)

    def people(self) -> ListQuery:
        return ListQuery(role=self.role, topic=self.topic, platform=self.platform,
                         team=TeamFilter.any if self.include_team else TeamFilter.no)


@dataclass
class BoardRow:
    position: int
    profile_id: int
    name: str
    roles: list[str]
    is_team_member: bool
    score: float
    rank: int | None
    level: int
    reach: float
    advocacy: float
    influence: float
    period_advocacy: float | None  # advocacy earned in the period, for period boards


@dataclass
class Board:
    query: BoardQuery
    rows: list[BoardRow]
    total: int
    run: ScoreRun | None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))


def board_parts(query: BoardQuery, run: ScoreRun) -> tuple[Any, list[Any], list[Any]]:
    """The board's metric, conditions and order on that run's snapshot: one definition for the page,
    the API and the CSV export."""
    metric = SNAP.c.score if query.period == Period.all else SNAP.c[f"advocacy_{query.period.value}"]
    where = [SNAP.c.run_id == run.id, SNAP.c.profile_id.in_(matching_ids(query.people()).order_by(None))]
    if query.period != Period.all:
        where.append(metric > 0)  # a period board lists people who did something in it
    return metric, where, [metric.desc(), SNAP.c.advocacy.desc(), P.c.id]


def leaderboard(query: BoardQuery, *, session: Session) -> Board:
    run = latest_run(session=session)
    if run is None:
        return Board(query, [], 0, None)
    metric, where, order = board_parts(query, run)
    total = session.scalar(select(func.count()).select_from(SNAP).where(*where)) or 0
    offset = (query.page - 1) * query.per_page
    rows = session.exec(
        select(P.c.id, P.c.display_name, P.c.roles, P.c.is_team_member, SNAP.c.score, SNAP.c.rank, SNAP.c.level,
               SNAP.c.reach, SNAP.c.advocacy, SNAP.c.influence, metric)
        .join(P, P.c.id == SNAP.c.profile_id).where(*where)
        .order_by(*order).limit(query.per_page).offset(offset)
    ).all()  # type: ignore[call-overload]
    board_rows = [
        BoardRow(offset + i + 1, pid, name, list(roles or []), bool(team), score, rank, level, reach, advocacy,
                 influence, None if query.period == Period.all else float(value))
        for i, (pid, name, roles, team, score, rank, level, reach, advocacy, influence, value) in enumerate(rows)
    ]
    return Board(query, board_rows, int(total), run)


@dataclass
class Mover:
    profile_id: int
    name: str
    level: int
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


def _run_before(run: ScoreRun, days: int, *, session: Session) -> ScoreRun | None:
    """The latest finished run at least `days` before `run` (or the oldest one there is) with the same
    weights: after new weights, everyone's score moves, and that is not anybody rising."""
    done = and_(col(ScoreRun.status) == RunStatus.done.value, col(ScoreRun.weight_version) == run.weight_version)
    earlier = session.exec(select(ScoreRun).where(done, col(ScoreRun.as_of) <= run.as_of - timedelta(days=days))
                           .order_by(col(ScoreRun.as_of).desc()).limit(1)).scalars().first()  # type: ignore[call-overload]
    if earlier is None:
        earlier = session.exec(select(ScoreRun).where(done, col(ScoreRun.id) != run.id)
                               .order_by(col(ScoreRun.as_of)).limit(1)).scalars().first()  # type: ignore[call-overload]
    return earlier if earlier is not None and earlier.as_of < run.as_of else None


def _compare(column: str, *, session: Session, days: int, limit: int, falling: bool,
             only_levels: tuple[int, ...] | None = None) -> list[Mover]:
    run = latest_run(session=session)
    before = _run_before(run, days, session=session) if run else None
    if run is None or before is None:
        return []
    old = SNAP.alias("old")
    change = SNAP.c[column] - old.c[column]
    where = [SNAP.c.run_id == run.id, P.c.is_team_member.is_(False), change < 0 if falling else change > 0]
    if only_levels:
        where.append(old.c.level.in_(only_levels))
    rows = session.exec(
        select(P.c.id, P.c.display_name, SNAP.c.level, old.c[column], SNAP.c[column])
        .join(old, and_(old.c.profile_id == SNAP.c.profile_id, old.c.run_id == before.id))
        .join(P, P.c.id == SNAP.c.profile_id).where(*where)
        .order_by(change.asc() if falling else change.desc(), P.c.id).limit(limit)
    ).all()  # type: ignore[call-overload]
    return [Mover(int(pid), name, int(level), float(b), float(a)) for pid, name, level, b, a in rows]


def rising(*, session: Session, days: int = 30, limit: int = 10) -> list[Mover]:
    """Biggest score gains since the computation `days` ago."""
    return _compare("score", session=session, days=days, limit=limit, falling=False)


def slipping(*, session: Session, days: int = 30, limit: int = 10) -> list[Mover]:
    """Champions and advocates (then) whose advocacy fell the most since `days` ago."""
    return _compare("advocacy", session=session, days=days, limit=limit, falling=True,
                    only_levels=(scoring.CHAMPION, scoring.ADVOCATE))


# ---- previewing a weight set --------------------------------------------------------------------

@dataclass
class PreviewRow:
    profile_id: int
    name: str
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    level_before: int
    level_after: int

    @property
    def moved(self) -> int:
        """Places gained (positive) or lost (negative)."""
        return self.rank_before - self.rank_after


@dataclass
class Preview:
    people: int
    up: list[PreviewRow]
    down: list[PreviewRow]
    moved_up: int
    moved_down: int
    level_changes: list[PreviewRow]
    level_counts_before: dict[int, int]
    level_counts_after: dict[int, int]
    top_before: list[PreviewRow]
    top_after: list[PreviewRow]


def preview(new_weights: dict[str, Any], *, session: Session, limit: int = 20) -> Preview:
    """Everyone's scores under the active weights and under `new_weights`, on today's data: who
    moves up, who moves down and by how much, and whose level changes. Nothing is written."""
    from crm.ranking.service import compute, current_inputs, weights_in_use

    _version, current = weights_in_use(session=session)
    kinds = sorted(set(current["kinds"]) | set(new_weights["kinds"]))
    inputs = current_inputs(session.connection(), contribution_kinds=kinds)
    before, after = compute(inputs, current), compute(inputs, new_weights)
    names = dict(session.exec(select(P.c.id, P.c.display_name)).all())  # type: ignore[call-overload]
    # Levels as advocacy puts them under each set, without the grace of two computations: where people
    # end up (a drop takes effect at the second computation below the threshold).
    level_before = np.asarray(scoring.level_for(before.advocacy, current["levels"]))
    level_after = np.asarray(scoring.level_for(after.advocacy, new_weights["levels"]))

    def row(i: int) -> PreviewRow:
        pid = int(inputs.ids[i])
        return PreviewRow(pid, names.get(pid, ""), int(before.rank[i]), int(after.rank[i]), float(before.score[i]),
                          float(after.score[i]), int(level_before[i]), int(level_after[i]))

    ranked = np.flatnonzero(before.rank > 0)  # team members are neither ranked nor counted here
    moved = before.rank[ranked] - after.rank[ranked]
    up = ranked[np.argsort(-moved, kind="stable")]
    down = ranked[np.argsort(moved, kind="stable")]
    changed_levels = ranked[level_before[ranked] != level_after[ranked]]
    return Preview(
        people=len(ranked),
        up=[row(i) for i in up[:limit] if before.rank[i] > after.rank[i]],
        down=[row(i) for i in down[:limit] if before.rank[i] < after.rank[i]],
        moved_up=int((moved > 0).sum()), moved_down=int((moved < 0).sum()),
        level_changes=[row(i) for i in changed_levels[:limit * 5]],
        level_counts_before={lv: int((level_before[ranked] == lv).sum()) for lv in (1, 2, 3, 4)},
        level_counts_after={lv: int((level_after[ranked] == lv).sum()) for lv in (1, 2, 3, 4)},
        top_before=[row(i) for i in ranked[np.argsort(before.rank[ranked])][:10]],
        top_after=[row(i) for i in ranked[np.argsort(after.rank[ranked])][:10]],
    )
