"""Finding people: words, filters, order and page (the people list, the API list, exports, saved views).

Words are matched against `profile.search_text` (names, handles, bio, topics, tags and location, folded
by crm.profiles.stats): on SQLite through the FTS5 trigram table `profile_fts` (migration 0007), on
PostgreSQL through a pg_trgm GIN index on the column; terms shorter than three characters, which a
trigram index cannot serve, fall back to a LIKE over the column. Every other filter reads a stored,
indexed column or an EXISTS over identities or interactions, so nothing is aggregated per request."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic import Field as PydField
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    or_,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.db import utcnow
from crm.i18n import N_
from crm.interactions.models import CONTRIBUTION_KINDS, OUR_KINDS, Interaction, InteractionKind
from crm.profiles.models import MAX_COUNT, Identity, Platform, Profile, ProfileRole, ProfileStatus, _clean_tag
from crm.profiles.stats import fold

# The search index's objects, created by migration 0007 and unknown to the models: Alembic's
# autogenerate and the drift test leave them alone (see `not_search_index`).
FTS_TABLE = "profile_fts"
PG_TRGM_INDEX = "ix_profile_search_text_trgm"
MIN_INDEXED_TERM = 3  # a trigram index needs three characters
MAX_TERMS = 5


class SortKey(StrEnum):
    name = "name"
    reach = "reach"
    contributions = "contributions"
    last_activity = "last_activity"
    status = "status"
    language = "language"
    created = "created"
    updated = "updated"
    score = "score"
    rank = "rank"
    level = "level"
    advocacy = "advocacy"
    influence = "influence"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class TeamFilter(StrEnum):
    any = "any"
    yes = "yes"
    no = "no"


class ActivityMode(StrEnum):
    did = "did"
    did_not = "did_not"


# "has / has not done KIND": an interaction kind, or one of these groups.
ACTIVITY_GROUPS = {"any": N_("anything"), "contribution": N_("any contribution")}
ACTIVITY_KINDS = (*ACTIVITY_GROUPS, *(k.value for k in InteractionKind))

# The list's columns, in the order they appear (the name is always shown); `cols` chooses among them.
COLUMNS = {
    "roles": N_("Roles"),
    "identities": N_("Identities"),
    "reach": N_("Reach"),
    "score": N_("Score"),
    "rank": N_("Rank"),
    "level": N_("Level"),
    "contributions": N_("Contributions"),
    "last_activity": N_("Last activity"),
    "language": N_("Language"),
    "location": N_("Location"),
    "consent": N_("Consent"),
    "status": N_("Status"),
    "owner": N_("Owner"),
    "created": N_("Created"),
    "updated": N_("Updated"),
}
# Language is one click away (cols): with the score and the level, ten columns no longer fit a laptop screen.
DEFAULT_COLUMNS = ("roles", "identities", "reach", "score", "level", "contributions", "last_activity", "consent", "status")
# Which column each sort key belongs to (a header of a shown column sorts by it).
SORT_OF_COLUMN = {"reach": "reach", "score": "score", "rank": "rank", "level": "level", "contributions": "contributions",
                  "last_activity": "last_activity", "language": "language", "status": "status", "created": "created",
                  "updated": "updated"}


def _check_kind(value: str) -> str:
    value = value.strip().lower()
    if value and value not in ACTIVITY_KINDS:
        raise ValueError("unknown interaction kind")
    return value


def _check_owner(value: str) -> str:
    value = value.strip().lower()
    if value and value != "none" and not (value.isascii() and value.isdigit() and 1 <= int(value) <= 2**31 - 1):
        raise ValueError('an owner is a user id or "none"')
    return value


def _check_cols(value: str) -> str:
    keys = [key.strip() for key in value.split(",") if key.strip()]
    unknown = [key for key in keys if key not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column: {unknown[0][:30]}")
    return ",".join(dict.fromkeys(keys))


Tag = Annotated[str, AfterValidator(_clean_tag)]
Count = Annotated[int | None, PydField(default=None, ge=0, le=MAX_COUNT)]
ScoreBound = Annotated[float | None, PydField(default=None, ge=0, le=100, allow_inf_nan=False)]


class ListQuery(BaseModel):
    """How to list people: words, filters, order, page and columns, as flat query parameters (URLs and
    saved views carry `model_dump(mode="json", exclude_defaults=True)`). The API validates it strictly
    (a bad value is a 422); the people page is forgiving (a bad value falls back to its default)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True, extra="forbid")

    q: str = PydField(default="", max_length=200,
                      description="Words to find in names, handles, bio, topics, tags and location (accents and case ignored)")
    status: ProfileStatus | None = None
    role: ProfileRole | None = None
    topic: Tag = PydField(default="", max_length=50, description="Only people with this topic")
    tag: Tag = PydField(default="", max_length=50, description="Only people with this tag")
    platform: Platform | None = PydField(default=None, description="Only people with an identity on this platform "
                                                                   "(and the follower range applies to it)")
    followers_min: Count = PydField(default=None, description="At least this many followers on one identity "
                                                              "(on `platform` when given)")
    followers_max: Count = PydField(default=None, description="At most this many followers on that identity")
    reach_min: Count = PydField(default=None, description="Reach (followers over all identities) at least")
    reach_max: Count = PydField(default=None, description="Reach at most")
    level: int | None = PydField(default=None, ge=1, le=4,
                                 description="Level: 1 champion, 2 advocate, 3 contributor, 4 observer")
    score_min: ScoreBound = PydField(default=None, description="Combined score (0-100) at least")
    score_max: ScoreBound = PydField(default=None, description="Combined score (0-100) at most")
    language: str = PydField(default="", max_length=20, description="Language code, e.g. es (es also finds es-MX)")
    location: str = PydField(default="", max_length=100, description="Location contains this text")
    may_contact: bool | None = None
    may_feature: bool | None = None
    owner: Annotated[str, AfterValidator(_check_owner)] = PydField(
        default="", max_length=12, description='Owner user id, or "none" for people without an owner')
    team: TeamFilter = PydField(default=TeamFilter.any, description="Team members: yes, no or any")
    activity: ActivityMode = PydField(default=ActivityMode.did,
                                      description="With `kind`: did, or did_not, that in the last `days` days")
    kind: Annotated[str, AfterValidator(_check_kind)] = PydField(
        default="", max_length=30, description="Interaction kind, or 'contribution' / 'any'")
    days: int = PydField(default=30, ge=1, le=3650, description="The window for `kind`, in days")
    sort: SortKey = SortKey.name
    order: SortOrder = SortOrder.asc
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=200)
    cols: Annotated[str, AfterValidator(_check_cols)] = PydField(
        default="", max_length=300, description="Comma list of columns to show (the page's default set when empty)")

    @field_validator("reach_max", "followers_max", "score_max")
    @classmethod
    def _ranges_in_order(cls, high: Any, info: ValidationInfo) -> Any:
        # On the max field (not the whole model), so that the forgiving people page drops just it.
        low = info.data.get(str(info.field_name).replace("_max", "_min"))
        if low is not None and high is not None and low > high:
            raise ValueError(f"{str(info.field_name).replace('_max', '_min')} is larger than {info.field_name}")
        return high

    @property
    def descending(self) -> bool:
        return self.order == SortOrder.desc

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.cols.split(",")) if self.cols else DEFAULT_COLUMNS

    def filters(self) -> dict[str, Any]:
        """The filters in use (not words, order, page or columns), as the URL carries them."""
        data = self.model_dump(mode="json", exclude_defaults=True,
                               exclude={"q", "sort", "order", "page", "per_page", "cols"})
        if not self.kind:  # the activity window alone filters nothing
            data.pop("activity", None)
            data.pop("days", None)
        return data


FILTER_FIELDS = tuple(name for name in ListQuery.model_fields if name not in ("q", "sort", "order", "page", "per_page", "cols"))


@dataclass
class ProfileRow:
    profile: Profile
    reach: int
    identities: list[Identity] = field(default_factory=list)


@dataclass
class ProfileListing:
    rows: list[ProfileRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_pattern(term: str) -> str:
    return f"%{_escape_like(term)}%"


def _json_element(value: str) -> str:
    return f"%{_escape_like(json.dumps(value))}%"


def search_terms(q: str) -> list[str]:
    """The query's words, folded like search_text ("Gómez" -> "gomez", "@ana" -> "ana")."""
    terms = []
    for word in fold(q.replace("\x00", "")).split():
        word = word.lstrip("@")
        if word and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class WordsMatch(ColumnElement[bool]):
    """Every term is in profile.search_text. Compiled per database: on SQLite the terms of three or more
    characters go through the FTS5 trigram table, on PostgreSQL each term is a LIKE that the pg_trgm GIN
    index serves; shorter terms are a LIKE over the column everywhere. One expression for both, so
    `matching_ids(params)` needs no session to know the database."""

    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is: no "= 1" on SQLite, which would hide the IN from the planner
    inherit_cache = False  # its bind values are made at compile time: never reuse a compiled form

    def __init__(self, terms: list[str]) -> None:
        self.terms = tuple(terms)


def _like_terms(terms: Sequence[str]) -> list[Any]:
    return [col(Profile.search_text).like(_like_pattern(term), escape="\\") for term in terms]


@compiles(WordsMatch)
def _words_like(element: WordsMatch, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(and_(*_like_terms(element.terms)), **kw))


@compiles(WordsMatch, "sqlite")
def _words_fts(element: WordsMatch, compiler: Any, **kw: Any) -> str:
    long_terms = [t for t in element.terms if len(t) >= MIN_INDEXED_TERM]
    parts = _like_terms([t for t in element.terms if len(t) < MIN_INDEXED_TERM])
    if long_terms:  # one MATCH for all: the trigram index finds each as a substring
        match = " AND ".join(_fts_phrase(t) for t in long_terms)
        fts = table(FTS_TABLE, column("rowid"))
        ids = select(fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(bindparam(None, match, unique=True)))
        parts.insert(0, col(Profile.id).in_(ids))
    return str(compiler.process(and_(*parts), **kw))


def _activity_kinds(kind: str) -> list[str] | None:
    if kind == "any":
        return None  # anything they did (not what we did to them)
    if kind == "contribution":
        return sorted(k.value for k in CONTRIBUTION_KINDS)
    return [kind]


def _conditions(params: ListQuery) -> list[Any]:
    p = Profile
    terms = search_terms(params.q)
    conditions: list[Any] = [WordsMatch(terms)] if terms else []
    if params.status:
        conditions.append(col(p.status) == params.status.value)
    # roles, topics and tags are JSON lists: match the element as JSON text, which reads the same on
    # SQLite and PostgreSQL (json keeps the text it was given, escapes included).
    if params.role:
        conditions.append(cast(col(p.roles), Text).like(_json_element(params.role.value), escape="\\"))
    if params.topic:
        conditions.append(cast(col(p.topics), Text).like(_json_element(params.topic.replace("\x00", "")), escape="\\"))
    if params.tag:
        conditions.append(cast(col(p.tags), Text).like(_json_element(params.tag.replace("\x00", "")), escape="\\"))
    if params.platform or params.followers_min is not None or params.followers_max is not None:
        on_identity = [col(Identity.profile_id) == col(p.id)]
        if params.platform:
            on_identity.append(col(Identity.platform) == params.platform.value)
        if params.followers_min is not None:
            on_identity.append(col(Identity.followers) >= params.followers_min)
        if params.followers_max is not None:
            on_identity.append(col(Identity.followers) <= params.followers_max)
        conditions.append(exists().where(*on_identity))
    if params.reach_min is not None:
        conditions.append(col(p.reach) >= params.reach_min)
    if params.reach_max is not None:
        conditions.append(col(p.reach) <= params.reach_max)
    if params.level is not None:
        conditions.append(col(p.level) == params.level)
    if params.score_min is not None:
        conditions.append(col(p.score) >= params.score_min)
    if params.score_max is not None:
        conditions.append(col(p.score) <= params.score_max)
    if params.language:
        language = params.language.replace("\x00", "").lower()
        conditions.append(or_(func.lower(p.language) == language,
                              func.lower(p.language).like(_escape_like(language) + "-%", escape="\\")))
    if params.location:
        location = params.location.replace("\x00", "")
        conditions.append(or_(func.lower(p.location).like(_like_pattern(location.lower()), escape="\\"),
                              col(p.location).like(_like_pattern(location), escape="\\")))
    if params.may_contact is not None:
        conditions.append(col(p.may_contact) == params.may_contact)
    if params.may_feature is not None:
        conditions.append(col(p.may_feature) == params.may_feature)
    if params.owner == "none":
        conditions.append(col(p.owner_id).is_(None))
    elif params.owner:
        conditions.append(col(p.owner_id) == int(params.owner))
    if params.team == TeamFilter.yes:
        conditions.append(col(p.is_team_member).is_(True))
    elif params.team == TeamFilter.no:
        conditions.append(col(p.is_team_member).is_(False))
    if params.kind:
        since = utcnow() - timedelta(days=params.days)
        did = [col(Interaction.profile_id) == col(p.id), col(Interaction.occurred_at) >= since]
        kinds = _activity_kinds(params.kind)
        if kinds is None:
            did.append(col(Interaction.kind).not_in(sorted(k.value for k in OUR_KINDS)))
        else:
            did.append(col(Interaction.kind).in_(kinds))
        done = exists().where(and_(*did))
        conditions.append(done if params.activity == ActivityMode.did else ~done)
    return conditions


def _apply_filters(query: Select[Any], params: ListQuery) -> Select[Any]:
    conditions = _conditions(params)
    return query.where(*conditions) if conditions else query


def _order_by(params: ListQuery) -> list[Any]:
    p = Profile
    column: Any = {
        SortKey.name: col(p.sort_name),
        SortKey.reach: col(p.reach),
        SortKey.contributions: col(p.contribution_count),
        SortKey.last_activity: col(p.last_activity_at),
        SortKey.status: col(p.status),
        SortKey.language: col(p.language),
        SortKey.created: col(p.created_at),
        SortKey.updated: col(p.updated_at),
        SortKey.score: col(p.score),
        SortKey.rank: col(p.score_rank),
        SortKey.level: col(p.level),
        SortKey.advocacy: col(p.advocacy),
        SortKey.influence: col(p.influence),
    }[params.sort]
    ordered = column.desc() if params.descending else column.asc()
    if params.sort in (SortKey.last_activity, SortKey.rank):
        # People never active, and people without a rank (team members, or before the first
        # computation), come last either way.
        ordered = ordered.nulls_last()
    tiebreak = col(p.id).desc() if params.descending else col(p.id).asc()
    return [ordered, tiebreak]


def list_profiles(params: ListQuery, *, session: Session) -> ProfileListing:
    conditions = _conditions(params)
    count = select(func.count()).select_from(Profile)
    total = session.exec(count.where(*conditions) if conditions else count).one()  # type: ignore[call-overload]
    page = max(1, params.page)
    query: Select[Any] = select(Profile)  # type: ignore[assignment]
    if conditions:
        query = query.where(*conditions)
    query = query.order_by(*_order_by(params)).offset((page - 1) * params.per_page).limit(params.per_page)
    listing = [ProfileRow(profile=p, reach=p.reach) for p in session.exec(query)]  # type: ignore[call-overload]
    by_id = {row.profile.id: row for row in listing}
    if by_id:
        identities = session.exec(
            select(Identity).where(col(Identity.profile_id).in_(list(by_id)))
            .order_by(col(Identity.followers).desc(), col(Identity.id))
        )
        for identity in identities:
            by_id[identity.profile_id].identities.append(identity)
    return ProfileListing(rows=listing, total=int(total), page=page, per_page=params.per_page)


@dataclass
class PeoplePage:
    """What the people page shows: the listing for `params` (moved to the last page when an old link
    points past the end) and the owners its filter offers."""

    params: ListQuery
    listing: ProfileListing
    owners: list[User]


def people_page(params: ListQuery, *, session: Session) -> PeoplePage:
    listing = list_profiles(params, session=session)
    if not listing.rows and listing.page > listing.pages:  # an old link past the end: show the last page
        params = params.model_copy(update={"page": listing.pages})
        listing = list_profiles(params, session=session)
    owners = list(session.exec(select(User).where(col(User.is_active).is_(True)).order_by(col(User.name))))
    return PeoplePage(params=params, listing=listing, owners=owners)


@dataclass
class Match:
    """One person in the global search's dropdown."""

    id: int
    display_name: str
    location: str
    reach: int


def quick_matches(q: str, *, session: Session, limit: int = 8) -> list[Match]:
    """The top people for the header's search box: best reach first among those whose text matches."""
    if not search_terms(q):
        return []
    query = select(Profile.id, Profile.display_name, Profile.location, Profile.reach).where(
        *_conditions(ListQuery(q=q))
    ).order_by(col(Profile.reach).desc(), col(Profile.id)).limit(limit)
    rows = session.exec(query)  # type: ignore[call-overload]
    return [Match(id=int(row[0] or 0), display_name=row[1], location=row[2], reach=int(row[3])) for row in rows]


def matching_ids(params: ListQuery) -> Select[Any]:
    """The ids of everyone the list would show for `params` (every page), by id: what saved views,
    bulk actions and exports select from."""
    return _apply_filters(select(Profile.id), params).order_by(col(Profile.id))  # type: ignore[return-value, arg-type]


def not_search_index(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic `include_object`: leave out the search index (the FTS5 table and its shadow tables on
    SQLite, the pg_trgm index on PostgreSQL), which migration 0007 creates outside the models."""
    if type_ == "table" and name and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name == PG_TRGM_INDEX)
