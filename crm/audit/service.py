"""Recording and reading audit events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.db import utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; passed from the route to every service that changes data."""

    user_id: int | None
    ip: str = ""
    label: str = ""


SYSTEM = Actor(user_id=None, label="system")


def record(*, session: Session, actor: Actor, action: AuditAction, object_type: str = "", object_id: int | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, subject: str = "") -> AuditEvent:
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


def count_recent(*, session: Session, action: AuditAction, since: datetime, subject: str | None = None,
                 ip: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.created_at >= since)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return int(session.exec(query).one())


def events_for(*, session: Session, object_type: str, object_id: int, limit: int = 50) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


@dataclass
class EventPage:
    events: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_events(*, session: Session, page: int = 1, per_page: int = 50, group: str = "") -> EventPage:
    """The audit log, newest first; `group` keeps one group of actions, e.g. "login" or "profile"."""
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if group:
        actions = [a.value for a in AuditAction if a.group == group]
        query = query.where(col(AuditEvent.action).in_(actions))
        count = count.where(col(AuditEvent.action).in_(actions))
    page = max(1, page)
    events = session.exec(query.order_by(col(AuditEvent.id).desc()).offset((page - 1) * per_page).limit(per_page))
    return EventPage(list(events), int(session.exec(count).one()), page, per_page)


def recent_events(*, session: Session, actions: Iterable[AuditAction] | None = None, limit: int = 50) -> list[AuditEvent]:
    """The newest events, optionally only some actions (the dashboard leaves out sign-ins)."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if actions is not None:
        query = query.where(col(AuditEvent.action).in_([a.value for a in actions]))
    return list(session.exec(query))


def window_start(minutes: int) -> datetime:
    return utcnow() - timedelta(minutes=minutes)
