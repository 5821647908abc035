"""Profiles (one real person) and their identities (presence on one platform)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import Field as PydField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, BigInteger, Index, SmallInteger, Text, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field, updated_at_field
from crm.i18n import gettext
from crm.profiles.identity_urls import NotAProfileLink, fill_identity, is_web_address, parse_profile_link, with_scheme
from crm.schemas import OUT_CONFIG, DbId, InputModel, all_optional


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
    # A deleted person's id is never given to someone new: the audit log and links point at ids.
    __table_args__ = {"sqlite_autoincrement": True}

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
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    # Derived and server-owned (crm.profiles.stats keeps them current): stored so that lists can
    # filter and sort 100,000 people by them through an index instead of aggregating every row.
    reach: int = Field(default=0, sa_type=BigInteger, index=True)
    contribution_count: int = Field(default=0, index=True)
    last_activity_at: datetime | None = optional_datetime_field(index=True)
    search_text: str = Field(default="", sa_type=Text)  # folded names, handles, bio, topics, tags, location
    sort_name: str = Field(default="", max_length=200, index=True)  # folded: "Álvaro" sorts with "Alvaro", not after "Zoe"
    # Scores of the latest computation (only crm.ranking.service writes them), stored for the same reason.
    score: float = Field(default=0.0, index=True)  # combined, 0..100
    score_rank: int | None = Field(default=None, index=True)  # 1 = best; None for team members and the unscored
    level: int = Field(default=4, sa_type=SmallInteger, index=True)  # 1 champion .. 4 observer
    advocacy: float = Field(default=0.0, index=True)
    influence: float = Field(default=0.0, index=True)  # 1.0 is the average person
    level_below_runs: int = Field(default=0)  # computations in a row below the level's threshold (hysteresis)
    scored_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field(index=True)  # "has anything changed?" (crm.ranking)


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
    updated_at: datetime = updated_at_field(index=True)  # "has anything changed?" (crm.ranking)


# ---- request and response schemas (never table models) ---------------------------------------
# Each editable field is declared once, with its rules, in ProfileFields and IdentityFields. The
# request bodies, the partial update, the responses, the HTML form and the seed loader derive from
# them; the tables above are the storage (tests/unit/test_profile_schemas.py keeps the two in step).

# Counts are BIGINT columns (a channel can pass 2^31 followers).
MAX_COUNT = 10_000_000_000
HANDLE_MAX = 200  # the handle and handle_key columns


def _clean_tag(tag: str) -> str:
    return " ".join(tag.split()).lower()


def _clean_topics(topics: list[str]) -> list[str]:
    """Tags are lower-case, single-spaced and listed once."""
    seen: dict[str, None] = {}
    for topic in topics:
        tag = _clean_tag(topic)
        if len(tag) > 50:
            raise ValueError("a topic is at most 50 characters")
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


Topics = Annotated[list[str], PydField(max_length=50), AfterValidator(_clean_topics)]
Roles = Annotated[list[ProfileRole], PydField(max_length=8), AfterValidator(_unique)]


class IdentityFields(BaseModel):
    """An identity's editable fields and their rules."""

    platform: Platform
    handle: str = PydField(min_length=1, max_length=HANDLE_MAX)
    url: str = PydField(default="", max_length=500)
    followers: int = PydField(default=0, ge=0, le=MAX_COUNT)
    following: int = PydField(default=0, ge=0, le=MAX_COUNT)
    posts: int = PydField(default=0, ge=0, le=MAX_COUNT)
    engagement_rate: float | None = PydField(default=None, ge=0, le=100)
    verified: bool = False


def _link_is_enough(schema: dict[str, Any]) -> None:
    """The API document says what the schema accepts: platform and handle may come from the url."""
    schema["required"] = [name for name in schema.get("required", []) if name not in ("platform", "handle")]
    if not schema["required"]:
        del schema["required"]
    schema["anyOf"] = [{"required": ["url"]}, {"required": ["platform", "handle"]}]


class IdentityIn(IdentityFields, InputModel):
    """An identity. A profile link is enough: with `url` alone, `platform` and `handle` are read from
    it (x.com, twitter.com, instagram, youtube @handle and /channel/ID, tiktok, linkedin /in/, github,
    reddit /u/, a Discourse /u/name page, any other site as a blog); with `platform` and `handle`
    alone, `url` is built where the platform allows. Handles are stored without a leading @."""

    model_config = ConfigDict(json_schema_extra=_link_is_enough)

    @model_validator(mode="before")
    @classmethod
    def _fill_from_link(cls, data: Any) -> Any:
        """Fill platform and handle from the URL and the URL from the handle (crm.profiles.identity_urls),
        once, here, so that the API, the form and the importers agree."""
        return fill_identity(data) if isinstance(data, dict) else data

    @model_validator(mode="wrap")
    @classmethod
    def _as_sent(cls, data: Any, handler: ModelWrapValidatorHandler[IdentityIn]) -> IdentityIn:
        """Runs around the filling above (a wrap validator defined later runs first). A URL built from
        the handle was not sent, so an identity that stays keeps its stored one; and a URL that cannot
        be read is the one problem reported, not also the platform and handle it did not give."""
        try:
            identity = handler(data)
        except ValidationError as exc:
            errors: list[Any] = exc.errors()
            unread = _unread_link(data) if any(e["loc"] == ("handle",) and e["type"] == "missing" for e in errors) else ""
            if unread:
                errors.append({"type": PydanticCustomError("profile_link", unread), "loc": ("url",), "input": data["url"]})
            if any(error["loc"] == ("url",) for error in errors):
                errors = [e for e in errors if not (e["type"] == "missing" and e["loc"] in (("platform",), ("handle",)))]
                raise ValidationError.from_exception_data(exc.title, errors) from None
            if any(e["loc"] == ("platform",) and e["type"] == "missing" for e in errors):
                # A handle alone cannot say where it lives: say what to do rather than "field required".
                errors = [e for e in errors if not (e["loc"] == ("platform",) and e["type"] == "missing")]
                errors.append({"type": PydanticCustomError("platform_needed", gettext(
                    "Choose the platform, or paste a link to the profile.")), "loc": ("platform",), "input": data})
                raise ValidationError.from_exception_data(exc.title, errors) from None
            raise
        if isinstance(data, dict) and "url" not in data:
            identity.__pydantic_fields_set__.discard("url")
        return identity

    @field_validator("url")
    @classmethod
    def _url_is_web(cls, value: str) -> str:
        if value and not is_web_address(value):
            raise ValueError(gettext("This is not a web address: paste a link such as https://x.com/name."))
        return value

    @field_validator("handle")
    @classmethod
    def _handle_has_a_key(cls, handle: str, info: ValidationInfo) -> str:
        """Identities are unique on the normalised handle, so it must not be empty ("@") nor longer
        than its column ("ß" case-folds to "ss")."""
        key = normalise_handle(info.data.get("platform", Platform.other), handle)
        if not key:
            raise ValueError(gettext("A handle needs more than @ signs."))
        if len(key) > HANDLE_MAX:
            raise ValueError(gettext("This handle is too long: in lower case it has more than %(n)d characters.")
                             % {"n": HANDLE_MAX})
        return handle


def _unread_link(data: Any) -> str:
    """Why a URL that is a web address gave no handle: not a profile page, or another platform's."""
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not is_web_address(with_scheme(url)):
        return ""
    platform = data.get("platform") if isinstance(data.get("platform"), str) else ""
    try:
        link = parse_profile_link(url)
    except NotAProfileLink:
        return gettext("This link is not a profile page: paste the address of the person's profile.")
    if platform and link.platform != platform:
        return gettext("This link is for %(found)s, not %(chosen)s: choose %(found)s or type the handle.") % {
            "found": link.platform, "chosen": platform}
    return ""


class ProfileFields(BaseModel):
    """A profile's editable fields and their rules."""

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
    tags: Topics = PydField(default_factory=list)


class ProfileIn(ProfileFields, InputModel):
    """A whole profile. Identities are the complete list: those left out are removed, and a field
    left out of an identity that stays keeps its stored value."""

    identities: list[IdentityIn] = PydField(default_factory=list, max_length=50)


_PATCH_DOC = "Partial update: only the fields sent change. `identities`, when sent, replaces the list."
if TYPE_CHECKING:  # mypy cannot follow a class built at run time; to it, a patch is a ProfileIn
    ProfilePatch = ProfileIn
else:
    ProfilePatch = all_optional(ProfileIn, "ProfilePatch", _PATCH_DOC)



class IdentityOut(IdentityFields):
    model_config = OUT_CONFIG

    id: int
    last_synced_at: datetime | None


class ProfileOut(ProfileFields):
    model_config = OUT_CONFIG

    id: int
    reach: int
    contribution_count: int
    last_activity_at: datetime | None
    score: float
    score_rank: int | None
    level: int
    advocacy: float
    influence: float
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


def stored_values(data: BaseModel, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of `data` as their columns store them: enums as their text."""
    return {name: _stored(getattr(data, name)) for name in names}


def _stored(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_stored(item) for item in value]
    return value


# Server-owned columns computed from identities and interactions (never from a request).
DERIVED_FIELDS = frozenset({"reach", "contribution_count", "last_activity_at", "search_text", "sort_name"})
# Written by crm.ranking.service after each computation.
SCORE_FIELDS = frozenset({"score", "score_rank", "level", "advocacy", "influence", "level_below_runs", "scored_at"})


def profile_snapshot(profile: Profile, identities: list[Identity]) -> dict[str, Any]:
    """What the audit log keeps of a profile, before and after a change."""
    data = profile.model_dump(mode="json", exclude={"created_at", "updated_at", *DERIVED_FIELDS, *SCORE_FIELDS})
    data["identities"] = [f"{i.platform}:{i.handle}" for i in identities]
    return data


# The people list sorts by lower(display_name); an expression index serves that order on both backends.
Index("ix_profile_display_name_lower", func.lower(Profile.display_name))  # type: ignore[arg-type]
