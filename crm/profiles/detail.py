"""Everything the profile page shows about one person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.models import AuditEvent
from crm.interactions.models import Interaction
from crm.interactions.timeline import count_interactions, timeline
from crm.profiles.models import Identity, Profile
from crm.profiles.service import get_profile, identities_of, reach_of
from crm.relationships.service import Connection, count_relationships, strongest_connections


@dataclass
class ProfileDetail:
    profile: Profile
    identities: list[Identity]
    reach: int
    interactions: list[Interaction]
    interaction_count: int
    relationship_count: int
    connections: list[Connection]
    owner: User | None
    history: list[AuditEvent]


def profile_detail(profile_id: int, *, session: Session) -> ProfileDetail:
    profile = get_profile(profile_id, session=session)
    identities = identities_of(profile_id, session=session)
    interactions = timeline(profile_id, session=session)
    interaction_count = count_interactions(profile_id, session=session)
    relationship_count = count_relationships(profile_id, session=session)
    owner = session.get(User, profile.owner_id) if profile.owner_id else None
    return ProfileDetail(
        connections=strongest_connections(profile_id, session=session),
        profile=profile,
        identities=identities,
        reach=reach_of(identities),
        interactions=interactions,
        interaction_count=interaction_count,
        relationship_count=relationship_count,
        owner=owner,
        history=audit.events_for(session=session, object_type="profile", object_id=profile_id, limit=20),
    )


