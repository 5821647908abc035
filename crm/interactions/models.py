"""The graph and the history: relationships between profiles and dated interactions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, field_validator
from pydantic import Field as PydField
from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field
from crm.db import UTCDateTime
from crm.i18n import gettext
from crm.schemas import OUT_CONFIG, DbId, InputModel, all_optional


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
    # Indexed: "has the graph changed?" reads the latest of each (crm.graph, crm.ranking).
    created_at: datetime = created_at_field(index=True)
    updated_at: datetime | None = optional_datetime_field(index=True)


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
    # "" given by the source or the person who logged it; "estimated" by the word list; "corrected" by hand
    # (crm.listening.sentiment). Estimated labels are hints: never the only trigger of an alert.
    sentiment_source: str = Field(default="", max_length=12, sa_column_kwargs={"server_default": ""})
    counterpart_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL", index=True)
    source: str = Field(default="manual", max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_datetime_field(index=True)  # "has anything changed?" (crm.ranking)


# ---- request and response schemas (never table models) ---------------------------------------
# The HTML forms and the API validate with these same schemas (crm.interactions.log and
# crm.relationships.service take them).

MAX_COUNT = 10_000_000_000  # reach and engagements are BIGINT columns
BODY_MAX = 20_000
OUTREACH_KINDS = frozenset(
    {InteractionKind.outreach_email, InteractionKind.outreach_dm, InteractionKind.outreach_meeting}
)


class InteractionFields(BaseModel):
    """An interaction's editable fields and their rules."""

    kind: InteractionKind
    channel: str = PydField(default="", max_length=30, description="Platform or channel: x, email, discourse, event...")
    occurred_at: datetime | None = PydField(
        default=None, description="When it happened, with a time zone; left out: now")
    title: str = PydField(default="", max_length=300)
    body: str = PydField(default="", max_length=BODY_MAX)
    url: str = PydField(default="", max_length=500)
    reach: int = PydField(default=0, ge=0, le=MAX_COUNT, description="Audience reached")
    engagements: int = PydField(default=0, ge=0, le=MAX_COUNT, description="Likes, replies, shares...")
    sentiment: float | None = PydField(default=None, ge=-1, le=1, description="-1 negative .. 1 positive; null: unknown")
    counterpart_id: DbId | None = PydField(default=None, description="The other person involved, if any")
    campaign_id: DbId | None = PydField(default=None, description="The campaign it belongs to: outreach or a deliverable")


class InteractionIn(InteractionFields, InputModel):
    """Logging an interaction. Outreach (e-mail, DM, meeting) to someone whose profile says they may not
    be contacted is refused with 422 and the reason unless `contact_anyway` is true."""

    contact_anyway: bool = PydField(default=False, description="Log outreach even though the person may not be contacted")

    @field_validator("url")
    @classmethod
    def _url_is_web(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(gettext("Start the address with http:// or https://."))
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(gettext("Give the time zone too, like 2026-03-31T14:30:00+02:00."))
        # Years near 1 or 9999 overflow when moved to UTC or shown in another zone; nothing real is there.
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value


_PATCH_DOC = "Partial update: only the fields sent change."
if TYPE_CHECKING:  # mypy cannot follow a class built at run time; to it, a patch is an InteractionIn
    InteractionPatch = InteractionIn
else:
    InteractionPatch = all_optional(InteractionIn, "InteractionPatch", _PATCH_DOC)


class InteractionOut(InteractionFields):
    model_config = OUT_CONFIG

    id: int
    profile_id: int
    occurred_at: datetime  # type: ignore[assignment]  # always set once stored
    sentiment_source: str = PydField(default="", description='"" from the source or whoever logged it; "estimated" by '
                                     'the word list (a hint); "corrected" by a person')
    source: str
    external_id: str | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime | None


class TimelineFilter(InputModel):
    """Filters of a person's timeline (query parameters of the page and the API)."""

    kind: InteractionKind | None = None
    channel: str = PydField(default="", max_length=30)
    since: date | None = PydField(default=None, description="From this day (inclusive)")
    until: date | None = PydField(default=None, description="To this day (inclusive)")

    @property
    def active(self) -> bool:
        return bool(self.kind or self.channel or self.since or self.until)



class InteractionQuery(TimelineFilter):
    """Query parameters of the API's list: the timeline filters (days in UTC) and the page."""

    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=200)
