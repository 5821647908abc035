"""Listening and signals: topics and their tracked terms, the mentions they match, the editable
sentiment word lists, alert rules with their alerts and deliveries, signals routed to whoever can act
(with departments and SLA targets), and the management report's saved judgement and quotes.

A mention is an interaction matched by a topic's terms; the interaction stays the record of what was
said (its sentiment, and `interaction.sentiment_source`, say whether the label came from the source,
was estimated by the word list, or was corrected by a person)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field, updated_at_field
from crm.db import UTCDateTime


class TopicKind(StrEnum):
    brand = "brand"
    product = "product"
    competitor = "competitor"
    other = "other"


class SentimentSource(StrEnum):
    given = ""  # from the import, the API or the person who logged it (or unknown when sentiment is null)
    estimated = "estimated"  # by the word list: a hint, never the only trigger of an alert
    corrected = "corrected"  # by a person with write access (audited)


class Topic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    kind: str = Field(default=TopicKind.brand.value, max_length=20)
    terms: list[str] = Field(default_factory=list, sa_type=JSON)  # words or phrases; "crash*" is a prefix
    exclusions: list[str] = Field(default_factory=list, sa_type=JSON)  # a match with any of these is no mention
    active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Mention(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("interaction_id", "topic_id", name="uq_mention_interaction_topic"),
        Index("ix_mention_topic_occurred", "topic_id", "occurred_at"),
        Index("ix_mention_profile_occurred", "profile_id", "occurred_at"),
        Index("ix_mention_negative_occurred", "negative", "occurred_at"),  # the crisis radar's scan
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", ondelete="CASCADE", index=True)
    topic_id: int = Field(foreign_key="topic.id", ondelete="CASCADE")
    # Copied from the interaction so spikes and the radar read one narrow table (kept by crm.listening.match).
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    term: str = Field(default="", max_length=200)  # the tracked term that matched
    # On the radar: the interaction's sentiment is below zero or it is a complaint. Kept by
    # crm.listening.match whenever the interaction or its sentiment changes (match.refresh_negative).
    negative: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    created_at: datetime = created_at_field()


class SentimentLexicon(SQLModel, table=True):
    """One language's word list: word (or stem, "terribl*") -> weight from -3 to 3. Without a row the
    built-in list of crm.listening.sentiment applies."""

    __tablename__ = "sentiment_lexicon"

    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(max_length=10, unique=True)
    words: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    updated_at: datetime = updated_at_field()


# ---- alerts ----------------------------------------------------------------------------------

class AlertStatus(StrEnum):
    new = "new"
    seen = "seen"
    acted = "acted"  # someone did something about it (opened a signal, marked it)
    dismissed = "dismissed"  # noise: counts against the rule's acted-on rate
    expected = "expected"  # inside an active campaign's dates: annotated, not raised


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    undelivered = "undelivered"  # every attempt failed: kept, shown, never lost


class DeliveryChannel(StrEnum):
    email = "email"
    webhook = "webhook"


class AlertRule(SQLModel, table=True):
    __tablename__ = "alert_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    topic_id: int | None = Field(default=None, foreign_key="topic.id", ondelete="CASCADE", index=True)  # None: all
    negative_only: bool = Field(default=False)  # count negative mentions and complaints only
    window_hours: int = Field(default=24)
    baseline_days: int = Field(default=14)
    max_p: float = Field(default=0.01)  # fire when P(X >= observed | baseline) is at most this
    min_count: int = Field(default=5)
    cooldown_hours: int = Field(default=24)
    digest: bool = Field(default=False)  # e-mail and webhook once a day instead of at once
    email_to: list[str] = Field(default_factory=list, sa_type=JSON)
    webhook_url: str = Field(default="", max_length=500)
    webhook_secret: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    evaluated_through: datetime | None = optional_datetime_field()  # the last hour boundary evaluated live
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Alert(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("rule_id", "topic_id", "fired_at", name="uq_alert_rule_topic_time"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alert_rule.id", ondelete="CASCADE", index=True)
    topic_id: int = Field(foreign_key="topic.id", ondelete="CASCADE", index=True)
    fired_at: datetime = Field(sa_type=UTCDateTime, index=True)  # the hour boundary evaluated
    window_start: datetime = Field(sa_type=UTCDateTime)
    observed: int = Field(default=0)
    expected: float = Field(default=0.0)
    p_value: float = Field(default=1.0)
    status: str = Field(default=AlertStatus.new.value, max_length=20, index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")  # why expected
    mention_ids: list[int] = Field(default_factory=list, sa_type=JSON)  # the window's mentions (up to 200)
    acted_at: datetime | None = optional_datetime_field()
    acted_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class AlertDelivery(SQLModel, table=True):
    """One e-mail or webhook call carrying one alert, or a rule's daily digest of several. Retried with
    backoff by the job queue; after the last attempt it is `undelivered`, and stays on record."""

    __tablename__ = "alert_delivery"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alert_rule.id", ondelete="CASCADE", index=True)
    alert_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    channel: str = Field(max_length=10)
    target: str = Field(max_length=500)  # address(es) or URL, as at the time of sending
    digest_day: date | None = Field(default=None)  # the day a digest covers
    status: str = Field(default=DeliveryStatus.pending.value, max_length=20, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = optional_datetime_field(index=True)
    last_error: str = Field(default="", max_length=1000)
    sent_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()


class InboxRead(SQLModel, table=True):
    """Who has seen which alert (the in-app inbox is per person)."""

    __tablename__ = "alert_read"
    __table_args__ = (UniqueConstraint("alert_id", "user_id", name="uq_alert_read"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    read_at: datetime = created_at_field()


# ---- signals ---------------------------------------------------------------------------------

class SignalType(StrEnum):
    product_feedback = "product_feedback"
    sales_lead = "sales_lead"
    complaint = "complaint"
    support_request = "support_request"
    bug_report = "bug_report"
    praise = "praise"


class SignalStatus(StrEnum):
    new = "new"
    triaged = "triaged"
    in_progress = "in_progress"
    waiting = "waiting"
    resolved = "resolved"
    closed = "closed"


OPEN_SIGNAL_STATUSES = frozenset({SignalStatus.new, SignalStatus.triaged, SignalStatus.in_progress, SignalStatus.waiting})


class SignalPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Department(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    email: str = Field(default="", max_length=320)  # the queue's address, if it has one
    created_at: datetime = created_at_field()


class SlaTarget(SQLModel, table=True):
    """Hours to first response and to resolution for one signal type at one priority."""

    __tablename__ = "sla_target"
    __table_args__ = (UniqueConstraint("signal_type", "priority", name="uq_sla_type_priority"),)

    id: int | None = Field(default=None, primary_key=True)
    signal_type: str = Field(max_length=30)
    priority: str = Field(max_length=10)
    first_response_hours: float = Field(default=24)
    resolution_hours: float = Field(default=120)
    updated_at: datetime = updated_at_field()


class Signal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=30, index=True)
    title: str = Field(max_length=300)
    summary: str = Field(default="", sa_type=Text)
    profile_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL", index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id", ondelete="SET NULL", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    priority: str = Field(default=SignalPriority.normal.value, max_length=10)
    status: str = Field(default=SignalStatus.new.value, max_length=20, index=True)
    alert_id: int | None = Field(default=None, foreign_key="alert.id", ondelete="SET NULL")
    # SLA: due times fixed when the signal opens (or reopens), from the target in force and the person.
    first_response_due: datetime | None = optional_datetime_field()
    resolution_due: datetime | None = optional_datetime_field(index=True)
    sla_note: str = Field(default="", max_length=300)  # why the target is what it is (tightened for reach...)
    first_response_at: datetime | None = optional_datetime_field()
    resolved_at: datetime | None = optional_datetime_field()
    closed_at: datetime | None = optional_datetime_field()
    resolution_note: str = Field(default="", max_length=2000)
    reopened_count: int = Field(default=0)
    # Closing the loop with the person: the outreach logged to their timeline, or a follow-up date.
    loop_closed_at: datetime | None = optional_datetime_field()
    loop_interaction_id: int | None = Field(default=None, foreign_key="interaction.id", ondelete="SET NULL")
    follow_up_on: date | None = Field(default=None)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field(index=True)
    updated_at: datetime = updated_at_field()


class SignalItem(SQLModel, table=True):
    """An interaction (a mention, a reply when the person wrote again) that belongs to a signal."""

    __tablename__ = "signal_item"
    __table_args__ = (UniqueConstraint("signal_id", "interaction_id", name="uq_signal_item"),)

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", ondelete="CASCADE", index=True)
    interaction_id: int = Field(foreign_key="interaction.id", ondelete="CASCADE", index=True)
    reason: str = Field(default="opened", max_length=20)  # opened | joined | reopened
    added_at: datetime = created_at_field()


# ---- the report for management -----------------------------------------------------------------

class ReportPeriod(StrEnum):
    month = "month"
    quarter = "quarter"


class ManagementReport(SQLModel, table=True):
    """What the community manager adds to a period's numbers: the judgement and the picked quotes."""

    __tablename__ = "management_report"
    __table_args__ = (UniqueConstraint("period", "starts_on", name="uq_management_report_period"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=10)
    starts_on: date
    judgement: str = Field(default="", max_length=300)
    quote_ids: list[int] = Field(default_factory=list, sa_type=JSON)  # interaction ids, in the order picked
    # id -> the interaction's created_at when picked: an id SQLite hands out again after a delete is not
    # the quote that was picked (crm.listening.report drops it).
    quote_stamps: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    updated_at: datetime = updated_at_field()


class ReportRecipient(SQLModel, table=True):
    """An address that receives the report by e-mail when a period ends."""

    __tablename__ = "report_recipient"
    __table_args__ = (UniqueConstraint("email", "period", name="uq_report_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    period: str = Field(default=ReportPeriod.month.value, max_length=10)
    last_sent_for: date | None = Field(default=None)  # the start of the last period sent
    created_at: datetime = created_at_field()

