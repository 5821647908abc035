"""JSON API for profiles: the same services as the HTML pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from crm.deps import DB, CurrentUser, IdPath, actor_for
from crm.profiles import service as profiles
from crm.profiles.models import (
    IdentityOut,
    ProfileIn,
    ProfileOut,
    ProfilePage,
    ProfilePatch,
    ProfileRole,
    ProfileStatus,
)
from crm.schemas import ErrorOut

router = APIRouter(prefix="/profiles", tags=["profiles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8 JSON)"},
    401: {"model": ErrorOut, "description": "Not signed in and no valid API token"},
    403: {"model": ErrorOut, "description": "Your role cannot change data, or the CSRF token is missing"},
    404: {"model": ErrorOut, "description": "No such profile"},
    422: {"model": ErrorOut, "description": "Invalid fields; `errors` names each one"},
}


def _out(db: DB, profile_id: int) -> ProfileOut:
    profile = profiles.get_profile(profile_id, session=db)
    identities = profiles.identities_of(profile_id, session=db)
    return ProfileOut.model_validate(
        {**profile.model_dump(), "reach": profiles.reach_of(identities),
         "identities": [IdentityOut.model_validate(i) for i in identities]}
    )


@router.get("", response_model=ProfilePage, responses=ERRORS)
def list_profiles(
    request: Request,
    db: DB,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200, description="Words to find in names and handles")] = "",
    sort: profiles.SortKey = profiles.SortKey.name,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    status: ProfileStatus | None = None,
    role: ProfileRole | None = None,
    topic: Annotated[str, Query(max_length=50, description="Only people tagged with this topic")] = "",
) -> ProfilePage:
    params = profiles.ListQuery(q=q, sort=sort, descending=order == "desc", page=page, per_page=per_page,
                                status=status.value if status else "", role=role.value if role else "",
                                topic=topic.strip().lower())
    listing = profiles.list_profiles(params, session=db)
    items = [
        ProfileOut.model_validate({**row.profile.model_dump(), "reach": row.reach,
                                   "identities": [IdentityOut.model_validate(i) for i in row.identities]})
        for row in listing.rows
    ]
    return ProfilePage(items=items, total=listing.total, page=listing.page, per_page=listing.per_page, pages=listing.pages)


@router.post("", response_model=ProfileOut, status_code=201, responses=ERRORS)
def create_profile(request: Request, db: DB, user: CurrentUser, body: ProfileIn, response: Response) -> ProfileOut:
    profile = profiles.create_profile(body, session=db, actor=actor_for(request, user))
    db.commit()
    response.headers["Location"] = f"/api/v1/profiles/{profile.id}"
    return _out(db, profile.id or 0)


@router.get("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def get_profile(db: DB, user: CurrentUser, profile_id: IdPath) -> ProfileOut:
    return _out(db, profile_id)


@router.patch("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def patch_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, body: ProfilePatch) -> ProfileOut:
    profiles.update_profile(profile_id, body, session=db, actor=actor_for(request, user))
    db.commit()
    return _out(db, profile_id)


@router.put("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def replace_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, body: ProfileIn) -> ProfileOut:
    profiles.update_profile(profile_id, body, session=db, actor=actor_for(request, user))
    db.commit()
    return _out(db, profile_id)


@router.delete("/{profile_id}", status_code=204, responses=ERRORS)
def delete_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    profiles.delete_profile(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)
