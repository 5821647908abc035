"""The per-person export: everything held about one person, as JSON (a data-access request).

Rows come out whole (every column) in a stable order (by id), so two exports of the same person can
be compared: the merge tests compare an export taken before a merge with one taken after its undo."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, SQLModel, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.campaigns.models import CampaignMember
from crm.db import utcnow
from crm.imports.models import ImportKey
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Identity
from crm.profiles.service import get_profile
from crm.recognition.models import BadgeAward, GamingFlag, PointEntry, PointHold, Recognition, Redemption

EXPORT_FORMAT = 1


_STAFF_ONLY = frozenset({"ip", "user_agent"})

def row_dict(row: SQLModel) -> dict[str, Any]:
    """Every column of a row, JSON-ready (datetimes and dates as ISO 8601)."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    return {column.name: _json_value(getattr(row, column.name)) for column in table.columns}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def person_data(profile_id: int, *, session: Session) -> dict[str, Any]:
    """Everything about one person (no audit of its own: `export_person` records the request)."""
    profile = get_profile(profile_id, session=session)
    identities = session.exec(select(Identity).where(Identity.profile_id == profile_id).order_by(col(Identity.id)))
    authored = session.exec(select(Interaction).where(Interaction.profile_id == profile_id).order_by(col(Interaction.id)))
    counterpart = session.exec(
        select(Interaction).where(Interaction.counterpart_id == profile_id).order_by(col(Interaction.id))
    )
    outgoing = session.exec(select(Relationship).where(Relationship.source_id == profile_id).order_by(col(Relationship.id)))
    incoming = session.exec(select(Relationship).where(Relationship.target_id == profile_id).order_by(col(Relationship.id)))
    import_keys = session.exec(select(ImportKey).where(ImportKey.profile_id == profile_id).order_by(col(ImportKey.id)))
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "profile", AuditEvent.object_id == profile_id)
        .order_by(col(AuditEvent.id))
    )
    def owned(model: type[SQLModel]) -> list[dict[str, Any]]:
        """The person's rows of a table with a profile_id column, by id."""
        table: Table = model.__table__  # type: ignore[attr-defined]
        rows = session.execute(select(model).where(table.c.profile_id == profile_id).order_by(table.c.id)).scalars()
        return [row_dict(row) for row in rows]

    return {
        "format": EXPORT_FORMAT,
        "profile": row_dict(profile),
        "identities": [row_dict(i) for i in identities],
        "interactions": [row_dict(i) for i in authored],
        "interactions_as_counterpart": [row_dict(i) for i in counterpart],
        "relationships_outgoing": [row_dict(r) for r in outgoing],
        "relationships_incoming": [row_dict(r) for r in incoming],
        "import_keys": [row_dict(k) for k in import_keys],
        # Recognition: the points ledger, held points, anti-gaming flags, badges, redemptions, thank-yous.
        "point_entries": owned(PointEntry),
        "point_holds": owned(PointHold),
        "gaming_flags": owned(GamingFlag),
        "badge_awards": owned(BadgeAward),
        "redemptions": owned(Redemption),
        "recognitions": owned(Recognition),
        "campaign_memberships": owned(CampaignMember),
        # What was done to the person, by whom, when; not where from (staff addresses are for admins).
        "audit_events": [{k: v for k, v in row_dict(e).items() if k not in _STAFF_ONLY} for e in events],
    }


def export_person(profile_id: int, *, session: Session, actor: Actor) -> dict[str, Any]:
    """The export, with when it was made, recorded in the audit log (profile_export)."""
    data = person_data(profile_id, session=session)
    audit.record(session=session, actor=actor, action=AuditAction.profile_export, object_type="profile",
                 object_id=profile_id, after={"sections": sorted(k for k in data if k not in ("format", "profile"))})
    return {"exported_at": utcnow().isoformat(), **data}
