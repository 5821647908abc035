"""Request and response schemas of relationships (the table is crm.interactions.models.Relationship)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PydField

from crm.interactions.models import RelationshipKind
from crm.schemas import OUT_CONFIG, DbId, InputModel


class Direction(StrEnum):
    outgoing = "outgoing"  # this person -> the other
    incoming = "incoming"  # the other -> this person
    both = "both"


class RelationshipIn(InputModel):
    """A relationship added by hand from a person's page (or the API): to or from `other_id`, or both ways."""

    other_id: DbId = PydField(description="The other person")
    kind: RelationshipKind
    direction: Direction = Direction.outgoing
    strength: float = PydField(default=0.5, ge=0, le=1)


class RelationshipOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    source_id: int
    target_id: int
    kind: str
    strength: float
    first_seen: datetime | None
    last_seen: datetime | None
    origin: str
    created_at: datetime
    updated_at: datetime | None
