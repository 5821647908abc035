"""Relationships: the typed, directed edges between people."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.models import (
    DEFAULT_EDGE_KIND,
    EDGE_KIND_OF_INTERACTION,
    Interaction,
    Relationship,
    RelationshipOrigin,
)
from crm.profiles.models import Profile
from crm.relationships.models import Direction, RelationshipIn


@dataclass(frozen=True)
class Connection:
    profile_id: int
    display_name: str
    kind: str
    outgoing: bool  # this person -> them
    strength: float


def count_relationships(profile_id: int, *, session: Session) -> int:
    """Edges in either direction."""
    query = (
        select(func.count())
        .select_from(Relationship)
        .where(or_(col(Relationship.source_id) == profile_id, col(Relationship.target_id) == profile_id))
    )
    return int(session.exec(query).one())


def strongest_connections(profile_id: int, *, session: Session, limit: int = 12) -> list[Connection]:
    """The strongest edges in either direction, one line per edge."""
    other = Profile.__table__.alias("other")  # type: ignore[attr-defined]
    outgoing = col(Relationship.source_id) == profile_id
    query = (
        select(Relationship, other.c.id, other.c.display_name)
        .join(
            other,
            or_(
                and_(outgoing, other.c.id == Relationship.target_id),
                and_(col(Relationship.target_id) == profile_id, other.c.id == Relationship.source_id),
            ),
        )
        .order_by(col(Relationship.strength).desc(), other.c.display_name)
        .limit(limit)
    )
    return [
        Connection(int(other_id), name, rel.kind, rel.source_id == profile_id, rel.strength)
        for rel, other_id, name in session.exec(query)  # type: ignore[call-overload]
    ]


# ---- edges derived from interactions ------------------------------------------------------------
# Strength of a derived edge, from how many interactions and how recent the last one is:
#     strength = volume × recency
#     volume   = min(1, ln(1 + n) / ln(1 + 20))      n interactions; 20 or more count as "all of it"
#     recency  = 0.5 ** (days since the last one / 180)   half of it gone after six months
# rounded to 3 decimals. One interaction today: 0.228; five: 0.589; twenty: 1.0; twenty a year ago: 0.25.

STRENGTH_SATURATION = 20
STRENGTH_HALF_LIFE_DAYS = 180.0
_DERIVED_BATCH = 500
_rel = Relationship.__table__  # type: ignore[attr-defined]
_int = Interaction.__table__.c  # type: ignore[attr-defined]
_EDGE_KIND = {kind.value: edge.value for kind, edge in EDGE_KIND_OF_INTERACTION.items()}


def derived_strength(count: int, last_seen: datetime | None, now: datetime) -> float:
    """See the formula above: how many interactions, and how long since the last one."""
    if count <= 0:
        return 0.0
    volume = min(1.0, math.log1p(count) / math.log1p(STRENGTH_SATURATION))
    age_days = max(0.0, (now - last_seen).total_seconds() / 86400) if last_seen else 0.0
    return round(volume * 0.5 ** (age_days / STRENGTH_HALF_LIFE_DAYS), 3)


def edge_kind_of(interaction_kind: str) -> str:
    return _EDGE_KIND.get(interaction_kind, DEFAULT_EDGE_KIND.value)


def refresh_derived_edges(conn: DbConnection, profile_ids: Iterable[int]) -> None:
    """Recompute the edges derived from the interactions of these people that have a counterpart:
    one edge per (person, counterpart, kind from EDGE_KIND_OF_INTERACTION or DEFAULT_EDGE_KIND) with
    origin "interaction", first/last seen from those interactions and strength from how many and how
    recent (derived_strength). Manual and imported edges are left alone (a derived edge is not made
    where one of those holds the same source, target and kind); derived edges whose interactions are
    gone are removed. Core statements in batches, inside the caller's transaction: the importer calls
    it once per batch with a plain Connection, the services with `session.connection()`."""
    ids = sorted({int(pid) for pid in profile_ids if pid})
    now = utcnow()
    for start in range(0, len(ids), _DERIVED_BATCH):
        _refresh_derived_batch(conn, ids[start : start + _DERIVED_BATCH], now)


def _refresh_derived_batch(conn: DbConnection, ids: list[int], now: datetime) -> None:
    x, r = _int, _rel.c
    # What the interactions say: (source, target, edge kind) -> [count, first, last].
    wanted: dict[tuple[int, int, str], list[Any]] = {}
    rows = conn.execute(
        core_select(x.profile_id, x.counterpart_id, x.kind, func.count(), func.min(x.occurred_at), func.max(x.occurred_at))
        .where(x.profile_id.in_(ids), x.counterpart_id.is_not(None), x.counterpart_id != x.profile_id)
        .group_by(x.profile_id, x.counterpart_id, x.kind)
    )
    for source, target, kind, count, first, last in rows:
        key = (int(source), int(target), edge_kind_of(kind))
        seen = wanted.get(key)
        if seen is None:
            wanted[key] = [int(count), first, last]
        else:
            seen[0] += int(count)
            seen[1] = min(seen[1], first)
            seen[2] = max(seen[2], last)
    # What is stored for these sources.
    existing: dict[tuple[int, int, str], tuple[Any, ...]] = {
        (int(s), int(t), k): (int(i), o, strength, first, last)
        for i, s, t, k, o, strength, first, last in conn.execute(
            core_select(r.id, r.source_id, r.target_id, r.kind, r.origin, r.strength, r.first_seen, r.last_seen)
            .where(r.source_id.in_(ids))
        )
    }
    derived = RelationshipOrigin.interaction.value
    inserts, updates = [], []
    for key, (count, first, last) in wanted.items():
        strength = derived_strength(count, last, now)
        found = existing.get(key)
        if found is None:
            inserts.append({"source_id": key[0], "target_id": key[1], "kind": key[2], "origin": derived,
                            "created_at": now, "updated_at": now, "first_seen": first, "last_seen": last,
                            "strength": strength})
        elif found[1] == derived and (found[2], found[3], found[4]) != (strength, first, last):  # unchanged: no write
            updates.append({"rid": found[0], "updated_at": now, "first_seen": first, "last_seen": last,
                            "strength": strength})
    stale = [found[0] for key, found in existing.items() if found[1] == derived and key not in wanted]
    if stale:
        conn.execute(delete(_rel).where(r.id.in_(stale)))
    if updates:
        conn.execute(
            update(_rel).where(r.id == bindparam("rid")).values(
                first_seen=bindparam("first_seen"), last_seen=bindparam("last_seen"),
                strength=bindparam("strength"), updated_at=bindparam("updated_at"),
            ).execution_options(synchronize_session=False),
            updates,
        )
    if inserts:
        conn.execute(insert(_rel), inserts)


# ---- the connections panel and list: one row per person, both directions merged ------------------


@dataclass(frozen=True)
class Edge:
    id: int
    kind: str
    outgoing: bool  # this person -> them
    strength: float
    origin: str


@dataclass(frozen=True)
class LastInteraction:
    id: int
    kind: str
    title: str
    occurred_at: datetime
    by_them: bool  # logged on their profile rather than this one


@dataclass(frozen=True)
class PersonConnection:
    """Everything between this person and one other, whichever way the edges point."""

    profile_id: int
    display_name: str
    edges: list[Edge]
    strength: float  # the strongest edge
    last_seen: datetime | None
    last_interaction: LastInteraction | None

    @property
    def kinds(self) -> list[str]:
        return sorted({edge.kind for edge in self.edges})

    @property
    def direction(self) -> str:
        """"outgoing", "incoming" or "both"."""
        out = any(edge.outgoing for edge in self.edges)
        inc = any(not edge.outgoing for edge in self.edges)
        return "both" if out and inc else "outgoing" if out else "incoming"


CONNECTION_SORTS = ("strength", "name", "last_seen", "kinds")


@dataclass
class ConnectionPage:
    rows: list[PersonConnection]
    total: int
    page: int
    per_page: int
    sort: str
    descending: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def count_connected_people(profile_id: int, *, session: Session) -> int:
    """People linked to this one by at least one edge, in either direction."""
    return int(session.exec(select(func.count()).select_from(_others(profile_id).subquery())).one())


def _others(profile_id: int) -> Any:
    r = _rel.c
    other = case((r.source_id == profile_id, r.target_id), else_=r.source_id).label("other_id")
    return (
        core_select(other, func.max(r.strength).label("strength"), func.max(r.last_seen).label("last_seen"),
                    func.count(func.distinct(r.kind)).label("kinds"))
        .where(or_(r.source_id == profile_id, r.target_id == profile_id), r.source_id != r.target_id)
        .group_by(other)
    )


def person_connections(profile_id: int, *, session: Session, sort: str = "strength", descending: bool = True,
                       page: int = 1, per_page: int = 12) -> ConnectionPage:
    """One row per connected person, with every edge between the two, sorted and paginated."""
    grouped = _others(profile_id).subquery()
    p = Profile.__table__.c  # type: ignore[attr-defined]
    total = int(session.exec(select(func.count()).select_from(grouped)).one())
    sort = sort if sort in CONNECTION_SORTS else "strength"
    key = {"strength": grouped.c.strength, "name": p.display_name, "last_seen": grouped.c.last_seen,
           "kinds": grouped.c.kinds}[sort]
    order = [key.desc().nulls_last() if descending else key.asc().nulls_first()]
    if sort != "name":
        order.append(p.display_name.asc())
    page = max(1, min(page, -(-total // per_page) or 1))
    query = (
        core_select(grouped.c.other_id, p.display_name, grouped.c.strength, grouped.c.last_seen)
        .join(Profile.__table__, p.id == grouped.c.other_id)  # type: ignore[attr-defined]
        .order_by(*order, grouped.c.other_id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    found = [tuple(row) for row in session.connection().execute(query)]
    others = [int(row[0]) for row in found]
    edges = _edges_with(profile_id, others, session=session)
    last = _last_interactions(profile_id, others, session=session)
    rows = [
        PersonConnection(int(other), name, edges.get(int(other), []), float(strength or 0), seen, last.get(int(other)))
        for other, name, strength, seen in found
    ]
    return ConnectionPage(rows, total, page, per_page, sort, descending)


def _edges_with(profile_id: int, others: list[int], *, session: Session) -> dict[int, list[Edge]]:
    if not others:
        return {}
    r = _rel.c
    query = core_select(r.id, r.source_id, r.target_id, r.kind, r.strength, r.origin).where(
        or_(and_(r.source_id == profile_id, r.target_id.in_(others)),
            and_(r.target_id == profile_id, r.source_id.in_(others)))
    ).order_by(r.strength.desc(), r.kind)
    result: dict[int, list[Edge]] = {}
    for rid, source, target, kind, strength, origin in session.connection().execute(query):
        outgoing = source == profile_id
        result.setdefault(int(target if outgoing else source), []).append(
            Edge(int(rid), kind, outgoing, float(strength), origin))
    return result


def _last_interactions(profile_id: int, others: list[int], *, session: Session) -> dict[int, LastInteraction]:
    """The latest interaction between this person and each other one, logged on either profile."""
    if not others:
        return {}
    x = _int
    mine = and_(x.profile_id == profile_id, x.counterpart_id.in_(others))
    theirs = and_(x.counterpart_id == profile_id, x.profile_id.in_(others))
    other = case((x.profile_id == profile_id, x.counterpart_id), else_=x.profile_id)
    latest = (
        core_select(other.label("other_id"), func.max(x.occurred_at).label("at"))
        .where(or_(mine, theirs)).group_by(other).subquery()
    )
    query = (
        core_select(latest.c.other_id, x.id, x.kind, x.title, x.occurred_at, x.profile_id)
        .join(latest, and_(x.occurred_at == latest.c.at,
                           or_(and_(x.profile_id == profile_id, x.counterpart_id == latest.c.other_id),
                               and_(x.counterpart_id == profile_id, x.profile_id == latest.c.other_id))))
        .order_by(x.id.desc())
    )
    result: dict[int, LastInteraction] = {}
    for other_id, iid, kind, title, at, owner in session.connection().execute(query):
        result.setdefault(int(other_id), LastInteraction(int(iid), kind, title, at, owner != profile_id))
    return result


# ---- adding and removing edges by hand -----------------------------------------------------------


def _edge_snapshot(rel: Relationship) -> dict[str, Any]:
    return {"id": rel.id, "source_id": rel.source_id, "target_id": rel.target_id, "kind": rel.kind,
            "strength": rel.strength, "origin": rel.origin}


def get_profile(profile_id: int, *, session: Session) -> Profile:
    """As crm.profiles.service.get_profile (which imports this module, so it is not imported here)."""
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFound(gettext("There is no person with id %(id)d.") % {"id": profile_id})
    return profile


def add_relationship(profile_id: int, data: RelationshipIn, *, session: Session, actor: Actor) -> list[Relationship]:
    """One edge (or two, for "both") between this person and another, origin "manual"."""
    get_profile(profile_id, session=session)
    if data.other_id == profile_id:
        raise InvalidInput(gettext("Check the highlighted fields."),
                           field_errors={"other_id": gettext("The other person cannot be this person.")})
    if session.get(Profile, data.other_id) is None:
        raise InvalidInput(gettext("Check the highlighted fields."),
                           field_errors={"other_id": gettext("There is no person with that id.")})
    pairs = []
    if data.direction in (Direction.outgoing, Direction.both):
        pairs.append((profile_id, data.other_id))
    if data.direction in (Direction.incoming, Direction.both):
        pairs.append((data.other_id, profile_id))
    now = utcnow()
    created = []
    for source, target in pairs:
        clash = session.exec(select(Relationship).where(
            Relationship.source_id == source, Relationship.target_id == target, Relationship.kind == data.kind.value
        )).first()
        if clash is not None:
            raise Conflict(gettext("That connection already exists."),
                           field_errors={"kind": gettext("These two people already have a “%(kind)s” connection that way.")
                                         % {"kind": gettext(data.kind.value.replace("_", " ").capitalize())}})
        rel = Relationship(source_id=source, target_id=target, kind=data.kind.value, strength=data.strength,
                           first_seen=now, last_seen=now, origin=RelationshipOrigin.manual.value, updated_at=now)
        session.add(rel)
        created.append(rel)
    try:
        session.flush()
    except IntegrityError:  # added by someone else a moment ago: the route rolls back
        raise Conflict(gettext("That connection already exists.")) from None
    for rel in created:
        audit.record(session=session, actor=actor, action=AuditAction.relationship_create, object_type="profile",
                     object_id=profile_id, after=_edge_snapshot(rel))
    return created


def get_relationship(relationship_id: int, *, session: Session, profile_id: int | None = None) -> Relationship:
    rel = session.get(Relationship, relationship_id)
    if rel is None or (profile_id is not None and profile_id not in (rel.source_id, rel.target_id)):
        raise NotFound(gettext("There is no connection with id %(id)s.") % {"id": relationship_id})
    return rel


def remove_relationship(relationship_id: int, *, session: Session, actor: Actor, profile_id: int | None = None) -> None:
    """Removes an edge added by hand or by an import; derived edges follow their interactions."""
    rel = get_relationship(relationship_id, session=session, profile_id=profile_id)
    if rel.origin == RelationshipOrigin.interaction.value:
        raise InvalidInput(gettext("This connection comes from interactions between the two: it goes away with them."))
    before = _edge_snapshot(rel)
    owner = profile_id or rel.source_id
    session.delete(rel)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.relationship_delete, object_type="profile",
                 object_id=owner, before=before)


def relationships_of(profile_id: int, *, session: Session, page: int = 1, per_page: int = 50) -> tuple[list[Relationship], int]:
    """Every edge in either direction (the API), strongest first."""
    get_profile(profile_id, session=session)
    either = or_(col(Relationship.source_id) == profile_id, col(Relationship.target_id) == profile_id)
    total = int(session.exec(select(func.count()).select_from(Relationship).where(either)).one())
    query = (select(Relationship).where(either)
             .order_by(col(Relationship.strength).desc(), col(Relationship.id))
             .offset((max(1, page) - 1) * per_page).limit(per_page))
    return list(session.exec(query)), total
