"""Downloads shared by the HTML and the JSON routes: list exports, streamed and audited."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from crm.accounts.models import User
from crm.db import session_scope
from crm.deps import actor_for, get_engine
from crm.exports import lists as exports
from crm.profiles.search import ListQuery


def audited_export(request: Request, user: User, fmt: exports.ExportFormat, params: ListQuery, columns: list[str], *,
                   ids: list[int] | None = None, view_id: int | None = None, stem: str = "people") -> StreamingResponse:
    """Record the export, then send it. The audit event is written in its own short write transaction
    (an export is mostly a GET, whose session must not turn into a writer halfway on SQLite), and the
    rows are read in their own session while they are sent, after the request's session is done."""
    engine = get_engine(request)
    with session_scope(engine, write=True) as writer:
        exports.begin(params, fmt, columns, session=writer, actor=actor_for(request, user), ids=ids, view_id=view_id)

    def body() -> Iterator[str]:
        with Session(engine) as session:
            yield from exports.chunks(fmt, exports.people(params, session=session, ids=ids), columns)

    disposition = f'attachment; filename="{exports.filename(fmt, stem)}"'
    return StreamingResponse(body(), media_type=exports.MEDIA_TYPES[fmt],
                             headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
