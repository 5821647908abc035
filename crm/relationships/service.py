"""Relationships: the typed, directed edges between people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection as DbConnection
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from crm.interactions.models import Relationship
from crm.profiles.models import Profile


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




def refresh_derived_edges(conn: DbConnection, profile_ids: Iterable[int]) -> None:
    """Recompute the edges derived from interactions that have a counterpart, for interactions of
    these people (kind from EDGE_KIND_OF_INTERACTION, origin "interaction", strength from how many and
    how recent). Called after logging, editing or deleting interactions and once per import batch.
    Being built: does nothing yet."""
    return None
