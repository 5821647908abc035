"""JSON API: saved views (/api/v1/views) and bulk changes to people (/api/v1/bulk/people)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.views import bulk
from crm.views import service as views
from crm.views.models import SavedView, SavedViewIn, SavedViewOut, SavedViewPatch

router = APIRouter(tags=["views"])

ERRORS = error_responses(e403="Not the view's owner (nor an admin), or the CSRF token is missing",
                         e404="No such view, or someone else's private view", e409="A concurrent save took the name")


def _out(view: SavedView) -> SavedViewOut:
    return SavedViewOut.model_validate(view)


@router.get("/views", response_model=list[SavedViewOut], responses=ERRORS)
def list_views(db: DB, user: CurrentUser) -> list[SavedViewOut]:
    """Your own views and everyone's shared views, by name."""
    return [_out(v) for v in views.visible_views(session=db, user=user)]


@router.post("/views", response_model=SavedViewOut, status_code=201, responses=ERRORS)
def create_view(request: Request, db: DB, user: CurrentUser, body: SavedViewIn, response: Response) -> SavedViewOut:
    """Save a view. `query` takes the parameters of `GET /api/v1/profiles` (not the page); only
    managers and admins may share a view."""
    view = views.create_view(body, session=db, user=user, actor=actor_for(request, user))
    out = _out(view)
    db.commit()
    response.headers["Location"] = f"/api/v1/views/{view.id}"
    return out


@router.get("/views/{view_id}", response_model=SavedViewOut, responses=ERRORS)
def get_view(db: DB, user: CurrentUser, view_id: IdPath) -> SavedViewOut:
    return _out(views.get_view(view_id, session=db, user=user))


@router.patch("/views/{view_id}", response_model=SavedViewOut, responses=ERRORS)
def patch_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath, body: SavedViewPatch) -> SavedViewOut:
    """Rename, share or unshare a view, or give it new filters or columns (owner or admin)."""
    view = views.update_view(view_id, body, session=db, user=user, actor=actor_for(request, user))
    out = _out(view)
    db.commit()
    return out


@router.delete("/views/{view_id}", status_code=204, responses=ERRORS)
def delete_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    views.delete_view(view_id, session=db, user=user, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


class BulkIn(bulk.Selection):
    """Who to change (`ids`, or `all_matching` with `query` in the parameters of `GET /api/v1/profiles`)
    and the change."""

    change: bulk.BulkChange


class BulkOut(BaseModel):
    selected: int
    changed: int


@router.post("/bulk/people", response_model=BulkOut, responses=ERRORS)
def bulk_change(request: Request, db: DB, user: WriterUser, body: BulkIn) -> BulkOut:
    """Add or remove a tag, set the owner or set the status of many people at once: all of it or,
    on any error, none of it; one audit event per person changed."""
    selection = bulk.Selection(ids=body.ids, all_matching=body.all_matching, query=body.query)
    changed, selected = bulk.apply_selection(body.change, selection, session=db, actor=actor_for(request, user))
    db.commit()
    return BulkOut(selected=selected, changed=changed)
