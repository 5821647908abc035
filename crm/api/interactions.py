"""JSON API: a person's interactions (list with filters, log, read, change, delete)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.interactions import log
from crm.interactions.models import InteractionIn, InteractionOut, InteractionPatch, InteractionQuery, TimelineFilter
from crm.interactions.timeline import count_interactions, timeline_rows
from crm.profiles.service import get_profile
from crm.schemas import Page

router = APIRouter(tags=["interactions"])

ERRORS = error_responses(
    e403="Your role cannot change this entry, or the CSRF token is missing",
    e404="No such person or interaction",
    e422="Invalid fields (`errors` names each one), or outreach to someone who may not be contacted without `contact_anyway`",
)


@router.get("/profiles/{profile_id}/interactions", response_model=Page[InteractionOut], responses=ERRORS)
def list_interactions(
    db: DB, user: CurrentUser, profile_id: IdPath, params: Annotated[InteractionQuery, Query()],
) -> Page[InteractionOut]:
    """A person's interactions, newest first, filtered by kind, channel and days (UTC)."""
    get_profile(profile_id, session=db)
    page, per_page = params.page, params.per_page
    filters = TimelineFilter.model_validate(params.model_dump(include=set(TimelineFilter.model_fields)))
    total = count_interactions(profile_id, session=db, filters=filters)
    items = timeline_rows(profile_id, session=db, filters=filters, offset=(page - 1) * per_page, limit=per_page)
    return Page[InteractionOut](items=[InteractionOut.model_validate(i) for i in items], total=total, page=page,
                                per_page=per_page, pages=max(1, -(-total // per_page)))


@router.post("/profiles/{profile_id}/interactions", response_model=InteractionOut, status_code=201, responses=ERRORS)
def create_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, body: InteractionIn,
                       response: Response) -> InteractionOut:
    item = log.log_interaction(profile_id, body, session=db, actor=actor_for(request, user))
    out = InteractionOut.model_validate(item)
    db.commit()
    response.headers["Location"] = f"/api/v1/interactions/{item.id}"
    return out


@router.get("/interactions/{interaction_id}", response_model=InteractionOut, responses=ERRORS)
def get_interaction(db: DB, user: CurrentUser, interaction_id: IdPath) -> InteractionOut:
    return InteractionOut.model_validate(log.get_interaction(interaction_id, session=db))


@router.patch("/interactions/{interaction_id}", response_model=InteractionOut, responses=ERRORS)
def patch_interaction(request: Request, db: DB, user: WriterUser, interaction_id: IdPath,
                      body: InteractionPatch) -> InteractionOut:
    item = log.update_interaction(interaction_id, body, session=db, actor=actor_for(request, user), user=user)
    out = InteractionOut.model_validate(item)
    db.commit()
    return out


@router.delete("/interactions/{interaction_id}", status_code=204, responses=ERRORS)
def delete_interaction(request: Request, db: DB, user: WriterUser, interaction_id: IdPath) -> Response:
    log.delete_interaction(interaction_id, session=db, actor=actor_for(request, user), user=user)
    db.commit()
    return Response(status_code=204)
