"""The graph and the history: relationships between profiles and dated interactions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field
from crm.db import UTCDateTime


class RelationshipKind(StrEnum):
    knows = "knows"
    follows = "follows"
    mentions = "mentions"
    replies_to = "replies_to"
    collaborates = "collaborates"
    referred = "referred"
    colleague = "colleague"


class InteractionKind(StrEnum):
    post = "post"
    mention = "mention"
    reply = "reply"
    forum_answer = "forum_answer"
    review = "review"
    talk = "talk"
    article = "article"
    video = "video"
    referral = "referral"
    event_attendance = "event_attendance"
    feedback = "feedback"
    complaint = "complaint"
    support_request = "support_request"
    bug_report = "bug_report"
    outreach_email = "outreach_email"
    outreach_dm = "outreach_dm"
    outreach_meeting = "outreach_meeting"
    note = "note"


# Kinds we record about a person rather than things they do: they are not their "activity".
OUR_KINDS = frozenset(
    {InteractionKind.outreach_email, InteractionKind.outreach_dm, InteractionKind.outreach_meeting, InteractionKind.note}
)

# The kinds that count for advocacy.
CONTRIBUTION_KINDS = frozenset(
    {
        InteractionKind.post,
        InteractionKind.mention,
        InteractionKind.reply,
        InteractionKind.forum_answer,
        InteractionKind.review,
        InteractionKind.talk,
        InteractionKind.article,
        InteractionKind.video,
        InteractionKind.referral,
        InteractionKind.feedback,
        InteractionKind.bug_report,
    }
)


class RelationshipOrigin(StrEnum):
    manual = "manual"  # added by hand
    imported = "imported"  # from an import file
    interaction = "interaction"  # derived from interactions that have a counterpart


# Interactions with a counterpart become edges of these kinds (crm.relationships keeps them current).
EDGE_KIND_OF_INTERACTION = {
    InteractionKind.reply: RelationshipKind.replies_to,
    InteractionKind.forum_answer: RelationshipKind.replies_to,
    InteractionKind.mention: RelationshipKind.mentions,
    InteractionKind.referral: RelationshipKind.referred,
}
DEFAULT_EDGE_KIND = RelationshipKind.knows


class Relationship(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source_id", "target_id", "kind", name="uq_relationship_edge"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    target_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    strength: float = Field(default=1.0)
    first_seen: datetime | None = optional_datetime_field()
    last_seen: datetime | None = optional_datetime_field()
    origin: str = Field(default=RelationshipOrigin.manual.value, max_length=20)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_datetime_field()


class Interaction(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_interaction_source_external"),
        Index("ix_interaction_profile_occurred", "profile_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    kind: str = Field(max_length=30, index=True)
    channel: str = Field(default="", max_length=30)
    url: str = Field(default="", max_length=500)
    title: str = Field(default="", max_length=300)
    body: str = Field(default="")
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    reach: int = Field(default=0, sa_type=BigInteger)
    engagements: int = Field(default=0, sa_type=BigInteger)
    sentiment: float | None = Field(default=None)
    counterpart_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL", index=True)
    source: str = Field(default="manual", max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_datetime_field()
