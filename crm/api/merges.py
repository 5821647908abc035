"""JSON API: merges (create, undo, list), the duplicates queue and the per-person export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.exports.person import export_person
from crm.merges import duplicates
from crm.merges import service as merges
from crm.merges.models import MergeRecord
from crm.schemas import Page

router = APIRouter(tags=["merges"])

ERRORS = error_responses(e404="No such profile or merge", e409="The merge cannot be undone exactly (the message says why)")


class MergeOut(BaseModel):
    id: int
    survivor_id: int | None
    merged_id: int
    merged_name: str
    created_at: datetime
    created_by_id: int | None
    undone_at: datetime | None
    undone_by_id: int | None
    moved: dict[str, int]


class PersonCardOut(BaseModel):
    id: int
    display_name: str
    location: str
    handles: list[tuple[str, str]]


class SuggestionOut(BaseModel):
    a: PersonCardOut
    b: PersonCardOut
    reasons: list[str]
    score: float


def _out(record: MergeRecord) -> MergeOut:
    moved = merges.MergeRow(record, None).moved
    return MergeOut.model_validate({**record.model_dump(exclude={"snapshot"}), "moved": moved})


@router.get("/merges", response_model=Page[MergeOut], responses=ERRORS)
def list_merges(db: DB, user: WriterUser, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                per_page: Annotated[int, Query(ge=1, le=200)] = 25) -> Page[MergeOut]:
    listing = merges.recent_merges(session=db, page=page, per_page=per_page)
    return Page[MergeOut](items=[_out(row.record) for row in listing.rows], total=listing.total, page=listing.page,
                          per_page=listing.per_page, pages=listing.pages)


@router.post("/merges", response_model=MergeOut, status_code=201, responses=ERRORS)
def create_merge(request: Request, db: DB, user: WriterUser, body: merges.MergeIn, response: Response) -> MergeOut:
    record = merges.merge(body, session=db, actor=actor_for(request, user))
    out = _out(record)
    db.commit()
    response.headers["Location"] = f"/api/v1/merges/{record.id}"
    return out


@router.get("/merges/{merge_id}", response_model=MergeOut, responses=ERRORS)
def get_merge(db: DB, user: WriterUser, merge_id: IdPath) -> MergeOut:
    return _out(merges.get_merge(merge_id, session=db))


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, responses=ERRORS)
def undo_merge(request: Request, db: DB, user: WriterUser, merge_id: IdPath) -> MergeOut:
    record = merges.undo(merge_id, session=db, actor=actor_for(request, user))
    out = _out(record)
    db.commit()
    return out


@router.get("/duplicates", response_model=Page[SuggestionOut], responses=ERRORS)
def list_duplicates(db: DB, user: CurrentUser, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                    per_page: Annotated[int, Query(ge=1, le=200)] = 25) -> Page[SuggestionOut]:
    listing = duplicates.suggestions(session=db, page=page, per_page=per_page)
    items = [SuggestionOut.model_validate({"a": vars(s.a), "b": vars(s.b), "reasons": s.reasons, "score": s.score})
             for s in listing.items]
    return Page[SuggestionOut](items=items, total=listing.total, page=listing.page, per_page=listing.per_page,
                               pages=listing.pages)


@router.get("/profiles/{profile_id}/export", responses=ERRORS)
def export_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> dict[str, Any]:
    """Everything held about one person (profile, identities, interactions as author and as the other
    party, relationships both ways, audit events), rows whole and ordered by id; audited."""
    data = export_person(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return data
