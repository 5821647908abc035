"""Campaigns: what we want to achieve with whom. A campaign has KPIs with targets, a pipeline of
members (people at a stage, with a fee, notes and a next step), tasks with owners and deadlines,
and deliverables, which are the interactions linked to it (Interaction.campaign_id)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, field_validator
from pydantic import Field as PydField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, BigInteger, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field, updated_at_field
from crm.i18n import N_, gettext
from crm.schemas import OUT_CONFIG, DbId, InputModel, all_optional


class CampaignStatus(StrEnum):
    draft = "draft"
    planning = "planning"
    active = "active"
    completed = "completed"
    archived = "archived"


OPEN_STATUSES = frozenset({CampaignStatus.draft, CampaignStatus.planning, CampaignStatus.active})


class Stage(StrEnum):
    """A member's place in the pipeline, in board order."""

    candidate = "candidate"
    shortlisted = "shortlisted"
    contacted = "contacted"
    negotiating = "negotiating"
    confirmed = "confirmed"
    content_live = "content_live"
    completed = "completed"
    declined = "declined"


STAGES = list(Stage)
# Members at these stages take part (they count in the report, the roster's fees and the close-out).
TAKING_PART = frozenset({Stage.confirmed, Stage.content_live, Stage.completed})


class KpiMetric(StrEnum):
    reach = "reach"  # summed over the deliverables
    engagements = "engagements"  # summed over the deliverables
    contributions = "contributions"  # members' contributions linked to the campaign
    signups = "signups"  # entered by hand
    custom = "custom"  # any number, named by its label, entered by hand


MEASURED = frozenset({KpiMetric.reach, KpiMetric.engagements, KpiMetric.contributions})
KPI_LABELS = {
    KpiMetric.reach: N_("Reach"),
    KpiMetric.engagements: N_("Engagements"),
    KpiMetric.contributions: N_("Contributions"),
    KpiMetric.signups: N_("Sign-ups"),
    KpiMetric.custom: N_("Custom"),
}


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    objective: str = Field(default="", max_length=2000)
    brief: str = Field(default="", sa_type=Text)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    keywords: list[str] = Field(default_factory=list, sa_type=JSON)
    starts_on: date | None = Field(default=None)
    ends_on: date | None = Field(default=None)
    status: str = Field(default=CampaignStatus.draft.value, max_length=20, index=True)
    budget: float | None = Field(default=None)
    currency: str = Field(default="EUR", max_length=3)
    target_reach: int | None = Field(default=None, sa_type=BigInteger)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    completed_at: datetime | None = optional_datetime_field()


class CampaignKpi(SQLModel, table=True):
    __tablename__ = "campaign_kpi"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    metric: str = Field(max_length=20)
    label: str = Field(default="", max_length=100)  # a custom KPI's name
    target: float = Field(default=0.0)
    actual: float | None = Field(default=None)  # entered by hand (sign-ups, custom); measured ones are computed
    position: int = Field(default=0)


class CampaignMember(SQLModel, table=True):
    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("campaign_id", "profile_id", name="uq_campaign_member"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    stage: str = Field(default=Stage.candidate.value, max_length=20)
    fee: float | None = Field(default=None)
    notes: str = Field(default="", max_length=5000)
    next_step: str = Field(default="", max_length=300)
    next_step_on: date | None = Field(default=None)
    thanked_at: datetime | None = optional_datetime_field()  # the close-out's thank-you
    added_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    stage_changed_at: datetime = created_at_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CampaignTask(SQLModel, table=True):
    __tablename__ = "campaign_task"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    goal: str = Field(default="", max_length=200)  # tasks are grouped under the goal they serve
    title: str = Field(max_length=300)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    due_on: date | None = Field(default=None, index=True)
    profile_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL", index=True)
    done_at: datetime | None = optional_datetime_field(index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CampaignQuote(SQLModel, table=True):
    """A notable response the CM picked for the report, from a linked interaction or typed in."""

    __tablename__ = "campaign_quote"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id", ondelete="SET NULL")
    profile_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL")
    text: str = Field(max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


# ---- request and response schemas (never table models) ---------------------------------------

MAX_MONEY = 1_000_000_000_000.0
MAX_TARGET = 10_000_000_000_000.0


def _terms(values: list[str]) -> list[str]:
    """"a, b" and ["a", "b"] alike; trimmed, no blanks, no repeats (case-insensitive), at most 20."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        for part in str(value).split(","):
            term = " ".join(part.split())
            if len(term) > 50:
                raise PydanticCustomError("too_long", gettext("Keep each one under 50 characters."))
            if term and term.casefold() not in seen:
                seen.add(term.casefold())
                cleaned.append(term)
    if len(cleaned) > 20:
        raise PydanticCustomError("too_many", gettext("Use at most 20."))
    return cleaned


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value  # a form's "a, b" text


Terms = Annotated[list[str], BeforeValidator(_listed), AfterValidator(_terms)]
LowerTerms = Annotated[list[str], BeforeValidator(_listed), AfterValidator(lambda values: [t.lower() for t in _terms(values)])]


class CampaignFields(BaseModel):
    name: str = PydField(min_length=1, max_length=200)
    objective: str = PydField(default="", max_length=2000, description="What the campaign should achieve")
    brief: str = PydField(default="", max_length=20_000, description="What we ask of the people in it")
    topics: LowerTerms = PydField(default_factory=list, description="Topics (lower-case), also as a comma list")
    keywords: Terms = PydField(default_factory=list, description="Words to look for in bios and recent posts")
    starts_on: date | None = None
    ends_on: date | None = None
    status: CampaignStatus = CampaignStatus.draft
    budget: float | None = PydField(default=None, ge=0, le=MAX_MONEY)
    currency: str = PydField(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, like EUR or USD")
    target_reach: int | None = PydField(default=None, ge=0, le=10_000_000_000)
    owner_id: DbId | None = PydField(default=None, description="The user in charge")

    @field_validator("starts_on", "ends_on")
    @classmethod
    def _sane_year(cls, value: date | None) -> date | None:
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class CampaignIn(CampaignFields, InputModel):
    """A new campaign, or all of its fields. It may not end before it starts."""

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: Any) -> date | None:
        start = info.data.get("starts_on")
        if value is not None and start is not None and value < start:
            raise ValueError(gettext("The end cannot be before the start."))
        return value


_PATCH_DOC = "Partial update: only the fields sent change."
if TYPE_CHECKING:  # mypy cannot follow a class built at run time; to it, a patch is the full schema
    CampaignPatch = CampaignIn
else:
    CampaignPatch = all_optional(CampaignIn, "CampaignPatch", _PATCH_DOC)


class CampaignOut(CampaignFields):
    model_config = OUT_CONFIG

    id: int
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class KpiIn(InputModel):
    metric: KpiMetric
    label: str = PydField(default="", max_length=100, validate_default=True, description="Required for a custom KPI")
    target: float = PydField(ge=0, le=MAX_TARGET)
    actual: float | None = PydField(default=None, ge=0, le=MAX_TARGET,
                                    description="Sign-ups and custom KPIs only; the others are measured")

    @field_validator("label")
    @classmethod
    def _custom_needs_label(cls, value: str, info: Any) -> str:
        if info.data.get("metric") == KpiMetric.custom and not value:
            raise ValueError(gettext("Name the custom KPI."))
        return value

    @field_validator("actual")
    @classmethod
    def _measured_has_no_actual(cls, value: float | None, info: Any) -> float | None:
        if info.data.get("metric") in MEASURED and value is not None:
            raise ValueError(gettext("This one is measured from the deliverables; leave it empty."))
        return value


class KpiOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    metric: KpiMetric
    label: str
    target: float
    actual: float | None


class MemberIn(InputModel):
    profile_id: DbId
    stage: Stage = Stage.candidate
    fee: float | None = PydField(default=None, ge=0, le=MAX_MONEY)
    notes: str = PydField(default="", max_length=5000)


class MembersIn(InputModel):
    """Several people at once (from discovery or the roster builder)."""

    profile_ids: list[DbId] = PydField(min_length=1, max_length=200)
    stage: Stage = Stage.candidate


class MemberPatch(InputModel):
    fee: float | None = PydField(default=None, ge=0, le=MAX_MONEY)
    notes: str | None = PydField(default=None, max_length=5000)
    next_step: str | None = PydField(default=None, max_length=300)
    next_step_on: date | None = None

    @field_validator("next_step_on")
    @classmethod
    def _sane_year(cls, value: date | None) -> date | None:
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value


class StageIn(InputModel):
    stage: Stage
    reopen: bool = PydField(default=False, description="Needed to move a declined member back into the pipeline")


class MemberOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    campaign_id: int
    profile_id: int
    stage: Stage
    fee: float | None
    notes: str
    next_step: str
    next_step_on: date | None
    thanked_at: datetime | None
    stage_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class TaskIn(InputModel):
    title: str = PydField(min_length=1, max_length=300)
    goal: str = PydField(default="", max_length=200, description="The goal it serves; tasks are grouped by it")
    owner_id: DbId | None = None
    due_on: date | None = None
    profile_id: DbId | None = PydField(default=None, description="The person it is about, if any")

    @field_validator("due_on")
    @classmethod
    def _sane_year(cls, value: date | None) -> date | None:
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value


if TYPE_CHECKING:
    TaskPatch = TaskIn
else:
    TaskPatch = all_optional(TaskIn, "TaskPatch", _PATCH_DOC)


class TaskDoneIn(InputModel):
    done: bool = True


class TaskOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    campaign_id: int
    goal: str
    title: str
    owner_id: int | None
    due_on: date | None
    profile_id: int | None
    done_at: datetime | None
    created_at: datetime


class QuoteIn(InputModel):
    text: str = PydField(min_length=1, max_length=2000)
    interaction_id: DbId | None = None
    profile_id: DbId | None = None


class QuoteOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    campaign_id: int
    interaction_id: int | None
    profile_id: int | None
    text: str
    created_at: datetime
