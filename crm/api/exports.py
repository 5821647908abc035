"""JSON API: exports of the people list (/api/v1/exports/people), with the list's own filters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser
from crm.downloads import audited_export
from crm.exports import lists as exports
from crm.profiles.search import ListQuery
from crm.schemas import DbId
from crm.views import service as views

router = APIRouter(tags=["exports"])

ERRORS = error_responses(e404="No such view, or someone else's private view", e422="Invalid parameters; `errors` names each one")
CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every matching person: CSV (header: id and the columns) or a JSON array",
          "content": {"text/csv": {}, "application/json": {}}},
}


class ExportQuery(ListQuery):
    """The people list's parameters (`cols` chooses the columns after id and name), plus the format
    and, optionally, a saved view whose filters and columns are used instead."""

    format: exports.ExportFormat = exports.ExportFormat.csv
    view: DbId | None = PydField(default=None, description="A saved view's filters and columns instead of the list's")


@router.get("/exports/people", responses={**ERRORS, **CONTENT}, response_class=Response)
def export_people(request: Request, db: DB, user: CurrentUser, query: Annotated[ExportQuery, Query()]) -> Response:
    """Every person the people list shows for these filters (all pages), or a saved view's, as CSV or JSON.
    CSV cells that a spreadsheet would run as formulas are prefixed with a quote. Each export is audited."""
    params = ListQuery.model_validate(query.model_dump(exclude={"format", "view"}, exclude_defaults=True))
    columns = views.columns_of(params)
    view_id = None
    if query.view is not None:
        saved = views.get_view(query.view, session=db, user=user)
        params, view_id, columns = views.rebuild(saved.query).params, saved.id, columns or saved.columns
    return audited_export(request, user, query.format, params, exports.export_columns(columns), view_id=view_id)
