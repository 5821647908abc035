"""The report for management (HTML): the page, its print view and CSV, the judgement and quotes the
manager adds, and who receives it by e-mail. Numbers and rules are in crm.listening.report."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from crm.accounts.models import User
from crm.db import session_scope
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_engine, get_settings
from crm.errors import DomainError, InvalidInput
from crm.i18n import gettext
from crm.listening import report as reports
from crm.listening.models import ReportPeriod
from crm.templating import is_fragment_request, render
from crm.web.common import Form, input_errors, redirect, text

router = APIRouter(prefix="/listening")


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(get_settings(request).time_zone)


def _period(request: Request, period: str | None, start: str | None) -> reports.Period:
    """The asked-for period; a bad one falls back to the last complete month (a page still shows)."""
    today = datetime.now(_zone(request)).date()
    try:
        return reports.parse_period(period, start, today=today)
    except InvalidInput:
        return reports.last_complete(ReportPeriod.month, today)


def _query_period(request: Request) -> reports.Period:
    return _period(request, request.query_params.get("period"), request.query_params.get("start"))


def _form_period(request: Request, form: Any) -> reports.Period:
    """A change names its period exactly: a bad one is refused (422), never saved on another period."""
    today = datetime.now(_zone(request)).date()
    return reports.parse_period(text(form, "period"), text(form, "start") or "-", today=today)


def page_url(period: reports.Period, path: str = "/listening/report") -> str:
    return f"{path}?{urlencode({'period': period.kind.value, 'start': period.key})}"


def _context(request: Request, db: Session, user: User, period: reports.Period, **extra: Any) -> dict[str, Any]:
    picking = user.can_write and not extra.get("printing")
    data = reports.report(period, session=db, zone=_zone(request), with_candidates=picking)
    today = datetime.now(_zone(request)).date()
    latest = reports.last_complete(period.kind, today)
    return {
        "tab": "report", "r": data, "p": period, "page_url": page_url,
        "newer": period.following() if period.start < latest.start else None,
        "current_period": reports.period_containing(period.kind, today),
        "recipients": reports.recipients(session=db) if picking else [],
        "periods": list(ReportPeriod), "max_quotes": reports.MAX_QUOTES, "min_quotes": reports.MIN_QUOTES,
        "judgement_max": reports.JUDGEMENT_MAX, "channel_name": reports.channel_name,
        "dropped_note": reports.dropped_note,
        "editing": False, "judgement_value": data.judgement, "errors": {},
        "recipient_values": {"email": "", "period": period.kind.value}, "recipient_errors": {},
        **extra,
    }


@router.get("/report")
def report_page(request: Request, db: DB, user: CurrentUser) -> Response:
    """The month's or quarter's report (?period=month|quarter&start=YYYY-MM; default the last complete
    month). htmx gets the report body alone (moving between periods)."""
    period = _query_period(request)
    return render(request, "listening/report.html", _context(request, db, user, period), block="report_body")


@router.get("/report/print")
def report_print(request: Request, db: DB, user: CurrentUser) -> Response:
    """The report alone, without navigation or forms, to print or save as PDF."""
    period = _query_period(request)
    context = _context(request, db, user, period, printing=True, layout="listening/report_print.html")
    return render(request, "listening/report.html", context)


@router.get("/report.csv")
def report_csv(request: Request, user: CurrentUser) -> Response:
    """The report as CSV, section by section; audited (report_export) in its own short transaction."""
    period = _query_period(request)
    engine = get_engine(request)
    with session_scope(engine, write=True) as writer:
        reports.begin_export(period, session=writer, actor=actor_for(request, user))
    with session_scope(engine) as session:
        body = reports.csv_text(reports.report(period, session=session, zone=_zone(request)))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{reports.csv_filename(period)}"',
                             "Cache-Control": "no-store"})


# ---- the judgement --------------------------------------------------------------------------------


@router.get("/report/judgement")
def edit_judgement(request: Request, db: DB, user: WriterUser) -> Response:
    """The judgement's form, in place (htmx) or on the page."""
    period = _query_period(request)
    return render(request, "listening/report.html", _context(request, db, user, period, editing=True), block="judgement")


@router.post("/report/judgement")
def save_judgement(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    period = _form_period(request, form)
    typed = text(form, "judgement")
    try:
        data = reports.ReportIn.model_validate({"judgement": typed})
        reports.update(period, data, session=db, actor=actor_for(request, user), zone=_zone(request))
        db.commit()
    except (ValidationError, DomainError) as exc:
        db.rollback()
        context = _context(request, db, user, period, editing=True, judgement_value=typed, errors=input_errors(exc))
        return render(request, "listening/report.html", context, block="judgement", status_code=422)
    if is_fragment_request(request):
        return render(request, "listening/report.html", _context(request, db, user, period), block="judgement")
    return redirect(request, page_url(period), flash=gettext("Judgement saved."))


# ---- quotes ---------------------------------------------------------------------------------------


def _ids(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 10]


@router.post("/report/quotes")
def save_quotes(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """The ticked quotes, in the order they are listed (the ones picked before come first)."""
    period = _form_period(request, form)
    try:
        ticked = form.getlist("quote_id")
        if len(_ids(ticked)) != len(ticked):  # not ids from the list: change nothing
            raise InvalidInput(gettext("Pick the quotes from the list."),
                               field_errors={"quote_ids": gettext("Pick the quotes from the list.")})
        data = reports.ReportIn.model_validate({"quote_ids": _ids(ticked)})
        reports.update(period, data, session=db, actor=actor_for(request, user), zone=_zone(request))
        db.commit()
    except (ValidationError, DomainError) as exc:
        db.rollback()
        context = _context(request, db, user, period, errors=input_errors(exc))
        return render(request, "listening/report.html", context, block="quotes", status_code=422)
    if is_fragment_request(request):
        return render(request, "listening/report.html", _context(request, db, user, period, quotes_saved=True),
                      block="quotes")
    return redirect(request, page_url(period) + "#quotes", flash=gettext("Quotes saved."))


# ---- recipients -----------------------------------------------------------------------------------


@router.post("/report/recipients")
def add_recipient(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    period = _form_period(request, form)
    values = {"email": text(form, "email"), "period": text(form, "recipient_period") or ReportPeriod.month.value}
    try:
        data = reports.RecipientIn.model_validate(values)
        reports.add_recipient(data, session=db, actor=actor_for(request, user))
        db.commit()
    except (ValidationError, DomainError) as exc:
        db.rollback()
        errors = input_errors(exc)
        if "period" in errors:
            errors["recipient_period"] = errors.pop("period")
        context = _context(request, db, user, period, recipient_values=values, recipient_errors=errors)
        return render(request, "listening/report.html", context, block="recipients", status_code=422)
    if is_fragment_request(request):
        return render(request, "listening/report.html", _context(request, db, user, period), block="recipients")
    return redirect(request, page_url(period) + "#recipients", flash=gettext("Recipient added."))


@router.post("/report/recipients/{recipient_id}/delete")
def remove_recipient(request: Request, db: DB, user: WriterUser, recipient_id: IdPath, form: Form) -> Response:
    period = _form_period(request, form)
    reports.remove_recipient(recipient_id, session=db, actor=actor_for(request, user))
    db.commit()
    if is_fragment_request(request):
        return render(request, "listening/report.html", _context(request, db, user, period), block="recipients")
    return redirect(request, page_url(period) + "#recipients", flash=gettext("Recipient removed."))
