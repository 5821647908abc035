"""A person's history, newest first."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.interactions.models import Interaction

TIMELINE_PAGE = 20


def count_interactions(profile_id: int, *, session: Session) -> int:
    query = select(func.count()).select_from(Interaction).where(Interaction.profile_id == profile_id)
    return int(session.exec(query).one())


def timeline(profile_id: int, *, session: Session, offset: int = 0) -> list[Interaction]:
    """A page of the person's history, newest first."""
    query = (
        select(Interaction)
        .where(Interaction.profile_id == profile_id)
        .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc())
        .offset(max(0, offset))
        .limit(TIMELINE_PAGE)
    )
    return list(session.exec(query))


