"""Recognition: an append-only points ledger (balances are sums of it, never stored), versioned point
rules, points held for review when they look gamed, badges and their awards, a rewards catalogue with
redemptions, and a record of every act of recognition (the "not yet thanked" queue reads it)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field
from crm.db import UTCDateTime
from crm.i18n import gettext
from crm.interactions.models import InteractionKind
from crm.schemas import OUT_CONFIG, DbId, InputModel


class EntryKind(StrEnum):
    earned = "earned"  # by a point rule, for one interaction
    awarded = "awarded"  # by hand (a thank-you with points, a close-out, a bulk award)
    reversal = "reversal"  # undoes an earned or awarded entry (corrections are never edits)
    spent = "spent"  # a redemption
    refund = "refund"  # a rejected redemption's points back


# Lifetime points are what was earned or awarded (net of reversals); spending does not lower them.
LIFETIME_KINDS = frozenset({EntryKind.earned, EntryKind.awarded, EntryKind.reversal})


class PointRuleSet(SQLModel, table=True):
    """One version of the point rules. The set in force for an interaction is the latest whose start is
    not after the interaction's date: new rules apply from their start."""

    __tablename__ = "point_rule_set"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # PointRuleIn dumps
    note: str = Field(default="", max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class PointEntry(SQLModel, table=True):
    __tablename__ = "point_entry"
    __table_args__ = (
        # Exactly once per interaction and rule version: re-imports and repeated re-scoring add nothing.
        # `generation` counts earlier grants for the same pair that were reversed (an edited interaction).
        UniqueConstraint("interaction_id", "rule_set_id", "generation", name="uq_point_entry_interaction_rules"),
        # One reversal per entry, even when two corrections race.
        UniqueConstraint("reverses_id", name="uq_point_entry_reverses"),
        Index("ix_point_entry_profile_created", "profile_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    amount: int
    kind: str = Field(max_length=20, index=True)
    reason: str = Field(default="", max_length=300)
    rule_set_id: int | None = Field(default=None, foreign_key="point_rule_set.id", ondelete="SET NULL")
    rule: str = Field(default="", max_length=60)  # which rule of the set: "post", "post@x"
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id", ondelete="SET NULL", index=True)
    generation: int = Field(default=0)
    reverses_id: int | None = Field(default=None, foreign_key="point_entry.id")
    redemption_id: int | None = Field(default=None, foreign_key="redemption.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class HoldStatus(StrEnum):
    pending = "pending"
    granted = "granted"
    rejected = "rejected"
    void = "void"  # the interaction was edited or deleted before anyone decided: it is judged afresh


class FlagKind(StrEnum):
    burst = "burst"  # far above the person's own daily history
    ring = "ring"  # a small group mostly interacting with each other
    duplicate = "duplicate"  # likely the same person as another earner


class FlagStatus(StrEnum):
    open = "open"  # points for this person are held; redemptions need approval
    cleared = "cleared"  # reviewed: nothing wrong
    confirmed = "confirmed"  # reviewed: gaming; points stay held until someone grants them


class GamingFlag(SQLModel, table=True):
    """A person flagged by the anti-gaming checks (a ring, a likely duplicate, a burst)."""

    __tablename__ = "gaming_flag"

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    detail: str = Field(default="", max_length=500)
    related: list[int] = Field(default_factory=list, sa_type=JSON)  # the others in the ring, the duplicate
    status: str = Field(default=FlagStatus.open.value, max_length=20, index=True)
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    reviewed_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()


class PointHold(SQLModel, table=True):
    """Points a rule would have granted but anti-gaming held back for a person to review. Granting
    appends the ledger entry; rejecting appends nothing. Both are audited."""

    __tablename__ = "point_hold"
    __table_args__ = (
        UniqueConstraint("interaction_id", "rule_set_id", "generation", name="uq_point_hold_interaction_rules"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    amount: int
    flag: str = Field(max_length=20)
    detail: str = Field(default="", max_length=500)  # why, in words
    rule_set_id: int | None = Field(default=None, foreign_key="point_rule_set.id", ondelete="SET NULL")
    rule: str = Field(default="", max_length=60)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id", ondelete="SET NULL")
    generation: int = Field(default=0)
    status: str = Field(default=HoldStatus.pending.value, max_length=20, index=True)
    entry_id: int | None = Field(default=None, foreign_key="point_entry.id", ondelete="SET NULL")
    decided_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    decided_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()


class Badge(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str = Field(default="", max_length=1000)
    symbol: str = Field(default="★", max_length=8)  # an emoji or a character shown on the badge
    manual: bool = Field(default=False)  # awarded by hand only
    criteria: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # BadgeCriteria dump
    active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class BadgeAward(SQLModel, table=True):
    __tablename__ = "badge_award"
    __table_args__ = (UniqueConstraint("badge_id", "profile_id", name="uq_badge_award"),)

    id: int | None = Field(default=None, primary_key=True)
    badge_id: int = Field(foreign_key="badge.id", ondelete="CASCADE", index=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    reason: str = Field(default="", max_length=300)
    automatic: bool = Field(default=False)
    awarded_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    awarded_at: datetime = created_at_field(index=True)


class RewardCategory(StrEnum):
    swag = "swag"
    gift = "gift"
    experience = "experience"
    discount = "discount"
    donation = "donation"
    shout_out = "shout_out"


class Reward(SQLModel, table=True):
    __table_args__ = (CheckConstraint("stock IS NULL OR stock >= 0", name="ck_reward_stock"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=20)
    description: str = Field(default="", max_length=2000)
    cost: int
    stock: int | None = Field(default=None)  # None: unlimited
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class RedemptionStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    fulfilled = "fulfilled"
    rejected = "rejected"


class Redemption(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reward_id: int = Field(foreign_key="reward.id", ondelete="RESTRICT", index=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    cost: int
    status: str = Field(default=RedemptionStatus.requested.value, max_length=20, index=True)
    needs_approval: bool = Field(default=True)
    why_approval: str = Field(default="", max_length=300)
    shipping: str = Field(default="", max_length=1000)
    tracking: str = Field(default="", max_length=300)
    note: str = Field(default="", max_length=1000)
    requested_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    decided_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    decided_at: datetime | None = optional_datetime_field()
    fulfilled_at: datetime | None = optional_datetime_field()


class RecognitionKind(StrEnum):
    thanks = "thanks"
    points = "points"
    badge = "badge"
    reward = "reward"


class Recognition(SQLModel, table=True):
    """Every time a person was recognised by us (not automatic rule points): the "not yet thanked"
    queue is the people whose contributions are newer than their latest row here."""

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)
    note: str = Field(default="", max_length=1000)
    points: int = Field(default=0)
    badge_id: int | None = Field(default=None, foreign_key="badge.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()

    __table_args__ = (Index("ix_recognition_profile_created", "profile_id", "created_at"),)


class PublicLinkKind(StrEnum):
    leaderboard = "leaderboard"
    card = "card"


class PublicLink(SQLModel, table=True):
    """An unguessable, revocable address for a read-only public page: the opt-in leaderboard, or one
    person's card (only for people whose consent allows featuring)."""

    __tablename__ = "public_link"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    profile_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="CASCADE", index=True)
    token: str = Field(max_length=64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_datetime_field()


# ---- request and response schemas -----------------------------------------------------------------

MAX_POINTS = 100_000


class PointRuleIn(InputModel):
    kind: InteractionKind
    channel: str = PydField(default="", max_length=30, description="Only on this channel; empty: any channel")
    points: int = PydField(ge=1, le=10_000, description="Points per interaction (1..10,000)")
    daily_cap: int | None = PydField(default=None, ge=1, le=MAX_POINTS,
                                     description="At most this many points a day from this rule, per person")

    @field_validator("channel", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def key(self) -> str:
        return f"{self.kind.value}@{self.channel}" if self.channel else self.kind.value


class PointRuleSetIn(InputModel):
    starts_at: datetime | None = PydField(default=None, description="From when it applies; left out: now")
    rules: list[PointRuleIn] = PydField(max_length=200, description="At least one: a version without rules would "
                                        "switch every point off")
    note: str = PydField(default="", max_length=1000)

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(gettext("Give the time zone too, like 2026-03-31T14:30:00+02:00."))
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value

    @field_validator("rules")
    @classmethod
    def _some_rules(cls, value: list[PointRuleIn]) -> list[PointRuleIn]:
        if not value:
            raise ValueError(gettext("Give points to at least one kind."))
        return value

    @model_validator(mode="after")
    def _one_rule_per_key(self) -> PointRuleSetIn:
        keys = [r.key for r in self.rules]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(gettext("One rule per kind and channel: %(keys)s appear twice.") % {"keys": ", ".join(twice)})
        return self


class AwardIn(InputModel):
    """Points by hand, to one or several people (a thank-you with points)."""

    profile_ids: list[DbId] = PydField(min_length=1, max_length=500)
    points: int = PydField(ge=1, le=MAX_POINTS)
    reason: str = PydField(min_length=1, max_length=300)


class EntryOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    profile_id: int
    amount: int
    kind: EntryKind
    reason: str
    rule: str
    rule_set_id: int | None
    interaction_id: int | None
    reverses_id: int | None
    redemption_id: int | None
    created_by_id: int | None
    created_at: datetime


class BalanceOut(BaseModel):
    profile_id: int
    current: int = PydField(description="Spendable: everything in the ledger")
    lifetime: int = PydField(description="Earned and awarded, net of reversals; spending does not lower it")
    held: int = PydField(description="Held for review, not granted yet")
