"""A campaign's deliverables, quotes, report (page and CSV) and close-out (HTML).

The numbers come from crm.campaigns.report; changes go through crm.campaigns.service (and
crm.interactions.log for a deliverable's reach and engagements), audited there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlmodel import Session

from crm.campaigns import report
from crm.campaigns import service as campaigns
from crm.campaigns.models import CampaignStatus, QuoteIn
from crm.db import session_scope
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_engine, get_settings
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.interactions import log
from crm.interactions.models import InteractionIn, InteractionPatch
from crm.recognition import badges
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect, text

router = APIRouter(prefix="/campaigns")

LOG_FIELDS = ("profile_id", "kind", "url", "title", "occurred_on", "reach", "engagements")
NUMBER_FIELDS = ("reach", "engagements")


def _zone(request: Request) -> tzinfo:
    return ZoneInfo(get_settings(request).time_zone)


def _direction(request: Request, first: str) -> bool:
    """True for descending: the `dir` parameter, else the column's first direction."""
    value = request.query_params.get("dir", first)
    return value != "asc"


# ---- deliverables ------------------------------------------------------------------------------


def _blank_log() -> dict[str, Any]:
    return {"profile_id": "", "kind": "post", "url": "", "title": "", "occurred_on": "", "reach": "", "engagements": ""}


def _count(value: str) -> str | int:
    cleaned = value.replace(",", "").replace("_", "").replace(" ", "").replace("\u00a0", "")
    return 0 if cleaned == "" else cleaned


def _parse_log(values: dict[str, Any], zone: tzinfo) -> tuple[int | None, InteractionIn | None, dict[str, str]]:
    """The form's values as (person, InteractionIn, errors): every problem at once, each by its field."""
    errors: dict[str, str] = {}
    person = str(values.get("profile_id") or "")
    profile_id = int(person) if person.isdigit() and len(person) < 10 else None
    if profile_id is None:
        errors["profile_id"] = gettext("Choose who made it.")
    data: dict[str, Any] = {"kind": values.get("kind") or "post", "url": values.get("url", ""),
                            "title": values.get("title", "")}
    for name in NUMBER_FIELDS:
        data[name] = _count(str(values.get(name) or ""))
    day = str(values.get("occurred_on") or "")
    if day:
        try:
            data["occurred_at"] = datetime.combine(date.fromisoformat(day), time(12), tzinfo=zone)
        except ValueError:
            errors["occurred_on"] = gettext("Enter a date like 2026-03-31.")
    try:
        checked = InteractionIn.model_validate(data)
    except ValidationError as exc:
        for name, message in field_errors(exc).items():
            errors.setdefault("occurred_on" if name == "occurred_at" else name, message)
        return profile_id, None, errors
    return profile_id, checked, errors


def _deliverables_context(db: Session, campaign_id: int, request: Request, *, values: dict[str, Any] | None = None,
                          errors: dict[str, str] | None = None, editing: Any = None,
                          edit_values: dict[str, Any] | None = None, edit_errors: dict[str, str] | None = None,
                          logged: bool = False) -> dict[str, Any]:
    raw_sort = request.query_params.get("sort", "date")
    sort = report.DeliverableSort(raw_sort) if raw_sort in report.DeliverableSort.__members__ else report.DeliverableSort.date
    listing = report.deliverables(campaign_id, session=db, sort=sort, descending=_direction(request, "desc"))
    return {
        "campaign": campaigns.get_campaign(campaign_id, session=db), "tab": "deliverables", "listing": listing,
        "people": report.member_choices(campaign_id, session=db), "kinds": report.DELIVERABLE_KINDS,
        "values": values or _blank_log(), "errors": errors or {}, "editing": editing,
        "edit_values": edit_values or {}, "edit_errors": edit_errors or {}, "logged": logged,
        "form_open": bool(errors),
    }


@router.get("/{campaign_id}/deliverables")
def deliverables_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    """The campaign's deliverables (sortable by date, reach, engagements) and the form to log one."""
    context = _deliverables_context(db, campaign_id, request)
    return render(request, "campaigns/deliverables.html", context, block="deliverables_panel")


@router.post("/{campaign_id}/deliverables")
def log_deliverable(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    values = {name: text(form, name) for name in LOG_FIELDS}
    profile_id, data, errors = _parse_log(values, _zone(request))
    if data is not None and profile_id is not None and not errors:
        try:
            report.log_deliverable(campaign_id, profile_id, data, session=db, actor=actor_for(request, user))
            db.commit()
        except InvalidInput as exc:
            db.rollback()
            errors = {("occurred_on" if name == "occurred_at" else name): message
                      for name, message in exc.field_errors.items()} or {"__all__": exc.message}
        else:
            if is_fragment_request(request):
                context = _deliverables_context(db, campaign_id, request, logged=True)
                return render(request, "campaigns/deliverables.html", context, block="deliverables_panel")
            return redirect(request, f"/campaigns/{campaign_id}/deliverables", flash=gettext("Deliverable logged."))
    context = _deliverables_context(db, campaign_id, request, values=values, errors=errors)
    return render(request, "campaigns/deliverables.html", context, block="deliverables_panel", status_code=422)


@router.get("/{campaign_id}/deliverables/{interaction_id}/edit")
def edit_deliverable(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, interaction_id: IdPath) -> Response:
    """The form for a deliverable's reach and engagements (into the page with htmx, or the page with it open)."""
    item, _profile = report.get_deliverable(campaign_id, interaction_id, session=db)
    values = {"reach": str(item.reach), "engagements": str(item.engagements)}
    context = _deliverables_context(db, campaign_id, request, editing=item, edit_values=values)
    return render(request, "campaigns/deliverables.html", context, block="edit_form")


@router.post("/{campaign_id}/deliverables/{interaction_id}")
def update_deliverable(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, interaction_id: IdPath,
                       form: Form) -> Response:
    item, _profile = report.get_deliverable(campaign_id, interaction_id, session=db)
    values = {name: text(form, name) for name in NUMBER_FIELDS}
    errors: dict[str, str] = {}
    try:
        campaigns.check_open(campaign_id, session=db)
        patch = InteractionPatch.model_validate({name: _count(values[name]) for name in NUMBER_FIELDS})
        log.update_interaction(interaction_id, patch, session=db, actor=actor_for(request, user), user=user)
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if is_fragment_request(request):
            context = _deliverables_context(db, campaign_id, request)
            return render(request, "campaigns/deliverables.html", context, block="deliverables_panel")
        return redirect(request, f"/campaigns/{campaign_id}/deliverables", flash=gettext("Saved."))
    context = _deliverables_context(db, campaign_id, request, editing=item, edit_values=values, edit_errors=errors)
    return render(request, "campaigns/deliverables.html", context, block="deliverables_panel", status_code=422)


# ---- quotes ------------------------------------------------------------------------------------


def _quotes_context(db: Session, campaign_id: int, *, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"campaign": campaigns.get_campaign(campaign_id, session=db), "tab": "report",
            "quotes": campaigns.quotes(campaign_id, session=db),
            "quotable": report.quotable(campaign_id, session=db), "values": values, "errors": errors}


@router.get("/{campaign_id}/quotes")
def quotes_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    """The quotes picked for the report, the linked interactions to quote from, and the quote form
    (prefilled from ?interaction_id=, the "Quote this" link)."""
    values: dict[str, Any] = {"text": "", "interaction_id": ""}
    chosen = request.query_params.get("interaction_id", "")
    if chosen.isdigit() and len(chosen) < 10:
        item, _profile = report.get_deliverable(campaign_id, int(chosen), session=db)
        values = {"text": report.quote_text(item), "interaction_id": str(item.id)}
    context = _quotes_context(db, campaign_id, values=values, errors={})
    return render(request, "campaigns/quotes.html", context, block="quote_form")


@router.post("/{campaign_id}/quotes")
def add_quote(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    values = {"text": text(form, "text"), "interaction_id": text(form, "interaction_id")}
    try:
        data = QuoteIn.model_validate({"text": values["text"], "interaction_id": values["interaction_id"] or None})
        campaigns.add_quote(campaign_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        return redirect(request, f"/campaigns/{campaign_id}/quotes", flash=gettext("Quote added to the report."))
    context = _quotes_context(db, campaign_id, values=values, errors=errors)
    return render(request, "campaigns/quotes.html", context, block="quote_form", status_code=422)


@router.post("/{campaign_id}/quotes/{quote_id}/delete")
def delete_quote(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, quote_id: IdPath, form: Form) -> Response:
    campaigns.delete_quote(campaign_id, quote_id, session=db, actor=actor_for(request, user))
    db.commit()
    back = "report" if text(form, "back") == "report" else "quotes"
    return redirect(request, f"/campaigns/{campaign_id}/{back}", flash=gettext("Quote removed."))


# ---- the report --------------------------------------------------------------------------------


def _sort(request: Request) -> tuple[report.SortKey, bool]:
    raw = request.query_params.get("sort", "")
    key = report.SortKey(raw) if raw in report.SortKey.__members__ else report.DEFAULT_SORT
    return key, _direction(request, report.first_direction(key))


@router.get("/{campaign_id}/report")
def report_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    """KPIs against targets, totals, contributions over time, the members (sorted by any column: the
    table alone for htmx) and the quotes; print-friendly."""
    key, descending = _sort(request)
    data = report.report(campaign_id, session=db, zone=_zone(request), sort=key, descending=descending)
    context = {"campaign": data.campaign, "tab": "report", "r": data, "sort_labels": report.SORT_LABELS,
               "first_direction": report.first_direction}
    return render(request, "campaigns/report.html", context, block="members_table")


@router.get("/{campaign_id}/report.csv")
def report_csv(request: Request, user: CurrentUser, campaign_id: IdPath) -> Response:
    """The per-member table (or, with ?part=kpis, the KPIs and totals) as CSV; audited before it is
    sent, in its own short transaction, then read and streamed."""
    raw = request.query_params.get("part", "members")
    part = report.CsvPart(raw) if raw in report.CsvPart.__members__ else report.CsvPart.members
    engine = get_engine(request)
    zone = _zone(request)
    with session_scope(engine, write=True) as writer:
        campaign = report.begin_export(campaign_id, part, session=writer, actor=actor_for(request, user))
    name = report.export_filename(campaign, part)

    def body() -> Iterator[str]:
        with Session(engine) as session:
            yield from report.export_chunks(campaign_id, part, session=session, zone=zone)

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


# ---- close-out ---------------------------------------------------------------------------------


def _closeout_context(db: Session, campaign_id: int, *, message: str | None = None, chosen: set[int] | None = None,
                      errors: dict[str, str] | None = None, points: str = "0", badge_id: str = "") -> dict[str, Any]:
    campaign = campaigns.get_campaign(campaign_id, session=db)
    rows = report.close_out_rows(campaign_id, session=db)
    if chosen is None:
        chosen = {r.profile_id for r in rows if r.thanked_at is None}
    return {"campaign": campaign, "tab": "report", "rows": rows, "chosen": chosen,
            "message": report.default_message(campaign) if message is None else message, "errors": errors or {},
            "archived": campaign.status == CampaignStatus.archived,
            "completed": campaign.status == CampaignStatus.completed,
            "badges": badges.active_badges(session=db), "points": points, "badge_id": badge_id}


@router.get("/{campaign_id}/complete")
def closeout_page(request: Request, db: DB, user: WriterUser, campaign_id: IdPath) -> Response:
    """The close-out: every participant with what they contributed, and a thank-you for each (ticked
    unless they were thanked before). Submitting completes the campaign."""
    return render(request, "campaigns/closeout.html", _closeout_context(db, campaign_id))


def _ids(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 10]


@router.post("/{campaign_id}/complete")
def complete(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    thank = _ids(form.getlist("thank"))
    message = text(form, "message")
    try:
        extra = report.CloseOutExtras.model_validate({"points": text(form, "points") or "0",
                                                      "badge_id": text(form, "badge_id") or None})
    except ValidationError as exc:
        context = _closeout_context(db, campaign_id, message=message, chosen=set(thank), errors=field_errors(exc),
                                    points=text(form, "points"), badge_id=text(form, "badge_id"))
        return render(request, "campaigns/closeout.html", context, status_code=422)
    if len(message) > 5000:
        context = _closeout_context(db, campaign_id, message=message, chosen=set(thank),
                                    errors={"message": gettext("Use at most %(n)s characters.") % {"n": 5000}})
        return render(request, "campaigns/closeout.html", context, status_code=422)
    try:
        done = report.complete(campaign_id, thank, message, session=db, actor=actor_for(request, user),
                               points=extra.points, badge_id=extra.badge_id)
        db.commit()
    except (InvalidInput, NotFound) as exc:
        db.rollback()
        context = _closeout_context(db, campaign_id, message=message, chosen=set(thank),
                                    errors=exc.field_errors | {"__all__": exc.message}, points=text(form, "points"),
                                    badge_id=text(form, "badge_id"))
        return render(request, "campaigns/closeout.html", context, status_code=422)
    if done.was_completed:
        flash = ngettext("Already completed; %(num)d more person thanked.", "Already completed; %(num)d more people thanked.",
                         len(done.thanked)) % {"num": len(done.thanked)}
    else:
        flash = ngettext("Campaign completed; %(num)d person thanked.", "Campaign completed; %(num)d people thanked.",
                         len(done.thanked)) % {"num": len(done.thanked)}
    return redirect(request, f"/campaigns/{campaign_id}/report", flash=flash)
