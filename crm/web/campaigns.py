"""Campaign pages (HTML): the list, the form, the overview with its KPIs and status buttons, the
pipeline board (moving a card is one htmx action), a member's panel (fee, notes, next step, outreach
log, removal with undo), the tasks of a campaign, and "my tasks" across campaigns. Discovery, the
roster and introductions are crm/web/campaign_discovery.py; deliverables, the report and the close-out
crm/web/campaign_report.py."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, parse_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.accounts.models import User
from crm.campaigns import pages, restore, service
from crm.campaigns.models import (
    KPI_LABELS,
    STAGES,
    CampaignIn,
    CampaignPatch,
    CampaignStatus,
    KpiIn,
    KpiMetric,
    MemberIn,
    MemberPatch,
    StageIn,
    TaskIn,
)
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.errors import Conflict, InvalidInput
from crm.i18n import current_locale, gettext
from crm.interactions import log
from crm.interactions.models import OUTREACH_KINDS, InteractionIn
from crm.profiles import service as profiles
from crm.profiles.counts import BadCount, parse_count
from crm.templating import is_fragment_request, render
from crm.web.common import Form, checkbox, field_errors, input_errors, redirect, safe_next, text
from crm.web.forms import as_input, default_values, shown_values, typed_values
from crm.web.ranking import helpers as ranking_helpers

router = APIRouter()

MONEY_FIELDS = ("budget", "fee", "target", "actual")
OUTREACH = sorted(k.value for k in OUTREACH_KINDS)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


def _zone(request: Request) -> tzinfo:
    return ZoneInfo(get_settings(request).time_zone)


# ---- reading numbers as people type them ------------------------------------------------------


def _read_money(values: dict[str, Any], data: dict[str, Any], problems: dict[str, str]) -> None:
    """Amounts as typed in the reader's locale ("1,500.50" in English, "1.500,50" in Spanish); one that
    cannot be read, or is below zero, gets its own message."""
    for name in MONEY_FIELDS:
        typed = str(values.get(name) or "").strip().replace(" ", "").replace("\u00a0", "")
        if name not in values or not typed:
            continue
        try:
            number = float(parse_decimal(typed, locale=current_locale.get()))
        except (NumberFormatError, ValueError):
            problems[name] = gettext("Enter a number, like 1500.")
            data[name] = None
            continue
        if number < 0:
            problems[name] = gettext("Use zero or more: it cannot be below zero.")
        data[name] = number


def _money_shown(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


# ---- the campaign form ------------------------------------------------------------------------


def _owners(db: Any) -> list[User]:
    return profiles.owners(session=db)


def _form_context(db: Any, values: dict[str, Any], errors: dict[str, str], campaign: Any = None) -> dict[str, Any]:
    return {"values": values, "errors": errors, "campaign": campaign, "statuses": [s.value for s in CampaignStatus],
            "owners": _owners(db)}


def _campaign_values(campaign: Any) -> dict[str, Any]:
    values = shown_values(CampaignIn, campaign.model_dump())
    values["budget"] = _money_shown(campaign.budget)
    return values


def _parse_campaign(values: dict[str, Any]) -> CampaignIn:
    problems: dict[str, str] = {}
    data = as_input(CampaignIn, values)
    _read_money(values, data, problems)
    reach = str(values.get("target_reach") or "").strip()
    if reach:
        try:
            data["target_reach"] = parse_count(reach, current_locale.get())
        except BadCount as exc:
            problems["target_reach"] = str(exc)
            data["target_reach"] = None
    try:
        campaign = CampaignIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(gettext("Please correct the fields marked below."),
                           field_errors={**field_errors(exc), **problems}) from None
    if problems:
        raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=problems)
    return campaign


def _save_campaign(request: Request, db: Any, user: User, form: FormData, campaign_id: int | None) -> Response:
    values = typed_values(CampaignIn, form)
    try:
        data = _parse_campaign(values)
        actor = actor_for(request, user)
        if campaign_id is None:
            campaign = service.create_campaign(data, session=db, actor=actor)
        else:
            campaign = service.update_campaign(campaign_id, data, session=db, actor=actor)
        db.commit()
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = input_errors(exc)
    else:
        message = gettext("%(name)s created.") if campaign_id is None else gettext("%(name)s saved.")
        return redirect(request, f"/campaigns/{campaign.id}", flash=message % {"name": campaign.name})
    existing = service.get_campaign(campaign_id, session=db) if campaign_id else None
    return render(request, "campaigns/form.html", _form_context(db, values, errors, existing), block="campaign_form",
                  status_code=422)


# ---- the list and "my tasks" (fixed paths before /campaigns/{campaign_id}) ---------------------


@router.get("/campaigns")
def campaign_list(request: Request, db: DB, user: CurrentUser,
                  show: str = "open", q: Annotated[str, Query(max_length=200)] = "", sort: str = "start") -> Response:
    chosen = pages.ListShow(show) if show in pages.ListShow.__members__ else pages.ListShow.open
    order = pages.ListSort(sort) if sort in pages.ListSort.__members__ else pages.ListSort.start
    rows = pages.campaign_list(session=db, show=chosen, q=q, sort=order)
    context = {"rows": rows, "show": chosen.value, "q": q, "sort": order.value, "shows": list(pages.ListShow),
               "sorts": list(pages.ListSort), "owners": pages.user_names(session=db)}
    return render(request, "campaigns/list.html", context, block="campaign_list")


@router.get("/campaigns/new")
def new_campaign(request: Request, db: DB, user: WriterUser) -> Response:
    values = shown_values(CampaignIn, default_values(CampaignIn))
    values["owner_id"] = str(user.id)
    return render(request, "campaigns/form.html", _form_context(db, values, {}))


@router.post("/campaigns")
def create_campaign(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save_campaign(request, db, user, form, None)


def _tasks_params(request: Request) -> tuple[pages.Whose, pages.TaskShow]:
    raw = request.query_params
    whose = raw.get("whose", "mine")
    show = raw.get("show", "open")
    return (pages.Whose(whose) if whose in pages.Whose.__members__ else pages.Whose.mine,
            pages.TaskShow(show) if show in pages.TaskShow.__members__ else pages.TaskShow.open)


@router.get("/tasks")
def my_tasks(request: Request, db: DB, user: CurrentUser) -> Response:
    """Tasks across campaigns: mine by default; everyone's or nobody's; open, overdue, done or all."""
    whose, show = _tasks_params(request)
    rows = pages.task_list(session=db, user_id=user.id, whose=whose, show=show)
    context = {"rows": rows, "whose": whose.value, "show": show.value, "whose_options": list(pages.Whose),
               "shows": list(pages.TaskShow),
               "return_to": request.url.path + ("?" + request.url.query if request.url.query else "")}
    return render(request, "campaigns/my_tasks.html", context, block="task_results")


# ---- one campaign ------------------------------------------------------------------------------


def _overview(request: Request, db: Any, campaign_id: int, *, kpi_form: dict[str, Any] | None = None,
              status_code: int = 200, block: str | None = None) -> Response:
    view = pages.overview(campaign_id, session=db)
    kpi_values = {row.kpi.id: {"metric": row.kpi.metric, "label": row.kpi.label, "target": _money_shown(row.kpi.target),
                               "actual": _money_shown(row.kpi.actual)} for row in view.kpis}
    context = {"campaign": view.campaign, "tab": "overview", "view": view, "kpi_form": kpi_form or _blank_kpi(),
               "kpi_values": kpi_values,
               "metrics": [(m.value, gettext(KPI_LABELS[m])) for m in KpiMetric], "stages": [s.value for s in STAGES]}
    return render(request, "campaigns/overview.html", context, block=block, status_code=status_code)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    return _overview(request, db, campaign_id)


@router.get("/campaigns/{campaign_id}/edit")
def edit_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath) -> Response:
    campaign = service.get_campaign(campaign_id, session=db)
    return render(request, "campaigns/form.html", _form_context(db, _campaign_values(campaign), {}, campaign))


@router.post("/campaigns/{campaign_id}")
def update_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    return _save_campaign(request, db, user, form, campaign_id)


@router.post("/campaigns/{campaign_id}/status")
def change_status(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    """The overview's status buttons (planning → active → ...; completing has its own page)."""
    try:
        data = CampaignPatch.model_validate({"status": text(form, "status")})
    except ValidationError:
        choose = gettext("Choose one of the options.")
        raise InvalidInput(choose, field_errors={"status": choose}) from None
    campaign = service.update_campaign(campaign_id, data, session=db, actor=actor_for(request, user), partial=True)
    db.commit()
    return redirect(request, f"/campaigns/{campaign_id}", flash=gettext("%(name)s is now %(status)s.") % {
        "name": campaign.name, "status": gettext(campaign.status.capitalize()).lower()})


@router.get("/campaigns/{campaign_id}/delete")
def confirm_delete(request: Request, db: DB, user: WriterUser, campaign_id: IdPath) -> Response:
    impact = pages.deletion_impact(campaign_id, session=db)
    return render(request, "campaigns/delete.html", {"impact": impact, "campaign": impact.campaign})


@router.post("/campaigns/{campaign_id}/delete")
def delete_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath) -> Response:
    name = service.get_campaign(campaign_id, session=db).name
    service.delete_campaign(campaign_id, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/campaigns", flash=gettext("%(name)s was deleted.") % {"name": name})


# ---- KPIs (inline on the overview) --------------------------------------------------------------


def _blank_kpi() -> dict[str, Any]:
    return {"target_id": None, "values": {"metric": KpiMetric.reach.value, "label": "", "target": "", "actual": ""},
            "errors": {}}


def _kpi_from_form(form: FormData) -> tuple[dict[str, Any], KpiIn | None, dict[str, str]]:
    values = {name: text(form, name) for name in ("metric", "label", "target", "actual")}
    data: dict[str, Any] = {"metric": values["metric"], "label": values["label"]}
    problems: dict[str, str] = {}
    _read_money(values, data, problems)
    if not values["target"] and "target" not in problems:
        problems["target"] = gettext("This field is required.")
    try:
        kpi = KpiIn.model_validate(data)
    except ValidationError as exc:
        return values, None, {**field_errors(exc), **problems}
    return values, (None if problems else kpi), problems


def _kpi_answer(request: Request, db: Any, campaign_id: int, flash: str) -> Response:
    if is_fragment_request(request):
        return _overview(request, db, campaign_id, block="kpis")
    return redirect(request, f"/campaigns/{campaign_id}#kpis", flash=flash)


def _kpi_refused(request: Request, db: Any, campaign_id: int, kpi_id: int | None, values: dict[str, Any],
                 errors: dict[str, str]) -> Response:
    db.rollback()
    form = {"target_id": kpi_id, "values": values, "errors": errors}
    return _overview(request, db, campaign_id, kpi_form=form, status_code=422, block="kpis")


@router.post("/campaigns/{campaign_id}/kpis")
def add_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    values, data, errors = _kpi_from_form(form)
    if data is None:
        return _kpi_refused(request, db, campaign_id, None, values, errors)
    try:
        service.add_kpi(campaign_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except InvalidInput as exc:
        return _kpi_refused(request, db, campaign_id, None, values, input_errors(exc))
    return _kpi_answer(request, db, campaign_id, gettext("KPI added."))


@router.post("/campaigns/{campaign_id}/kpis/{kpi_id}")
def update_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, kpi_id: IdPath, form: Form) -> Response:
    values, data, errors = _kpi_from_form(form)
    if data is None:
        return _kpi_refused(request, db, campaign_id, kpi_id, values, errors)
    try:
        service.update_kpi(campaign_id, kpi_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except InvalidInput as exc:
        return _kpi_refused(request, db, campaign_id, kpi_id, values, input_errors(exc))
    return _kpi_answer(request, db, campaign_id, gettext("KPI saved."))


@router.post("/campaigns/{campaign_id}/kpis/{kpi_id}/delete")
def delete_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, kpi_id: IdPath) -> Response:
    service.delete_kpi(campaign_id, kpi_id, session=db, actor=actor_for(request, user))
    db.commit()
    return _kpi_answer(request, db, campaign_id, gettext("KPI deleted."))


# ---- the pipeline board -------------------------------------------------------------------------


def _board(request: Request, db: Any, campaign_id: int, *, errors: dict[int, str] | None = None,
           add: dict[str, Any] | None = None, undo: int | None = None, status_code: int = 200) -> Response:
    view = pages.board(campaign_id, session=db)
    undo_name = restore.removed_name(campaign_id, undo, session=db) if undo else None
    context = {"campaign": view.campaign, "tab": "pipeline", "board": view, "card_errors": errors or {},
               "add": add or {"values": {}, "errors": {}, "chosen": []}, "stages": [s.value for s in STAGES],
               "undo": undo if undo_name else None, "undo_name": undo_name, **ranking_helpers()}
    return render(request, "campaigns/pipeline.html", context, block="board", status_code=status_code)


@router.get("/campaigns/{campaign_id}/pipeline")
def pipeline(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath,
             undo: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    return _board(request, db, campaign_id, undo=undo)


@router.get("/campaigns/{campaign_id}/picker")
def person_picker(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath,
                  q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """People whose name matches what is typed, to add to the pipeline (htmx); else the people list."""
    if not is_fragment_request(request):
        return redirect(request, "/people?" + urlencode({"q": q}))
    matches = log.find_people(q, session=db)
    return render(request, "interactions/_picker.html", {"matches": matches, "q": q, "field": "profile_id"})


@router.post("/campaigns/{campaign_id}/members")
def add_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    values = {name: text(form, name) for name in ("profile_id", "stage", "fee", "notes")}
    data: dict[str, Any] = {"profile_id": values["profile_id"] or None, "stage": values["stage"] or "candidate",
                            "notes": values["notes"]}
    problems: dict[str, str] = {}
    _read_money(values, data, problems)
    try:
        if not values["profile_id"]:
            raise InvalidInput(gettext("Choose someone first."), field_errors={"profile_id": gettext("Choose someone first.")})
        if problems:
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=problems)
        member = service.add_member(campaign_id, MemberIn.model_validate(data), session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = exc.field_errors or {"profile_id": exc.message}
    else:
        name = log.people_named([member.profile_id], session=db).get(member.profile_id, "")
        flash = gettext("%(name)s added to the pipeline.") % {"name": name}
        if is_fragment_request(request):
            return _board(request, db, campaign_id)
        return redirect(request, f"/campaigns/{campaign_id}/pipeline", flash=flash)
    pid = values["profile_id"]
    chosen = list(log.people_named([int(pid)], session=db).items()) if pid.isdigit() and len(pid) < 10 else []
    return _board(request, db, campaign_id, add={"values": values, "errors": errors, "chosen": chosen}, status_code=422)


@router.post("/campaigns/{campaign_id}/members/{member_id}/stage")
def move_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath, form: Form) -> Response:
    """One card to another column: htmx swaps the board; a plain form comes back to the board (303).
    A declined member moves only with reopen=true; without it the service's message is shown on the card."""
    try:
        data = StageIn.model_validate({"stage": text(form, "stage"), "reopen": checkbox(form, "reopen")})
        service.move_member(campaign_id, member_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError:
        return _board(request, db, campaign_id, errors={member_id: gettext("Choose one of the stages.")}, status_code=422)
    except InvalidInput as exc:
        db.rollback()
        return _board(request, db, campaign_id, errors={member_id: exc.message}, status_code=422)
    if is_fragment_request(request):
        return _board(request, db, campaign_id)
    return redirect(request, safe_next(text(form, "next"), f"/campaigns/{campaign_id}/pipeline"),
                    flash=gettext("Moved."))


# ---- a member's panel ---------------------------------------------------------------------------


def _blank_outreach() -> dict[str, Any]:
    return {"kind": "outreach_email", "title": "", "body": "", "occurred_at": "", "contact_anyway": False}


def _panel(request: Request, db: Any, campaign_id: int, member_id: int, *, member_form: dict[str, Any] | None = None,
           outreach_form: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    panel = pages.member_panel(campaign_id, member_id, session=db)
    member = panel.member
    shown = member_form or {"values": {"fee": _money_shown(member.fee), "notes": member.notes,
                                       "next_step": member.next_step,
                                       "next_step_on": member.next_step_on.isoformat() if member.next_step_on else ""},
                            "errors": {}}
    context = {"campaign": panel.campaign, "tab": "pipeline", "panel": panel, "member_form": shown,
               "outreach_form": outreach_form or {"values": _blank_outreach(), "errors": {}},
               "outreach_kinds": OUTREACH, "stages": [s.value for s in STAGES], **ranking_helpers()}
    return render(request, "campaigns/member.html", context, block="member_panel", status_code=status_code)


@router.get("/campaigns/{campaign_id}/members/{member_id}")
def member_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath, member_id: IdPath) -> Response:
    return _panel(request, db, campaign_id, member_id)


@router.post("/campaigns/{campaign_id}/members/{member_id}")
def update_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath,
                  form: Form) -> Response:
    values = {name: text(form, name) for name in ("fee", "notes", "next_step", "next_step_on")}
    data: dict[str, Any] = {"fee": None, "notes": values["notes"], "next_step": values["next_step"],
                            "next_step_on": values["next_step_on"] or None}
    problems: dict[str, str] = {}
    _read_money(values, data, problems)
    try:
        patch = MemberPatch.model_validate(data)
        if problems:
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=problems)
        service.update_member(campaign_id, member_id, patch, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = {**field_errors(exc), **problems}
    except InvalidInput as exc:
        db.rollback()
        errors = input_errors(exc)
    else:
        if is_fragment_request(request):
            return _panel(request, db, campaign_id, member_id)
        return redirect(request, f"/campaigns/{campaign_id}/members/{member_id}", flash=gettext("Saved."))
    return _panel(request, db, campaign_id, member_id, member_form={"values": values, "errors": errors}, status_code=422)


@router.post("/campaigns/{campaign_id}/members/{member_id}/outreach")
def log_outreach(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath,
                 form: Form) -> Response:
    """An e-mail, DM or meeting with the member, linked to the campaign and on their timeline. Someone
    who may not be contacted needs "contact anyway" ticked (crm.interactions.log says why)."""
    values: dict[str, Any] = {name: text(form, name) for name in ("kind", "title", "body", "occurred_at")}
    values["contact_anyway"] = checkbox(form, "contact_anyway")
    member = service.get_member(campaign_id, member_id, session=db)
    errors: dict[str, str]
    try:
        if values["kind"] not in OUTREACH:
            choose = gettext("Choose one of the options.")
            raise InvalidInput(choose, field_errors={"kind": choose})
        moment: Any = None
        if values["occurred_at"]:
            try:
                moment = datetime.fromisoformat(values["occurred_at"])
            except ValueError:
                raise InvalidInput(gettext("Please correct the fields marked below."), field_errors={
                    "occurred_at": gettext("Enter a date and time like 2026-03-31 14:30.")}) from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=_zone(request))
        data = InteractionIn.model_validate({"kind": values["kind"], "title": values["title"], "body": values["body"],
                                             "occurred_at": moment, "contact_anyway": values["contact_anyway"]})
        service.log_for_campaign(campaign_id, member.profile_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = input_errors(exc)
    else:
        if is_fragment_request(request):
            return _panel(request, db, campaign_id, member_id)
        return redirect(request, f"/campaigns/{campaign_id}/members/{member_id}", flash=gettext("Logged."))
    return _panel(request, db, campaign_id, member_id, outreach_form={"values": values, "errors": errors},
                  status_code=422)


@router.get("/campaigns/{campaign_id}/members/{member_id}/remove")
def confirm_remove(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath) -> Response:
    panel = pages.member_panel(campaign_id, member_id, session=db)
    return render(request, "campaigns/member_remove.html", {"campaign": panel.campaign, "panel": panel},
                  block="remove_confirm")


@router.post("/campaigns/{campaign_id}/members/{member_id}/remove")
def remove_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath) -> Response:
    service.remove_member(campaign_id, member_id, session=db, actor=actor_for(request, user))
    event_id = restore.last_removal(campaign_id, member_id, session=db)
    db.commit()
    if is_fragment_request(request):
        return _board(request, db, campaign_id, undo=event_id)
    return redirect(request, f"/campaigns/{campaign_id}/pipeline" + (f"?undo={event_id}" if event_id else ""),
                    flash=gettext("Removed from the campaign."))


@router.post("/campaigns/{campaign_id}/members/undo/{event_id}")
def undo_remove(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, event_id: IdPath) -> Response:
    member = restore.restore_member(campaign_id, event_id, session=db, actor=actor_for(request, user))
    db.commit()
    if is_fragment_request(request):
        return _board(request, db, campaign_id)
    return redirect(request, f"/campaigns/{campaign_id}/pipeline", flash=gettext("Put back.") if member else None)


# ---- tasks --------------------------------------------------------------------------------------


def _blank_task(user: User) -> dict[str, Any]:
    return {"title": "", "goal": "", "owner_id": str(user.id), "due_on": "", "profile_id": ""}


def _task_values(task: Any) -> dict[str, Any]:
    return shown_values(TaskIn, task.model_dump())


def _tasks(request: Request, db: Any, user: User, campaign_id: int, *, task_form: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    view = pages.campaign_tasks(campaign_id, session=db)
    context = {"campaign": view.campaign, "tab": "tasks", "view": view, "owners": _owners(db),
               "task_form": task_form or {"values": _blank_task(user), "errors": {}, "chosen": []},
               "members": [(row.profile.id, row.profile.display_name) for row in
                           service.members(campaign_id, session=db)]}
    return render(request, "campaigns/tasks.html", context, block="tasks", status_code=status_code)


def _parse_task(form: FormData) -> tuple[dict[str, Any], TaskIn | None, dict[str, str]]:
    values = typed_values(TaskIn, form)
    try:
        return values, TaskIn.model_validate(as_input(TaskIn, values)), {}
    except ValidationError as exc:
        return values, None, field_errors(exc)


@router.get("/campaigns/{campaign_id}/tasks")
def campaign_tasks(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    return _tasks(request, db, user, campaign_id)


@router.post("/campaigns/{campaign_id}/tasks")
def add_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    values, data, errors = _parse_task(form)
    if data is not None:
        try:
            service.add_task(campaign_id, data, session=db, actor=actor_for(request, user))
            db.commit()
        except InvalidInput as exc:
            db.rollback()
            errors = input_errors(exc)
        else:
            if is_fragment_request(request):
                return _tasks(request, db, user, campaign_id)
            return redirect(request, f"/campaigns/{campaign_id}/tasks", flash=gettext("Task added."))
    return _tasks(request, db, user, campaign_id, task_form={"values": values, "errors": errors}, status_code=422)


def _task_edit(request: Request, db: Any, campaign_id: int, task_id: int, values: dict[str, Any],
               errors: dict[str, str], status_code: int = 200) -> Response:
    row = pages.task_row(campaign_id, task_id, session=db)
    view = pages.campaign_tasks(campaign_id, session=db)
    context = {"campaign": view.campaign, "tab": "tasks", "row": row, "values": values, "errors": errors,
               "owners": _owners(db), "goals": view.goals,
               "members": [(r.profile.id, r.profile.display_name) for r in service.members(campaign_id, session=db)]}
    return render(request, "campaigns/task_edit.html", context, block="task_form", status_code=status_code)


@router.get("/campaigns/{campaign_id}/tasks/{task_id}/edit")
def edit_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath) -> Response:
    task = service.get_task(campaign_id, task_id, session=db)
    return _task_edit(request, db, campaign_id, task_id, _task_values(task), {})


@router.post("/campaigns/{campaign_id}/tasks/{task_id}")
def update_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath, form: Form) -> Response:
    values, data, errors = _parse_task(form)
    if data is not None:
        try:
            service.update_task(campaign_id, task_id, data, session=db, actor=actor_for(request, user))
            db.commit()
        except InvalidInput as exc:
            db.rollback()
            errors = input_errors(exc)
        else:
            return redirect(request, f"/campaigns/{campaign_id}/tasks", flash=gettext("Task saved."))
    return _task_edit(request, db, campaign_id, task_id, values, errors, status_code=422)


@router.post("/campaigns/{campaign_id}/tasks/{task_id}/done")
def task_done(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath, form: Form) -> Response:
    """The done checkbox: htmx swaps the task's row (on the campaign's tasks or on "my tasks")."""
    done = text(form, "done") not in ("false", "0", "no", "off")
    service.set_task_done(campaign_id, task_id, done, session=db, actor=actor_for(request, user))
    db.commit()
    if is_fragment_request(request):
        row = pages.task_row(campaign_id, task_id, session=db)
        mine = text(form, "list") == "mine"
        return render(request, "campaigns/_task_row.html", {"row": row, "mine": mine, "return_to": text(form, "next")})
    return redirect(request, safe_next(text(form, "next"), f"/campaigns/{campaign_id}/tasks"),
                    flash=gettext("Task done.") if done else gettext("Task open again."))


@router.post("/campaigns/{campaign_id}/tasks/{task_id}/delete")
def delete_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath) -> Response:
    service.delete_task(campaign_id, task_id, session=db, actor=actor_for(request, user))
    db.commit()
    if is_fragment_request(request):
        return _tasks(request, db, user, campaign_id)
    return redirect(request, f"/campaigns/{campaign_id}/tasks", flash=gettext("Task deleted."))

