"""A person's history, newest first: interactions, filtered by kind, channel and dates, with the audit
events about the person (who logged, edited or deleted what) shown inline when no filter is set."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.interactions.models import Interaction, TimelineFilter
from crm.profiles.models import Profile

TIMELINE_PAGE = 20


def _filtered(query: Any, profile_id: int, filters: TimelineFilter | None, zone: tzinfo) -> Any:
    query = query.where(Interaction.profile_id == profile_id)
    if filters is None:
        return query
    if filters.kind:
        query = query.where(Interaction.kind == filters.kind.value)
    if filters.channel:
        query = query.where(Interaction.channel == filters.channel)
    if filters.since:
        query = query.where(Interaction.occurred_at >= _day_start(filters.since, zone))
    if filters.until:
        query = query.where(Interaction.occurred_at < _day_start(filters.until, zone) + timedelta(days=1))
    return query


def _day_start(day: Any, zone: tzinfo) -> datetime:
    """Dates in filters are days in the reader's time zone."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def count_interactions(profile_id: int, *, session: Session, filters: TimelineFilter | None = None,
                       zone: tzinfo = UTC) -> int:
    query = _filtered(select(func.count()).select_from(Interaction), profile_id, filters, zone)
    return int(session.exec(query).one())


def timeline(profile_id: int, *, session: Session, offset: int = 0, filters: TimelineFilter | None = None,
             zone: tzinfo = UTC) -> list[Interaction]:
    """A page of the person's history, newest first."""
    return timeline_rows(profile_id, session=session, offset=offset, filters=filters, zone=zone)


def timeline_rows(profile_id: int, *, session: Session, offset: int = 0, limit: int = TIMELINE_PAGE,
                  filters: TimelineFilter | None = None, zone: tzinfo = UTC) -> list[Interaction]:
    query = (
        _filtered(select(Interaction), profile_id, filters, zone)
        .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc())
        .offset(max(0, offset))
        .limit(limit)
    )
    return list(session.exec(query))


@dataclass
class Entry:
    """One line of the timeline: an interaction, or an audit event about the person."""

    at: datetime
    interaction: Interaction | None = None
    event: AuditEvent | None = None


@dataclass
class TimelinePage:
    entries: list[Entry]
    shown: int  # interactions shown so far, this page included
    total: int  # interactions matching the filters
    filters: TimelineFilter = field(default_factory=TimelineFilter)
    names: dict[int, str] = field(default_factory=dict)  # counterpart id -> name

    @property
    def query(self) -> str:
        """The filters as a query string, for "show older"."""
        return urlencode({k: v for k, v in self.filters.model_dump(mode="json").items() if v})

    @property
    def interactions(self) -> list[Interaction]:
        return [e.interaction for e in self.entries if e.interaction is not None]


def timeline_page(profile_id: int, *, session: Session, offset: int = 0, filters: TimelineFilter | None = None,
                  zone: tzinfo = UTC, with_events: bool = True) -> TimelinePage:
    """A page of interactions; without filters, the audit events that fall between them (by time)
    are interleaved, so each event appears on exactly one page."""
    filters = filters or TimelineFilter()
    offset = max(0, offset)
    items = timeline(profile_id, session=session, offset=offset, filters=filters, zone=zone)
    total = count_interactions(profile_id, session=session, filters=filters, zone=zone)
    entries = [Entry(i.occurred_at, interaction=i) for i in items]
    if with_events and not filters.active:
        upper: datetime | None = None
        if offset > 0:
            previous = timeline(profile_id, session=session, offset=offset - 1, filters=filters, zone=zone)
            upper = previous[0].occurred_at if previous else None
        lower = items[-1].occurred_at if items and offset + len(items) < total else None
        if items or offset == 0:
            events = _events_between(profile_id, lower, upper, session=session)
            entries += [Entry(e.created_at, event=e) for e in events]
            entries.sort(key=lambda e: e.at, reverse=True)
    counterparts = sorted({i.counterpart_id for i in items if i.counterpart_id})
    names: dict[int, str] = {}
    if counterparts:
        rows = session.exec(select(Profile.id, Profile.display_name).where(col(Profile.id).in_(counterparts)))
        names = {int(pid): name for pid, name in rows if pid is not None}
    return TimelinePage(entries, offset + len(items), total, filters, names)


def _events_between(profile_id: int, lower: datetime | None, upper: datetime | None, *, session: Session,
                    limit: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.object_type == "profile", AuditEvent.object_id == profile_id)
    if lower is not None:
        query = query.where(AuditEvent.created_at >= lower)
    if upper is not None:
        query = query.where(AuditEvent.created_at < upper)
    query = query.order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return list(session.exec(query))
