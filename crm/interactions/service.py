"""Reading the interaction history: what the dashboard and profile pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.interactions.models import CONTRIBUTION_KINDS, Interaction
from crm.profiles.models import Profile

_CONTRIBUTIONS = [k.value for k in CONTRIBUTION_KINDS]


@dataclass(frozen=True)
class Headline:
    label: str
    current: int
    previous: int

    @property
    def change_pct(self) -> float | None:
        if self.previous == 0:
            return None
        return (self.current - self.previous) / self.previous * 100


@dataclass(frozen=True)
class ContributorRow:
    profile_id: int
    display_name: str
    contributions: int


@dataclass(frozen=True)
class MonthCount:
    month: date  # the first day of the month
    count: int


def _contributions_between(start: datetime, end: datetime, *, session: Session) -> tuple[int, int]:
    row = session.exec(
        select(func.count(), func.count(func.distinct(Interaction.profile_id))).where(
            col(Interaction.kind).in_(_CONTRIBUTIONS), Interaction.occurred_at >= start, Interaction.occurred_at < end
        )
    ).one()
    return int(row[0]), int(row[1])


def headlines(*, session: Session, now: datetime, days: int = 30) -> list[Headline]:
    """This period against the one before it."""
    period = timedelta(days=days)
    cur_count, cur_people = _contributions_between(now - period, now, session=session)
    prev_count, prev_people = _contributions_between(now - 2 * period, now - period, session=session)
    new_people = session.exec(select(func.count()).select_from(Profile).where(Profile.created_at >= now - period)).one()
    prev_new = session.exec(
        select(func.count()).select_from(Profile).where(Profile.created_at >= now - 2 * period, Profile.created_at < now - period)
    ).one()
    return [
        Headline("Contributions", cur_count, prev_count),
        Headline("People contributing", cur_people, prev_people),
        Headline("People added", int(new_people), int(prev_new)),
    ]


def top_contributors(*, session: Session, since: datetime, limit: int = 8) -> list[ContributorRow]:
    """The people with the most contributions since `since`; team members are kept out of leaderboards."""
    count = func.count().label("n")
    query = (
        select(Profile.id, Profile.display_name, count)
        .join(Interaction, col(Interaction.profile_id) == Profile.id)
        .where(col(Interaction.kind).in_(_CONTRIBUTIONS), Interaction.occurred_at >= since,
               col(Profile.is_team_member).is_(False))
        .group_by(col(Profile.id), col(Profile.display_name))
        .order_by(count.desc(), col(Profile.display_name))
        .limit(limit)
    )
    rows = session.exec(query)  # type: ignore[call-overload]
    return [ContributorRow(int(pid), name, int(n)) for pid, name, n in rows]  # type: ignore[arg-type]


def contributions_by_month(*, session: Session, now: datetime, months: int = 12) -> list[MonthCount]:
    """The last `months` calendar months, this one included. Counted in Python from (occurred_at) so
    it is the same on every backend; a year is small."""
    firsts = [date(now.year, now.month, 1)]
    for _ in range(months - 1):
        previous = firsts[0] - timedelta(days=1)
        firsts.insert(0, previous.replace(day=1))
    start = datetime(firsts[0].year, firsts[0].month, 1, tzinfo=now.tzinfo)
    times = session.exec(
        select(Interaction.occurred_at).where(col(Interaction.kind).in_(_CONTRIBUTIONS), Interaction.occurred_at >= start)
    )
    counts = dict.fromkeys(firsts, 0)
    for occurred in times:
        key = date(occurred.year, occurred.month, 1)
        if key in counts:
            counts[key] += 1
    return [MonthCount(month, n) for month, n in counts.items()]
