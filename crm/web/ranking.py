"""HTML routes: the leaderboards (/ranking): filters, pages, rising and slipping people, "recompute
now" with a status block that follows the job, and the board as CSV. The weight sets live under
/ranking/weights (crm.web.weights)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from crm.db import session_scope
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_engine, get_settings
from crm.exports import boards as board_exports
from crm.i18n import N_, gettext
from crm.jobs.models import Job, JobStatus
from crm.profiles.models import Platform, ProfileRole
from crm.ranking import boards, runs
from crm.ranking.boards import BoardQuery, Period
from crm.ranking.models import level_label
from crm.templating import is_fragment_request, render
from crm.web.common import redirect
from crm.web.forms import forgiving
from crm.web.numbers import decimal, signed

router = APIRouter(prefix="/ranking")

MOVERS = 5  # people in each side panel
MOVER_DAYS = 30
PERIOD_LABELS = {
    Period.all: N_("All time"),
    Period.d30: N_("Last 30 days"),
    Period.d90: N_("Last 90 days"),
    Period.d365: N_("Last 365 days"),
}


def board_query(raw: Mapping[str, str], page_size: int) -> BoardQuery:
    """The board's parameters, read forgivingly (a bad value falls back to its default); the page
    size is a setting here."""
    values = {key: value for key, value in raw.items() if key != "per_page"}
    return forgiving(BoardQuery, values).model_copy(update={"per_page": page_size})


def board_params(query: BoardQuery, **changes: Any) -> dict[str, str]:
    """The parameters that differ from the defaults, as a link carries them."""
    values: dict[str, Any] = {"role": query.role, "topic": query.topic, "platform": query.platform,
                              "period": query.period, "include_team": query.include_team, "page": query.page}
    values.update(changes)
    shown: dict[str, str] = {}
    for key, value in values.items():
        value = getattr(value, "value", value)
        if value in (None, "", False) or (key == "page" and value == 1) or (key == "period" and value == Period.all):
            continue
        shown[key] = "true" if value is True else str(value)
    return shown


def board_url(query: BoardQuery, **changes: Any) -> str:
    params = board_params(query, **changes)
    return "/ranking?" + urlencode(params) if params else "/ranking"


def export_url(query: BoardQuery) -> str:
    params = board_params(query, page=1)
    return "/ranking/export.csv" + ("?" + urlencode(params) if params else "")


def helpers() -> dict[str, Any]:
    """What ranking widgets need to write numbers and levels (the dashboard uses them too)."""
    return {"decimal": decimal, "signed": signed, "level_label": level_label}


def _status_context(job: Job | None) -> dict[str, Any]:
    return {"job": job, "job_active": job is not None and job.status in runs.ACTIVE}


@router.get("")
def ranking_page(request: Request, db: DB, user: CurrentUser) -> Response:
    query = board_query(request.query_params, get_settings(request).page_size)
    board = boards.leaderboard(query, session=db)
    if not board.rows and query.page > board.pages:  # an old link past the end: the last page
        query = query.model_copy(update={"page": board.pages})
        board = boards.leaderboard(query, session=db)
    context: dict[str, Any] = {
        "board": board, "query": query, "board_url": board_url, "export_url": export_url(query),
        "roles": list(ProfileRole), "platforms": list(Platform), "periods": PERIOD_LABELS,
        "nav": {"page": query.page, "pages": board.pages}, **helpers(),
    }
    if not is_fragment_request(request):  # the side panels and the job are not part of the swapped block
        context.update(rising=boards.rising(session=db, days=MOVER_DAYS, limit=MOVERS),
                       slipping=boards.slipping(session=db, days=MOVER_DAYS, limit=MOVERS),
                       **_status_context(runs.active_job(session=db)))
    return render(request, "ranking/board.html", context, block="board")


@router.post("/recompute")
def recompute(request: Request, db: DB, user: WriterUser) -> Response:
    """Queue a recompute (or show the one already waiting): htmx gets the status block, which
    follows the job; a plain form goes back to the board."""
    requested = runs.recompute_now(session=db, actor=actor_for(request, user))
    db.commit()
    if request.headers.get("hx-request") == "true":
        return render(request, "ranking/board_job.html", _status_context(requested.job), block="status")
    message = (gettext("Scores will be recomputed in a moment.") if requested.created
               else gettext("A recomputation is already waiting; it will include every change so far."))
    return redirect(request, "/ranking", flash=message)


@router.get("/jobs/{job_id}")
def job_status(request: Request, db: DB, user: CurrentUser, job_id: IdPath) -> Response:
    """One recompute job: the status block (polled every second while the job waits or runs), or a page."""
    job = runs.rank_job(job_id, session=db)
    context = _status_context(job)
    headers = {}
    if job.status == JobStatus.done.value and is_fragment_request(request):
        headers["HX-Trigger"] = "rank-recomputed"  # the board on the page reloads itself
    return render(request, "ranking/board_job.html", context, block="status", headers=headers)


@router.get("/export.csv")
def export_csv(request: Request, user: CurrentUser) -> Response:
    """Every row of the board for these filters (all pages), as CSV; audited before it is sent. The
    audit event is written in its own short transaction and the rows are read afterwards, in one
    snapshot, while they are sent (as crm.downloads does for people lists)."""
    query = board_query(request.query_params, get_settings(request).page_size)
    engine = get_engine(request)
    with session_scope(engine, write=True) as writer:
        board_exports.begin(query, session=writer, actor=actor_for(request, user))

    def body() -> Iterator[str]:
        with Session(board_exports.snapshot(engine)) as session:
            yield from board_exports.csv_chunks(query, session=session)

    disposition = f'attachment; filename="{board_exports.filename(query)}"'
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
