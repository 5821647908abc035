"""Recording and reading audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.db import utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; passed from the route to every service that changes data."""

    user_id: int | None
    ip: str = ""
    label: str = ""


SYSTEM = Actor(user_id=None, label="system")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    subject: str = "",
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.user_id,
        subject=subject or actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        ip=actor.ip,
    )
    session.add(event)
    return event


def count_recent(session: Session, *, action: str, since: datetime, subject: str | None = None, ip: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.created_at >= since)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return int(session.exec(query).one())


def events_for(session: Session, *, object_type: str, object_id: int, limit: int = 50) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def recent_events(session: Session, *, limit: int = 50) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    return list(session.exec(query))


def window_start(minutes: int) -> datetime:
    return utcnow() - timedelta(minutes=minutes)
