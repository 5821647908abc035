"""The "not yet thanked" queue: people who contributed in the last N days and whom we have not
recognised since, most valuable first; and the one-click thank-you.

Precisely: a person's *unthanked contributions* are their interactions of a contribution kind
(crm.interactions.models.CONTRIBUTION_KINDS) that happened in the last `days` days and after their
latest Recognition row (any kind: thanks, points, badge, reward). A person is in the queue when they
have at least one. Each unthanked contribution is worth the points it earned in the ledger (earned
entries not reversed) or, when it earned none (no rule, held for review), its advocacy weight
(the active weight set) × POINTS_PER_WEIGHT, the same scale as the default point rules. People are
ordered by the sum of that worth, then by their latest contribution.

One grouped query answers a page (with the total through a window count); a second, small one finds
the best item of the people on that page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import Field as PydField
from sqlalchemy import Connection, Float, Table, Text, and_, case, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlmodel import Session

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import InvalidInput
from crm.i18n import gettext
from crm.interactions import log
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction, InteractionIn, InteractionKind
from crm.profiles.models import Profile, ProfileRole
from crm.profiles.search import _json_element
from crm.ranking.service import weights_in_use
from crm.recognition import ledger
from crm.recognition.ledger import _people
from crm.recognition.models import MAX_POINTS, AwardIn, Badge, EntryKind, PointEntry, Recognition, RecognitionKind
from crm.schemas import DbId, InputModel

X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
E = cast(Table, PointEntry.__table__)  # type: ignore[attr-defined]
R = cast(Table, Recognition.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]

KINDS = sorted(k.value for k in CONTRIBUTION_KINDS)
POINTS_PER_WEIGHT = 5.0
DAY_CHOICES = (7, 30, 90)
THANKS_PREFIX = "Thank-you"


class QueueQuery(InputModel):
    """Who is waiting for a thank-you (the page's filters and the API's query)."""

    days: int = PydField(default=30, ge=1, le=365, description="Contributions in the last N days")
    role: ProfileRole | None = PydField(default=None, description="Only people with this role")
    topic: str = PydField(default="", max_length=100, description="Only people with this topic")
    team: bool = PydField(default=False, description="Include team members (left out by default)")
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=25, ge=1, le=200)


class ThankIn(InputModel):
    profile_ids: list[DbId] = PydField(min_length=1, max_length=500)
    note: str = PydField(default="", max_length=900, description="What we thanked them for (on their timeline)")


@dataclass
class QueueRow:
    profile_id: int
    name: str
    level: int
    contributions: int
    points: int  # earned in the ledger by the unthanked contributions
    value: float  # what orders the queue: points, or advocacy weight × 5 where none were earned
    first_at: datetime
    last_at: datetime
    last_recognised_at: datetime | None
    by_kind: dict[str, int] = field(default_factory=dict)
    best_title: str = ""
    best_kind: str = ""
    best_at: datetime | None = None
    best_interaction_id: int | None = None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    days: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _worth(session: Session) -> Any:
    """The advocacy weight × 5 of an interaction's kind (for those that earned no points)."""
    _, weights = weights_in_use(session=session)
    kinds = weights.get("kinds", {})
    return case(*[(X.c.kind == kind, float(kinds.get(kind, 0.0)) * POINTS_PER_WEIGHT) for kind in KINDS],
                else_=0.0)


def _unthanked(session: Session, query: QueueQuery, now: datetime, profile_ids: Sequence[int] | None = None) -> Any:
    """One row per unthanked contribution: id, person, kind, title, date, points, worth. Each row costs
    two index probes: a recognition at or after it (none: unthanked), and its earned entries."""
    since = now - timedelta(days=query.days)
    reversal = E.alias("rev")
    earned = (select(func.sum(case((reversal.c.id.is_(None), E.c.amount), else_=0)))
              .select_from(E.outerjoin(reversal, reversal.c.reverses_id == E.c.id))
              .where(E.c.interaction_id == X.c.id, E.c.kind == EntryKind.earned.value)
              .scalar_subquery())  # NULL when it earned nothing
    thanked_since = select(R.c.id).where(R.c.profile_id == X.c.profile_id, R.c.created_at >= X.c.occurred_at).exists()
    # lower(kind): the kind's own index would win on SQLite and read most of the table; the date's reads the window.
    where = [func.lower(X.c.kind).in_(KINDS), X.c.occurred_at >= since, X.c.occurred_at <= now, ~thanked_since]
    if profile_ids is not None:
        where.append(X.c.profile_id.in_(list(profile_ids)))
    inner = select(X.c.id, X.c.profile_id, X.c.kind, X.c.title, X.c.occurred_at, earned.label("earned"),
                   _worth(session).label("weight")).where(*where).subquery("i")
    return select(inner.c.id, inner.c.profile_id, inner.c.kind, inner.c.title, inner.c.occurred_at,
                  func.coalesce(inner.c.earned, 0).label("points"),
                  func.coalesce(sql_cast(inner.c.earned, Float), inner.c.weight).label("worth")).subquery("u")


def queue(query: QueueQuery | None = None, *, session: Session, now: datetime | None = None,
          days: int | None = None) -> QueuePage:
    """A page of the queue, most valuable first."""
    query = query or QueueQuery()
    if days is not None:
        query = query.model_copy(update={"days": days})
    now = now or utcnow()
    u = _unthanked(session, query, now)
    people = [P.c.id == u.c.profile_id]
    if not query.team:
        people.append(P.c.is_team_member.is_(False))
    if query.role:
        people.append(sql_cast(P.c.roles, Text).like(_json_element(query.role.value), escape="\\"))
    if query.topic:
        people.append(sql_cast(P.c.topics, Text).like(_json_element(query.topic.replace("\x00", "")), escape="\\"))
    value = func.sum(u.c.worth)
    statement = (select(u.c.profile_id, P.c.display_name, P.c.level, func.count().label("n"),
                        func.sum(u.c.points).label("points"), value.label("value"),
                        func.min(u.c.occurred_at).label("first_at"), func.max(u.c.occurred_at).label("last_at"),
                        func.count().over().label("total"),
                        *[func.count().filter(u.c.kind == kind).label(f"k_{kind}") for kind in KINDS])
                 .select_from(u.join(P, and_(*people)))
                 .group_by(u.c.profile_id, P.c.display_name, P.c.level)
                 .order_by(value.desc(), func.max(u.c.occurred_at).desc(), u.c.profile_id)
                 .offset((query.page - 1) * query.per_page).limit(query.per_page))
    conn = session.connection()
    rows: list[QueueRow] = []
    total = 0
    for row in conn.execute(statement).mappings():
        total = int(row["total"])
        rows.append(QueueRow(
            profile_id=row["profile_id"], name=row["display_name"], level=int(row["level"]),
            contributions=int(row["n"]), points=int(row["points"] or 0), value=float(row["value"] or 0),
            first_at=row["first_at"], last_at=row["last_at"], last_recognised_at=None,
            by_kind={kind: int(row[f"k_{kind}"]) for kind in KINDS if row[f"k_{kind}"]}))
    if not rows and query.page > 1:
        total = count(query, session=session, now=now)
    _add_best(rows, session, query, now)
    return QueuePage(rows=rows, total=total, page=query.page, per_page=query.per_page, days=query.days)


def count(query: QueueQuery | None = None, *, session: Session, now: datetime | None = None) -> int:
    query = (query or QueueQuery()).model_copy(update={"page": 1, "per_page": 1})
    u = _unthanked(session, query, now or utcnow())
    people = [P.c.id == u.c.profile_id]
    if not query.team:
        people.append(P.c.is_team_member.is_(False))
    if query.role:
        people.append(sql_cast(P.c.roles, Text).like(_json_element(query.role.value), escape="\\"))
    if query.topic:
        people.append(sql_cast(P.c.topics, Text).like(_json_element(query.topic.replace("\x00", "")), escape="\\"))
    statement = select(func.count(func.distinct(u.c.profile_id))).select_from(u.join(P, and_(*people)))
    return int(session.connection().execute(statement).scalar_one())


def _add_best(rows: list[QueueRow], session: Session, query: QueueQuery, now: datetime) -> None:
    """Each row's most valuable unthanked contribution (the latest among equals) and latest recognition."""
    if not rows:
        return
    u = _unthanked(session, query, now, [r.profile_id for r in rows])
    rank = func.row_number().over(partition_by=u.c.profile_id, order_by=(u.c.worth.desc(), u.c.occurred_at.desc(),
                                                                          u.c.id.desc())).label("rn")
    ranked = select(u.c.id, u.c.profile_id, u.c.kind, u.c.title, u.c.occurred_at, rank).subquery("ranked")
    by_person = {r.profile_id: r for r in rows}
    conn = session.connection()
    for pid, last in conn.execute(select(R.c.profile_id, func.max(R.c.created_at)).where(
            R.c.profile_id.in_(list(by_person))).group_by(R.c.profile_id)):
        by_person[pid].last_recognised_at = last
    for item in conn.execute(select(ranked).where(ranked.c.rn == literal(1))):
        row = by_person[item.profile_id]
        row.best_interaction_id, row.best_kind, row.best_title, row.best_at = (
            item.id, item.kind, item.title or "", item.occurred_at)


def waiting(profile_ids: Sequence[int], *, conn: Connection, days: int = 30, now: datetime | None = None) -> set[int]:
    """Which of these people are in the queue (team members included): for tests and the person page."""
    if not profile_ids:
        return set()
    now = now or utcnow()
    thanked_since = select(R.c.id).where(R.c.profile_id == X.c.profile_id, R.c.created_at >= X.c.occurred_at).exists()
    statement = (select(X.c.profile_id).distinct()
                 .where(X.c.profile_id.in_(list(profile_ids)), X.c.kind.in_(KINDS),
                        X.c.occurred_at >= now - timedelta(days=days), X.c.occurred_at <= now, ~thanked_since))
    return {pid for (pid,) in conn.execute(statement)}


# ---- recognising -------------------------------------------------------------------------------


def thank(profile_ids: list[int], note: str, *, session: Session, actor: Actor) -> int:
    """A thank-you to each person: a Recognition row (kind thanks; they leave the queue) and a note on
    their timeline ("Thank-you: …"). Audited once for the batch. How many people were thanked."""
    note = (note or "").strip()
    if len(note) > 900:
        raise InvalidInput(gettext("Keep the note under 900 characters."),
                           field_errors={"note": gettext("Use at most %(n)s characters.") % {"n": 900}})
    people = _people(profile_ids, session=session)
    if not people:
        raise InvalidInput(gettext("Choose at least one person."),
                           field_errors={"profile_ids": gettext("Choose at least one person.")})
    title = f"{THANKS_PREFIX}: {note}" if note else f"{THANKS_PREFIX}"
    for person in people:
        pid = person.id or 0
        log.log_interaction(pid, InteractionIn(kind=InteractionKind.note, title=title[:300], body=note),
                            session=session, actor=actor)
        session.add(Recognition(profile_id=pid, kind=RecognitionKind.thanks.value, note=note,
                                created_by_id=actor.user_id))
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.recognition_thanks, object_type="recognition",
                 after={"profile_ids": [p.id for p in people], "note": note})
    return len(people)


class RecogniseIn(InputModel):
    """The queue's bulk "award": points, a badge, or both, to each ticked person in one step."""

    profile_ids: list[DbId] = PydField(min_length=1, max_length=500)
    points: int = PydField(default=0, ge=0, le=MAX_POINTS)
    reason: str = PydField(default="", max_length=300)
    badge_id: DbId | None = None


@dataclass
class Recognised:
    people: int
    points: int
    badge: str | None
    badge_people: int = 0  # who got the badge now (holders are skipped)


def recognise(data: RecogniseIn, *, session: Session, actor: Actor) -> Recognised:
    """Points (through the ledger) and/or a badge (skipping holders) for each person; at least one of the two."""
    from crm.recognition import badges  # noqa: PLC0415  (badges imports the ledger, as this module does)

    if data.points <= 0 and data.badge_id is None:
        raise InvalidInput(gettext("Give some points, choose a badge, or both."),
                           field_errors={"points": gettext("Give some points, choose a badge, or both.")})
    badge = session.get(Badge, data.badge_id) if data.badge_id is not None else None
    if data.badge_id is not None and (badge is None or not badge.active):
        raise InvalidInput(gettext("Choose a badge."), field_errors={"badge_id": gettext("Choose a badge.")})
    reason = data.reason or gettext("Thank you for your contributions")
    people = len(_people(data.profile_ids, session=session))
    if data.points > 0:
        ledger.award(AwardIn(profile_ids=data.profile_ids, points=data.points, reason=reason), session=session,
                     actor=actor)
    awarded = people
    if badge is not None:  # people who hold it already keep theirs and are not counted
        awarded = len(badges.award_badge(badge.id or 0, list(data.profile_ids), session=session, actor=actor,
                                         reason=reason))
    return Recognised(people=people, points=data.points, badge=badge.name if badge else None, badge_people=awarded)
