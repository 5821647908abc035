"""Everything the profile page shows about one person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.models import AuditEvent
from crm.interactions.log import contact_refusal
from crm.interactions.models import (
    OUTREACH_KINDS,
    Interaction,
    InteractionIn,
    InteractionKind,
    RelationshipKind,
    TimelineFilter,
)
from crm.interactions.timeline import TimelinePage, timeline_page
from crm.profiles.models import Identity, Platform, Profile
from crm.profiles.service import get_profile, identities_of, reach_of
from crm.relationships.models import Direction
from crm.relationships.service import PersonConnection, count_connected_people, person_connections

CONNECTIONS_SHOWN = 12


@dataclass
class ProfileDetail:
    profile: Profile
    identities: list[Identity]
    reach: int
    timeline: TimelinePage
    relationship_count: int  # people connected, either direction
    connections: list[PersonConnection]
    owner: User | None
    history: list[AuditEvent]
    channels: list[str] = field(default_factory=list)  # for the timeline's channel filter
    contact_warning: str | None = None  # why outreach needs confirmation

    @property
    def choices(self) -> dict[str, list[str]]:
        return form_choices()

    def blank_log_form(self) -> dict[str, Any]:
        """The log form as an empty profile page shows it."""
        return log_form(self.profile.id or 0, blank_log_values(), {}, [])

    @property
    def interactions(self) -> list[Interaction]:
        return self.timeline.interactions

    @property
    def interaction_count(self) -> int:
        return self.timeline.total


def form_choices() -> dict[str, list[str]]:
    return {
        "kinds": [k.value for k in InteractionKind],
        "relationship_kinds": [k.value for k in RelationshipKind],
        "directions": [d.value for d in Direction],
    }


def blank_log_values() -> dict[str, Any]:
    """The log form's fields as an empty form shows them (text, as typed)."""
    values: dict[str, Any] = {name: "" for name in InteractionIn.model_fields}
    return {**values, "kind": InteractionKind.note.value, "contact_anyway": False}


def log_form(profile_id: int, values: dict[str, Any], errors: dict[str, str],
             chosen: list[tuple[int, str]]) -> dict[str, Any]:
    """What the log form needs: the values as typed, errors, choices and the person chosen as counterpart."""
    return {
        "values": values,
        "errors": errors,
        "kinds": list(InteractionKind),
        "outreach_kinds": [k.value for k in OUTREACH_KINDS],
        "platforms": [p.value for p in Platform],
        "chosen": chosen,
        "profile_id": profile_id,
    }


def channels_of(profile_id: int, *, session: Session) -> list[str]:
    query = (select(Interaction.channel).where(Interaction.profile_id == profile_id, Interaction.channel != "")
             .distinct().order_by(col(Interaction.channel)))
    return list(session.exec(query))


def profile_detail(profile_id: int, *, session: Session, filters: TimelineFilter | None = None,
                   zone: tzinfo = UTC) -> ProfileDetail:
    profile = get_profile(profile_id, session=session)
    identities = identities_of(profile_id, session=session)
    owner = session.get(User, profile.owner_id) if profile.owner_id else None
    return ProfileDetail(
        profile=profile,
        identities=identities,
        reach=reach_of(identities),
        timeline=timeline_page(profile_id, session=session, filters=filters, zone=zone),
        relationship_count=count_connected_people(profile_id, session=session),
        connections=person_connections(profile_id, session=session, per_page=CONNECTIONS_SHOWN).rows,
        owner=owner,
        # Interactions logged, edited and deleted are shown inline in the timeline instead.
        history=[e for e in audit.events_for(session=session, object_type="profile", object_id=profile_id, limit=40)
                 if not e.action.startswith("interaction.")][:20],
        channels=channels_of(profile_id, session=session),
        contact_warning=contact_refusal(profile),
    )
