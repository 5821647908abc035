"""Points leaderboards: by lifetime points or by the points of the last 30, 90 or 365 days, for
everyone or one topic or role, team members left out unless asked.

Lifetime points are what was earned and awarded, net of reversals (spending does not lower them: the
ledger's LIFETIME_KINDS). For a period, each entry counts on the day of what it is for:

* an earned entry on the day its interaction happened (an imported year of history lands in the
  year it happened, not on the day of the import);
* a reversal of an earned entry on that same day (so correcting an old interaction does not make
  this month negative);
* anything else (points by hand, their reversals) on the day it was written.

The public leaderboard is the same lifetime board, restricted to people whose consent allows
featuring (Profile.may_feature) and never showing team members."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, cast

from pydantic import Field as PydField
from sqlalchemy import Table, func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from crm.db import utcnow
from crm.interactions.models import Interaction
from crm.profiles.models import Profile, ProfileRole
from crm.profiles.search import ListQuery, TeamFilter, matching_ids
from crm.recognition import ledger
from crm.recognition.models import LIFETIME_KINDS, Badge, BadgeAward, PointEntry
from crm.schemas import InputModel

E = cast(Table, PointEntry.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
B = cast(Table, Badge.__table__)  # type: ignore[attr-defined]
BA = cast(Table, BadgeAward.__table__)  # type: ignore[attr-defined]

LIFETIME = [k.value for k in LIFETIME_KINDS]


class PointsPeriod(StrEnum):
    all = "all"
    d30 = "30"
    d90 = "90"
    d365 = "365"


class PointsQuery(InputModel):
    """Which points leaderboard: lifetime or one period; everyone, one topic or one role."""

    period: PointsPeriod = PydField(default=PointsPeriod.all,
                                    description="all: lifetime points; 30, 90, 365: points of the last days")
    topic: str = PydField(default="", max_length=50, description="Only people with this topic")
    role: ProfileRole | None = PydField(default=None, description="Only people with this role")
    include_team: bool = PydField(default=False, description="Team members are left out unless this is true")
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=500)


@dataclass
class PointsRow:
    position: int
    profile_id: int
    name: str
    is_team_member: bool
    points: int  # the board's points: lifetime, or in the period
    lifetime: int
    current: int  # spendable
    badges: list[tuple[str, str]] = field(default_factory=list)  # (symbol, name)


@dataclass
class PointsBoard:
    query: PointsQuery
    rows: list[PointsRow]
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))


def _points_by_person(period: PointsPeriod) -> Select[Any]:
    """(profile_id, points) for everyone with points on this board (lifetime, or in the period)."""
    if period == PointsPeriod.all:
        points = func.sum(E.c.amount)
        return (select(E.c.profile_id.label("profile_id"), points.label("points"))
                .where(E.c.kind.in_(LIFETIME)).group_by(E.c.profile_id))
    since = utcnow() - timedelta(days=int(period.value))
    original = E.alias("original")
    own = X.alias("own")
    theirs = X.alias("theirs")
    # The day an entry counts on: its interaction's, the reversed entry's interaction's, or its own.
    day = func.coalesce(own.c.occurred_at, theirs.c.occurred_at, E.c.created_at)
    points = func.sum(E.c.amount)
    return (select(E.c.profile_id.label("profile_id"), points.label("points"))
            .select_from(E.outerjoin(own, own.c.id == E.c.interaction_id)
                         .outerjoin(original, original.c.id == E.c.reverses_id)
                         .outerjoin(theirs, theirs.c.id == original.c.interaction_id))
            .where(E.c.kind.in_(LIFETIME), day >= since).group_by(E.c.profile_id))


def badges_of(profile_ids: Sequence[int], *, session: Session) -> dict[int, list[tuple[str, str]]]:
    """Each person's badges (symbol, name), in the order they were awarded."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(profile_ids), 500):
        for pid, symbol, name in session.execute(
                select(BA.c.profile_id, B.c.symbol, B.c.name).join(B, B.c.id == BA.c.badge_id)
                .where(BA.c.profile_id.in_(list(profile_ids[start:start + 500])))
                .order_by(BA.c.awarded_at, BA.c.id)):
            out[pid].append((symbol, name))
    return dict(out)


def _board(query: PointsQuery, people: Any, *, session: Session) -> PointsBoard:
    scores = _points_by_person(query.period).subquery("scores")
    where = [scores.c.points > 0, scores.c.profile_id.in_(people)]
    total = int(session.execute(select(func.count()).select_from(scores).where(*where)).scalar_one())
    offset = (query.page - 1) * query.per_page
    rows = session.execute(
        select(P.c.id, P.c.display_name, P.c.is_team_member, scores.c.points)
        .join(scores, scores.c.profile_id == P.c.id).where(*where)
        .order_by(scores.c.points.desc(), P.c.sort_name, P.c.id).offset(offset).limit(query.per_page)).all()
    ids = [row.id for row in rows]
    balances = ledger.balances(ids, conn=session.connection())
    badges = badges_of(ids, session=session)
    return PointsBoard(query, [
        PointsRow(offset + i + 1, pid, name, bool(team), int(points or 0), balances[pid].lifetime,
                  balances[pid].current, badges.get(pid, []))
        for i, (pid, name, team, points) in enumerate(rows)], total)


def leaderboard(query: PointsQuery, *, session: Session) -> PointsBoard:
    people = matching_ids(ListQuery(role=query.role, topic=query.topic,
                                    team=TeamFilter.any if query.include_team else TeamFilter.no)).order_by(None)
    board = _board(query, people, session=session)
    if not board.rows and query.page > board.pages:  # past the end (an old link): the last page
        board = _board(query.model_copy(update={"page": board.pages}), people, session=session)
    return board


def public_leaderboard(*, session: Session, limit: int = 50) -> PointsBoard:
    """The opt-in public board: lifetime points of people who may be featured, never team members."""
    people = select(P.c.id).where(P.c.may_feature.is_(True), P.c.is_team_member.is_(False))
    return _board(PointsQuery(per_page=limit), people, session=session)
