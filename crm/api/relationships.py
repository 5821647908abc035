"""JSON API: relationships (a person's edges in either direction; add by hand; remove)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.relationships import service as relationships
from crm.relationships.models import RelationshipIn, RelationshipOut
from crm.schemas import Page

router = APIRouter(tags=["relationships"])

ERRORS = error_responses(e404="No such person or connection", e409="That connection exists already")


@router.get("/profiles/{profile_id}/relationships", response_model=Page[RelationshipOut], responses=ERRORS)
def list_relationships(
    db: DB, user: CurrentUser, profile_id: IdPath,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1, per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[RelationshipOut]:
    """Every edge from or to the person, strongest first."""
    rows, total = relationships.relationships_of(profile_id, session=db, page=page, per_page=per_page)
    return Page[RelationshipOut](items=[RelationshipOut.model_validate(r) for r in rows], total=total, page=page,
                                 per_page=per_page, pages=max(1, -(-total // per_page)))


@router.post("/profiles/{profile_id}/relationships", response_model=list[RelationshipOut], status_code=201,
             responses=ERRORS)
def create_relationship(request: Request, db: DB, user: WriterUser, profile_id: IdPath,
                        body: RelationshipIn) -> list[RelationshipOut]:
    """Adds an edge by hand (origin "manual"): from the person to `other_id`, the other way, or both (two edges)."""
    created = relationships.add_relationship(profile_id, body, session=db, actor=actor_for(request, user))
    out = [RelationshipOut.model_validate(r) for r in created]
    db.commit()
    return out


@router.delete("/relationships/{relationship_id}", status_code=204, responses=ERRORS)
def delete_relationship(request: Request, db: DB, user: WriterUser, relationship_id: IdPath) -> Response:
    relationships.remove_relationship(relationship_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)
