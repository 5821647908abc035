"""Profiles (one real person) and their identities (presence on one platform)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field, updated_at_field
from crm.schemas import DbId, InputModel


class ProfileRole(StrEnum):
    influencer = "influencer"
    evangelist = "evangelist"
    moderator = "moderator"
    employee_advocate = "employee_advocate"
    customer = "customer"
    journalist = "journalist"
    partner = "partner"
    other = "other"


class ProfileStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    inactive = "inactive"
    do_not_contact = "do_not_contact"


class Platform(StrEnum):
    x = "x"
    instagram = "instagram"
    youtube = "youtube"
    tiktok = "tiktok"
    linkedin = "linkedin"
    github = "github"
    discourse = "discourse"
    reddit = "reddit"
    discord = "discord"
    slack = "slack"
    blog = "blog"
    email = "email"
    other = "other"


class ConsentBasis(StrEnum):
    none = ""
    consent = "consent"
    contract = "contract"
    legitimate_interest = "legitimate_interest"


def normalise_handle(platform: str, handle: str) -> str:
    """The key identities are unique on: case-folded, no leading @, no surrounding space."""
    key = handle.strip().casefold()
    if platform != Platform.email:
        key = key.lstrip("@")
    return key


class Profile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(max_length=200, index=True)
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    is_team_member: bool = Field(default=False)
    bio: str = Field(default="", max_length=5000)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    language: str = Field(default="", max_length=20)
    location: str = Field(default="", max_length=200)
    status: str = Field(default=ProfileStatus.prospect.value, max_length=20, index=True)
    may_contact: bool = Field(default=False)
    may_feature: bool = Field(default=False)
    consent_basis: str = Field(default="", max_length=30)
    consent_date: date | None = Field(default=None)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Identity(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "handle_key", name="uq_identity_platform_handle"),)

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    platform: str = Field(max_length=20)
    handle: str = Field(max_length=200)
    handle_key: str = Field(max_length=200, index=True)
    url: str = Field(default="", max_length=500)
    followers: int = Field(default=0, sa_type=BigInteger)
    following: int = Field(default=0, sa_type=BigInteger)
    posts: int = Field(default=0, sa_type=BigInteger)
    engagement_rate: float | None = Field(default=None)
    verified: bool = Field(default=False)
    last_synced_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# ---- request and response schemas (never table models) ---------------------------------------

# Counts are BIGINT columns (a channel can pass 2^31 followers).
MAX_COUNT = 10_000_000_000


def _clean_topics(topics: list[str]) -> list[str]:
    """Tags are lower-case, single-spaced and listed once."""
    seen: dict[str, None] = {}
    for topic in topics:
        tag = " ".join(topic.split()).lower()
        if len(tag) > 50:
            raise ValueError("a topic is at most 50 characters")
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


Topics = Annotated[list[str], PydField(max_length=50), AfterValidator(_clean_topics)]
Roles = Annotated[list[ProfileRole], PydField(max_length=8), AfterValidator(_unique)]


class IdentityIn(InputModel):

    platform: Platform
    handle: str = PydField(min_length=1, max_length=200)
    url: str = PydField(default="", max_length=500)
    followers: int = PydField(default=0, ge=0, le=MAX_COUNT)
    following: int = PydField(default=0, ge=0, le=MAX_COUNT)
    posts: int = PydField(default=0, ge=0, le=MAX_COUNT)
    engagement_rate: float | None = PydField(default=None, ge=0, le=100)
    verified: bool = False

    @field_validator("url")
    @classmethod
    def _url_is_web(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "mailto:")):
            raise ValueError("must start with http:// or https://")
        return value


class ProfileIn(InputModel):
    display_name: str = PydField(min_length=1, max_length=200)
    roles: Roles = PydField(default_factory=list)
    is_team_member: bool = False
    bio: str = PydField(default="", max_length=5000)
    topics: Topics = PydField(default_factory=list)
    language: str = PydField(default="", max_length=20)
    location: str = PydField(default="", max_length=200)
    status: ProfileStatus = ProfileStatus.prospect
    may_contact: bool = False
    may_feature: bool = False
    consent_basis: ConsentBasis = ConsentBasis.none
    consent_date: date | None = None
    owner_id: DbId | None = None
    identities: list[IdentityIn] = PydField(default_factory=list, max_length=50)


class ProfilePatch(InputModel):
    """Partial update: only the fields sent change. `identities`, when sent, replaces the list."""

    display_name: str | None = PydField(default=None, min_length=1, max_length=200)
    roles: Roles | None = None
    is_team_member: bool | None = None
    bio: str | None = PydField(default=None, max_length=5000)
    topics: Topics | None = None
    language: str | None = PydField(default=None, max_length=20)
    location: str | None = PydField(default=None, max_length=200)
    status: ProfileStatus | None = None
    may_contact: bool | None = None
    may_feature: bool | None = None
    consent_basis: ConsentBasis | None = None
    consent_date: date | None = None
    owner_id: DbId | None = None
    identities: list[IdentityIn] | None = PydField(default=None, max_length=50)


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    handle: str
    url: str
    followers: int
    following: int
    posts: int
    engagement_rate: float | None
    verified: bool
    last_synced_at: datetime | None


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    roles: list[str]
    is_team_member: bool
    bio: str
    topics: list[str]
    language: str
    location: str
    status: str
    may_contact: bool
    may_feature: bool
    consent_basis: str
    consent_date: date | None
    owner_id: int | None
    reach: int
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class ProfilePage(BaseModel):
    items: list[ProfileOut]
    total: int
    page: int
    per_page: int
    pages: int


def profile_snapshot(profile: Profile, identities: list[Identity]) -> dict[str, Any]:
    """What the audit log keeps of a profile, before and after a change."""
    data = profile.model_dump(mode="json", exclude={"created_at", "updated_at"})
    data["identities"] = [f"{i.platform}:{i.handle}" for i in identities]
    return data


# The people list sorts by lower(display_name); an expression index serves that order on both backends.
Index("ix_profile_display_name_lower", func.lower(Profile.display_name))  # type: ignore[arg-type]
