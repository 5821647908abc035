"""Signals (HTML): the list with "my signals" and department queues, the new-signal form (prefilled from
a mention or an alert), a signal's page (status buttons, assign, notes, join more mentions, close the
loop), departments, SLA targets, and the dashboard's counts (loaded into the dashboard by htmx)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, DomainError
from crm.i18n import gettext
from crm.listening import routing
from crm.listening import signals as service
from crm.listening.models import SignalPriority, SignalStatus, SignalType
from crm.templating import is_fragment_request, render
from crm.web.common import Form, checkbox, input_errors, redirect, text
from crm.web.forms import forgiving

router = APIRouter(prefix="/signals")

FORM_FIELDS = ("type", "title", "summary", "profile_id", "department_id", "owner_id", "priority", "interaction_ids",
               "alert_id")


def _ids(raw: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", raw or "") if part][: service.MAX_ITEMS + 1]


def _choices(db: Any) -> dict[str, Any]:
    departments = service.departments(session=db)
    return {
        "types": [t.value for t in SignalType],
        "priorities": [p.value for p in SignalPriority],
        "statuses": [s.value for s in SignalStatus],
        "departments": departments,
        "department_options": [(d.id, d.name) for d in departments],
        "owners": service.owners(session=db),
    }


def _validate(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The schema from form values; pydantic's complaints become the same DomainError the services raise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _FormError(input_errors(exc)) from None


class _FormError(DomainError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors.get("__all__", gettext("Check the highlighted fields.")), field_errors=errors)


# ---- the list --------------------------------------------------------------------------------------


@router.get("")
def signal_list(request: Request, db: DB, user: CurrentUser) -> Response:
    params = forgiving(service.SignalQuery, request.query_params)
    if service.ensure_defaults(session=db):
        db.commit()
    listing = service.list_signals(params, session=db, user_id=user.id)
    query = {k: v for k, v in params.model_dump(mode="json", exclude={"page", "per_page"}).items() if v not in (None, "", False)}
    context = {"params": params, "listing": listing, "base": "/signals?" + urlencode(query),
               "query": query, **_choices(db)}
    return render(request, "signals/list.html", context, block="signal_list")


@router.get("/widget")
def widget(request: Request, db: DB, user: CurrentUser) -> Response:
    """The dashboard's counts (the dashboard loads them with htmx); without htmx, the list."""
    if not is_fragment_request(request):
        return redirect(request, "/signals?owner=me")
    counts = service.widget_counts(session=db, user_id=user.id)
    return render(request, "dashboard/_signals_widget.html", {"counts": counts})


# ---- opening ---------------------------------------------------------------------------------------


def _form(request: Request, db: Any, values: dict[str, Any], errors: dict[str, str], prefill: service.Prefill,
          status_code: int = 200) -> Response:
    context = {"values": values, "errors": errors, "prefill": prefill, **_choices(db)}
    return render(request, "signals/form.html", context, block="signal_form", status_code=status_code)


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@router.get("/new")
def new_signal(request: Request, db: DB, user: WriterUser, interaction_ids: str = "", alert_id: str = "",
               profile_id: str = "") -> Response:
    if service.ensure_defaults(session=db):
        db.commit()
    ids = [int(i) for i in _ids(interaction_ids) if i.isdigit() and len(i) < 10]
    prefill = service.prefill(ids, _int_or_none(alert_id), _int_or_none(profile_id), session=db)
    return _form(request, db, prefill.values, {}, prefill)


def _signal_data(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {name: text(form, name) for name in FORM_FIELDS}
    data: dict[str, Any] = {name: values[name] for name in ("type", "title", "summary", "priority")}
    for name in ("profile_id", "alert_id", "department_id", "owner_id"):
        data[name] = values[name] or None  # an empty owner: the department's queue
    data["interaction_ids"] = _ids(values["interaction_ids"])
    return values, data


@router.post("")
def create_signal(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    values, data = _signal_data(form)
    try:
        signal = service.create_signal(_validate(service.SignalIn, data), session=db, actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        db.rollback()
        ids = [int(i) for i in data["interaction_ids"] if i.isdigit() and len(i) < 10]
        prefill = service.prefill(ids, _int_or_none(values["alert_id"]), _int_or_none(values["profile_id"]), session=db)
        return _form(request, db, values, input_errors(exc), prefill, status_code=422)
    return redirect(request, f"/signals/{signal.id}", flash=gettext("Signal opened."))


# ---- departments -----------------------------------------------------------------------------------


def _departments(request: Request, db: Any, *, errors: dict[str, str] | None = None, target: int | None = None,
                 values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    context = {"departments": service.departments(session=db), "errors": errors or {}, "target": target,
               "values": values or {}, "default_of_type": routing.DEFAULT_DEPARTMENT_OF_TYPE}
    return render(request, "signals/departments.html", context, block="departments", status_code=status_code)


@router.get("/departments")
def department_list(request: Request, db: DB, user: WriterUser) -> Response:
    if service.ensure_defaults(session=db):
        db.commit()
    return _departments(request, db)


def _save_department(request: Request, db: Any, user: Any, form: FormData, department_id: int | None) -> Response:
    values = {"name": text(form, "name"), "email": text(form, "email")}
    actor = actor_for(request, user)
    try:
        data = _validate(service.DepartmentIn, values)
        if department_id is None:
            service.create_department(data, session=db, actor=actor)
        else:
            service.update_department(department_id, data, session=db, actor=actor)
        db.commit()
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        db.rollback()
        return _departments(request, db, errors=input_errors(exc), target=department_id, values=values, status_code=422)
    if is_fragment_request(request):
        return _departments(request, db)
    return redirect(request, "/signals/departments", flash=gettext("Department saved."))


@router.post("/departments")
def create_department(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save_department(request, db, user, form, None)


@router.post("/departments/{department_id}")
def update_department(request: Request, db: DB, user: WriterUser, department_id: IdPath, form: Form) -> Response:
    return _save_department(request, db, user, form, department_id)


@router.post("/departments/{department_id}/delete")
def delete_department(request: Request, db: DB, user: WriterUser, department_id: IdPath) -> Response:
    try:
        name = service.delete_department(department_id, session=db, actor=actor_for(request, user))
    except Conflict as exc:  # open signals are in it
        db.rollback()
        return _departments(request, db, errors={"__all__": exc.message}, target=department_id, status_code=409)
    db.commit()
    if is_fragment_request(request):
        return _departments(request, db)
    return redirect(request, "/signals/departments", flash=gettext("%(name)s was deleted.") % {"name": name})


# ---- SLA targets -----------------------------------------------------------------------------------


def _sla(request: Request, db: Any, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
         saved: bool = False, status_code: int = 200) -> Response:
    if values is None:
        values = {}
        for t in service.sla_targets(session=db):
            values[f"{t.signal_type}.{t.priority}.first"] = f"{t.first_response_hours:g}"
            values[f"{t.signal_type}.{t.priority}.resolution"] = f"{t.resolution_hours:g}"
    context = {"values": values, "errors": errors or {}, "saved": saved, "types": [t.value for t in SignalType],
               "priorities": [p.value for p in reversed(SignalPriority)]}
    return render(request, "signals/sla.html", context, block="sla", status_code=status_code)


@router.get("/sla")
def sla_page(request: Request, db: DB, user: CurrentUser) -> Response:
    if service.ensure_defaults(session=db):
        db.commit()
    return _sla(request, db)


@router.post("/sla")
def save_sla(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    targets = []
    for signal_type in SignalType:
        for priority in SignalPriority:
            key = f"{signal_type.value}.{priority.value}"
            first, resolution = text(form, key + ".first"), text(form, key + ".resolution")
            values[key + ".first"], values[key + ".resolution"] = first, resolution
            if not first and not resolution:
                continue  # no SLA for this pair
            if not first or not resolution:
                errors[key] = gettext("Give both times, or neither.")
                continue
            try:
                targets.append(service.SlaTargetIn.model_validate({
                    "signal_type": signal_type, "priority": priority,
                    "first_response_hours": first.replace(",", "."), "resolution_hours": resolution.replace(",", ".")}))
            except ValidationError as exc:
                first_error = exc.errors()[0]
                errors[key] = (gettext("Enter hours as a number above 0 and at most a year.")
                               if first_error.get("loc") else str(first_error.get("msg", "")).removeprefix("Value error, "))
    if errors:
        return _sla(request, db, values=values, errors=errors, status_code=422)
    service.save_sla_targets(service.SlaTargetsIn(targets=targets), session=db, actor=actor_for(request, user))
    db.commit()
    if is_fragment_request(request):
        return _sla(request, db, saved=True)
    return redirect(request, "/signals/sla", flash=gettext("SLA targets saved."))


# ---- one signal ------------------------------------------------------------------------------------


def _panel(request: Request, db: Any, signal_id: int, *, form: str = "", errors: dict[str, str] | None = None,
           values: dict[str, Any] | None = None, notice: str = "", status_code: int = 200) -> Response:
    detail = service.signal_detail(signal_id, session=db)
    context = {"d": detail, "s": detail.signal, "form": form, "errors": errors or {}, "values": values or {},
               "notice": notice, "suggestion": routing.suggest_owner(detail.signal.profile_id, session=db),
               **_choices(db)}
    return render(request, "signals/detail.html", context, block="signal_panel", status_code=status_code)


@router.get("/{signal_id}")
def signal_page(request: Request, db: DB, user: CurrentUser, signal_id: IdPath) -> Response:
    return _panel(request, db, signal_id)


def _done(request: Request, db: Any, signal_id: int, notice: str) -> Response:
    """After a change: the panel again for htmx (with what happened), a redirect for plain forms."""
    if is_fragment_request(request):
        return _panel(request, db, signal_id, notice=notice)
    return redirect(request, f"/signals/{signal_id}", flash=notice)


def _refused(request: Request, db: Any, signal_id: int, exc: DomainError, form: str, values: dict[str, Any]) -> Response:
    if exc.status_code == 404:
        raise exc
    db.rollback()
    return _panel(request, db, signal_id, form=form, errors=input_errors(exc), values=values,
                  status_code=409 if exc.status_code == 409 else 422)


@router.post("/{signal_id}")
def update_signal(request: Request, db: DB, user: WriterUser, signal_id: IdPath, form: Form) -> Response:
    """Assign (owner, department), priority, type and title."""
    values = {name: text(form, name) for name in ("type", "title", "priority", "department_id", "owner_id") if name in form}
    data: dict[str, Any] = {k: (v or None) if k in ("department_id", "owner_id") else v for k, v in values.items()}
    try:
        service.update_signal(signal_id, _validate(service.SignalPatch, data), session=db, actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        return _refused(request, db, signal_id, exc, "edit", values)
    return _done(request, db, signal_id, gettext("Signal saved."))


@router.post("/{signal_id}/status")
def change_status(request: Request, db: DB, user: WriterUser, signal_id: IdPath, form: Form) -> Response:
    values = {"status": text(form, "status"), "note": text(form, "note")}
    try:
        signal = service.move(signal_id, _validate(service.StatusIn, values), session=db, actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        return _refused(request, db, signal_id, exc, "status", values)
    return _done(request, db, signal_id, gettext("The signal is now %(status)s.") % {
        "status": gettext(signal.status.replace("_", " ").capitalize()).lower()})


@router.post("/{signal_id}/notes")
def add_note(request: Request, db: DB, user: WriterUser, signal_id: IdPath, form: Form) -> Response:
    values = {"text": text(form, "text")}
    try:
        service.add_note(signal_id, _validate(service.NoteIn, values), session=db, actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        return _refused(request, db, signal_id, exc, "note", values)
    return _done(request, db, signal_id, gettext("Note added."))


@router.post("/{signal_id}/items")
def join_items(request: Request, db: DB, user: WriterUser, signal_id: IdPath, form: Form) -> Response:
    """More mentions about the same thing: ticked from the person's recent ones, or typed by id."""
    picked = [v for v in form.getlist("interaction_ids") if isinstance(v, str)]
    typed = text(form, "more_ids")
    ids = list(dict.fromkeys(picked + _ids(typed)))
    try:
        joined = service.join(signal_id, _validate(service.JoinIn, {"interaction_ids": ids}), session=db,
                              actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        return _refused(request, db, signal_id, exc, "join", {"more_ids": typed})
    return _done(request, db, signal_id, gettext("%(n)d joined.") % {"n": len(joined)})


@router.post("/{signal_id}/close-loop")
def close_loop(request: Request, db: DB, user: WriterUser, signal_id: IdPath, form: Form) -> Response:
    values = {"kind": text(form, "kind"), "message": text(form, "message"), "follow_up_on": text(form, "follow_up_on"),
              "contact_anyway": checkbox(form, "contact_anyway")}
    data = {"kind": values["kind"] or None, "message": values["message"], "follow_up_on": values["follow_up_on"] or None,
            "contact_anyway": values["contact_anyway"]}
    try:
        service.close_loop(signal_id, _validate(service.CloseLoopIn, data), session=db, actor=actor_for(request, user))
        db.commit()
    except DomainError as exc:
        return _refused(request, db, signal_id, exc, "loop", values)
    return _done(request, db, signal_id, gettext("Loop closed: it is on their timeline."))
