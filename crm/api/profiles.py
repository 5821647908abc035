"""JSON API for profiles: the same services as the HTML pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.profiles import service as profiles
from crm.profiles.models import Identity, IdentityOut, Profile, ProfileIn, ProfileOut, ProfilePatch
from crm.profiles.search import ListQuery
from crm.profiles.search import list_profiles as search_profiles
from crm.schemas import Page

router = APIRouter(prefix="/profiles", tags=["profiles"])

ERRORS = error_responses(e404="No such profile")


def _profile_out(profile: Profile, identities: list[Identity]) -> ProfileOut:
    return ProfileOut.model_validate(
        {**profile.model_dump(), "reach": profiles.reach_of(identities),
         "identities": [IdentityOut.model_validate(i) for i in identities]}
    )


def _out(db: DB, profile_id: int) -> ProfileOut:
    profile = profiles.get_profile(profile_id, session=db)
    return _profile_out(profile, profiles.identities_of(profile_id, session=db))


@router.get("", response_model=Page[ProfileOut], responses=ERRORS)
def list_profiles(db: DB, user: CurrentUser, params: Annotated[ListQuery, Query()]) -> Page[ProfileOut]:
    listing = search_profiles(params, session=db)
    items = [_profile_out(row.profile, row.identities) for row in listing.rows]
    return Page[ProfileOut](items=items, total=listing.total, page=listing.page, per_page=listing.per_page,
                            pages=listing.pages)


@router.post("", response_model=ProfileOut, status_code=201, responses=ERRORS)
def create_profile(request: Request, db: DB, user: WriterUser, body: ProfileIn, response: Response) -> ProfileOut:
    profile = profiles.create_profile(body, session=db, actor=actor_for(request, user))
    out = _out(db, profile.id or 0)  # read back inside the write, so the lock ends at the commit
    db.commit()
    response.headers["Location"] = f"/api/v1/profiles/{profile.id}"
    return out


@router.get("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def get_profile(db: DB, user: CurrentUser, profile_id: IdPath) -> ProfileOut:
    return _out(db, profile_id)


@router.patch("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def patch_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath, body: ProfilePatch) -> ProfileOut:
    profiles.update_profile(profile_id, body, session=db, actor=actor_for(request, user))
    out = _out(db, profile_id)  # read back inside the write, so the lock ends at the commit
    db.commit()
    return out


@router.put("/{profile_id}", response_model=ProfileOut, responses=ERRORS)
def replace_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath, body: ProfileIn) -> ProfileOut:
    profiles.update_profile(profile_id, body, session=db, actor=actor_for(request, user))
    out = _out(db, profile_id)  # read back inside the write, so the lock ends at the commit
    db.commit()
    return out


@router.delete("/{profile_id}", status_code=204, responses=ERRORS)
def delete_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    profiles.delete_profile(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)
