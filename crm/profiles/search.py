"""Finding people: words, filters, order and page (the people list, the API list, exports)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Select, Text, cast, func, or_
from sqlmodel import Session, col, select

from crm.profiles.models import Identity, Profile, ProfileRole, ProfileStatus, _clean_tag


class SortKey(StrEnum):
    name = "name"
    reach = "reach"
    status = "status"
    updated = "updated"
    created = "created"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class ListQuery(BaseModel):
    """How to list people: words, filters, order and page. The API validates it strictly (a bad
    value is a 422); the people page is forgiving (a bad value falls back to its default)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    q: str = PydField(default="", max_length=200, description="Words to find in names and handles")
    sort: SortKey = SortKey.name
    order: SortOrder = SortOrder.asc
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=200)
    status: ProfileStatus | None = None
    role: ProfileRole | None = None
    topic: Annotated[str, AfterValidator(_clean_tag)] = PydField(
        default="", max_length=50, description="Only people tagged with this topic"
    )

    @property
    def descending(self) -> bool:
        return self.order == SortOrder.desc



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


def _reach_subquery() -> Any:
    return (
        select(Identity.profile_id, func.sum(Identity.followers).label("reach"))
        .group_by(col(Identity.profile_id))
        .subquery("reach_by_profile")
    )


def _like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json_element(value: str) -> str:
    encoded = json.dumps(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{encoded}%"


def _apply_filters(query: Select[Any], params: ListQuery) -> Select[Any]:
    for term in params.q.replace("\x00", "").split()[:5]:
        pattern = _like_pattern(term.lstrip("@"))
        # Uncorrelated, so the identities are scanned once per term, not once per profile.
        handle_match = select(Identity.profile_id).where(col(Identity.handle_key).like(pattern, escape="\\"))
        query = query.where(
            or_(func.lower(Profile.display_name).like(pattern, escape="\\"), col(Profile.id).in_(handle_match))
        )
    if params.status:
        query = query.where(col(Profile.status) == params.status.value)
    # roles and topics are JSON lists: match the element as JSON text, which reads the same on SQLite
    # and PostgreSQL (json keeps the text it was given, escapes included).
    if params.role:
        query = query.where(cast(col(Profile.roles), Text).like(_json_element(params.role.value), escape="\\"))
    if params.topic:
        topic = params.topic.replace("\x00", "")
        query = query.where(cast(col(Profile.topics), Text).like(_json_element(topic), escape="\\"))
    return query


def list_profiles(params: ListQuery, *, session: Session) -> ProfileListing:
    total = session.exec(_apply_filters(select(func.count()).select_from(Profile), params)).one()  # type: ignore[call-overload]
    base: Select[Any] = select(Profile)  # type: ignore[assignment]
    if params.sort == SortKey.reach:
        # Only this order needs every profile's reach; the others add it for the page alone.
        reach = _reach_subquery()
        base = base.outerjoin(reach, reach.c.profile_id == Profile.id)
        order_col: Any = func.coalesce(reach.c.reach, 0)
    else:
        order_col = {
            SortKey.name: func.lower(Profile.display_name),
            SortKey.status: Profile.status,
            SortKey.updated: Profile.updated_at,
            SortKey.created: Profile.created_at,
        }[params.sort]
    order = order_col.desc() if params.descending else order_col.asc()
    tiebreak = col(Profile.id).desc() if params.descending else col(Profile.id).asc()
    page = max(1, params.page)
    query = _apply_filters(base, params).order_by(order, tiebreak).offset((page - 1) * params.per_page)
    listing = [ProfileRow(profile=p, reach=0) for p in session.exec(query.limit(params.per_page))]  # type: ignore[call-overload]
    by_id = {row.profile.id: row for row in listing}
    if by_id:
        identities = session.exec(
            select(Identity).where(col(Identity.profile_id).in_(list(by_id))).order_by(col(Identity.followers).desc())
        )
        for identity in identities:
            row = by_id[identity.profile_id]
            row.identities.append(identity)
            row.reach += identity.followers
    return ProfileListing(rows=listing, total=int(total), page=page, per_page=params.per_page)




def matching_ids(params: ListQuery) -> Select[Any]:
    """The ids of everyone the list would show for `params` (every page), in the list's order:
    what saved views, bulk actions and exports select from."""
    return _apply_filters(select(Profile.id), params).order_by(col(Profile.id))  # type: ignore[return-value]
