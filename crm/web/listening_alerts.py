"""HTML routes for spike alerts: the inbox, alert rules (with their acted-on rate), the back-test of a
saved or unsaved rule, and marking what was done about an alert."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from crm.db import session_scope
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_engine
from crm.errors import InvalidInput
from crm.i18n import gettext
from crm.listening import alerts, backtest
from crm.listening.models import AlertStatus
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect, text
from crm.web.forms import forgiving

router = APIRouter(prefix="/listening/alerts")

RULE_FIELDS = ("name", "topic_id", "window_hours", "baseline_days", "max_p", "min_count", "cooldown_hours",
               "email_to", "webhook_url", "webhook_secret")
RULE_CHECKS = ("negative_only", "digest", "active")
SPIKE_FIELDS = tuple(alerts.SpikeFields.model_fields)


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhook_allow_private)


# ---- rules ------------------------------------------------------------------------------------------

def _defaults() -> dict[str, Any]:
    return {"name": "", "topic_id": "", "negative_only": False, "window_hours": "24", "baseline_days": "14",
            "max_p": "0.01", "min_count": "5", "cooldown_hours": "24", "digest": False, "email_to": "",
            "webhook_url": "", "webhook_secret": "", "active": True}


def _values_of(rule: Any) -> dict[str, Any]:
    return {"name": rule.name, "topic_id": str(rule.topic_id or ""), "negative_only": rule.negative_only,
            "window_hours": str(rule.window_hours), "baseline_days": str(rule.baseline_days),
            "max_p": f"{rule.max_p:g}", "min_count": str(rule.min_count), "cooldown_hours": str(rule.cooldown_hours),
            "digest": rule.digest, "email_to": ", ".join(rule.email_to or []), "webhook_url": rule.webhook_url,
            "webhook_secret": "", "active": rule.active}


def _typed(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name) for name in RULE_FIELDS}
    values.update({name: form.get(name) in ("on", "true", "1", "yes") for name in RULE_CHECKS})
    return values


def _as_input(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    data = {name: values[name] for name in names if name in values}
    if "topic_id" in data and data["topic_id"] in ("", "all"):
        data["topic_id"] = None
    if isinstance(data.get("max_p"), str):
        data["max_p"] = data["max_p"].replace(",", ".").strip() or "0.01"
    return data


def _form_context(db: Session, values: dict[str, Any], errors: dict[str, str], rule_id: int | None) -> dict[str, Any]:
    return {"values": values, "errors": errors, "rule_id": rule_id, "topics": alerts.topic_choices(session=db),
            "tab": "alerts"}


@router.get("/rules")
def rules_page(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "listening/rules.html", {"rows": alerts.list_rules(session=db), "tab": "alerts"})


@router.get("/rules/new")
def new_rule(request: Request, db: DB, user: WriterUser) -> Response:
    return render(request, "listening/rule_form.html", _form_context(db, _defaults(), {}, None))


def _save(request: Request, db: Session, user: Any, form: FormData, rule_id: int | None) -> Response:
    values = _typed(form)
    try:
        data = alerts.AlertRuleIn.model_validate(_as_input(values, RULE_FIELDS + RULE_CHECKS))
        actor = actor_for(request, user)
        if rule_id is None:
            rule, secret = alerts.create_rule(data, session=db, actor=actor, allow_private=_allow_private(request))
        else:
            rule = alerts.update_rule(rule_id, data, session=db, actor=actor, allow_private=_allow_private(request))
            secret = ""
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if rule_id is None and rule.webhook_url:  # the secret is shown this once (it signs webhook calls)
            return render(request, "listening/rule_secret.html",
                          {"rule": rule, "secret": secret, "created": rule_id is None, "tab": "alerts"},
                          block="rule_secret")
        return redirect(request, "/listening/alerts/rules",
                        flash=gettext("Alert rule “%(name)s” saved.") % {"name": rule.name})
    values["webhook_secret"] = ""  # a secret is never sent back into a page
    return render(request, "listening/rule_form.html", _form_context(db, values, errors, rule_id), block="rule_form",
                  status_code=422)


@router.post("/rules")
def create_rule(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save(request, db, user, form, None)


@router.post("/backtest")
def backtest_unsaved(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """The form's back-test button: the values typed, not yet saved (a fragment)."""
    values = _typed(form)
    try:
        spike = alerts.SpikeFields.model_validate(_as_input(values, SPIKE_FIELDS))
        result = backtest.run(spike, session=db)
    except ValidationError as exc:
        return render(request, "listening/rule_backtest.html", {"errors": field_errors(exc), "result": None,
                                                                "tab": "alerts"},
                      block="backtest", status_code=422)
    except InvalidInput as exc:
        return render(request, "listening/rule_backtest.html", {"errors": exc.field_errors or {"__all__": exc.message},
                                                                "result": None, "tab": "alerts"},
                      block="backtest", status_code=422)
    return render(request, "listening/rule_backtest.html", {"result": result, "errors": {}, "rule": None,
                                                            "tab": "alerts"}, block="backtest")


@router.get("/rules/{rule_id}/edit")
def edit_rule(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> Response:
    rule = alerts.get_rule(rule_id, session=db)
    return render(request, "listening/rule_form.html", _form_context(db, _values_of(rule), {}, rule_id))


@router.post("/rules/{rule_id}")
def update_rule(request: Request, db: DB, user: WriterUser, rule_id: IdPath, form: Form) -> Response:
    return _save(request, db, user, form, rule_id)


@router.post("/rules/{rule_id}/rotate")
def rotate_secret(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> Response:
    secret = alerts.rotate_secret(rule_id, session=db, actor=actor_for(request, user))
    rule = alerts.get_rule(rule_id, session=db)
    db.commit()
    return render(request, "listening/rule_secret.html", {"rule": rule, "secret": secret, "created": False,
                                                          "rotated": True, "tab": "alerts"}, block="rule_secret")


@router.get("/rules/{rule_id}/delete")
def confirm_delete(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> Response:
    rows = alerts.rule_stats([rule_id], session=db)
    if rule_id not in rows:
        alerts.get_rule(rule_id, session=db)  # 404
    return render(request, "listening/rule_delete.html", {"row": rows[rule_id], "tab": "alerts"})


@router.post("/rules/{rule_id}/delete")
def delete_rule(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> Response:
    name = alerts.delete_rule(rule_id, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/listening/alerts/rules", flash=gettext("Alert rule “%(name)s” deleted.") % {"name": name})


@router.get("/rules/{rule_id}/backtest")
def backtest_saved(request: Request, db: DB, user: CurrentUser, rule_id: IdPath) -> Response:
    rule = alerts.get_rule(rule_id, session=db)
    try:
        result = backtest.run(rule, session=db)
        errors: dict[str, str] = {}
    except InvalidInput as exc:
        result, errors = None, exc.field_errors or {"__all__": exc.message}
    return render(request, "listening/rule_backtest.html", {"rule": rule, "result": result, "errors": errors,
                                                            "tab": "alerts"}, block="backtest")


# ---- the inbox --------------------------------------------------------------------------------------

def _inbox_context(db: Session, user: Any, params: alerts.AlertQuery) -> dict[str, Any]:
    listing = alerts.list_alerts(params, session=db, user_id=user.id)
    query = {k: v for k, v in {"status": params.status, "rule_id": params.rule_id or "", "topic_id": params.topic_id or "",
                               "unread": "1" if params.unread else ""}.items() if v}
    return {"listing": listing, "params": params, "base": "/listening/alerts?" + urlencode(query),
            "statuses": list(AlertStatus), "rules": [(r.rule.id, r.rule.name) for r in alerts.list_rules(session=db)],
            "topics": alerts.topic_choices(session=db), "tab": "alerts"}


@router.get("")
def inbox(request: Request, db: DB, user: CurrentUser) -> Response:
    params = forgiving(alerts.AlertQuery, request.query_params)
    return render(request, "listening/alerts.html", _inbox_context(db, user, params), block="alert_list")


@router.post("/read-all")
def read_all(request: Request, db: DB, user: CurrentUser) -> Response:
    count = alerts.mark_all_read(session=db, user_id=user.id or 0)
    db.commit()
    return redirect(request, "/listening/alerts", flash=gettext("%(n)s alerts marked as read.") % {"n": count})


@router.get("/{alert_id}")
def alert_page(request: Request, db: DB, user: CurrentUser, alert_id: IdPath) -> Response:
    view = alerts.get_alert(alert_id, session=db, user_id=user.id)
    if view.unread:  # seen now: recorded in its own short write, before this page is read
        db.rollback()
        with session_scope(get_engine(request), write=True) as writer:
            alerts.mark_read([alert_id], session=writer, user_id=user.id or 0)
        view = alerts.get_alert(alert_id, session=db, user_id=user.id)
    return render(request, "listening/alert.html", {"view": view, "tab": "alerts"})


@router.post("/{alert_id}/act")
def act_on_alert(request: Request, db: DB, user: WriterUser, alert_id: IdPath, form: Form) -> Response:
    try:
        data = alerts.AlertActIn.model_validate({"outcome": text(form, "outcome"), "note": text(form, "note")})
    except ValidationError as exc:
        raise InvalidInput(gettext("Choose acted on or dismiss."), field_errors=field_errors(exc)) from None
    alerts.act(alert_id, data, session=db, actor=actor_for(request, user), user_id=user.id)
    db.commit()
    message = (gettext("Marked as acted on.") if data.outcome == AlertStatus.acted.value
               else gettext("Dismissed as noise."))
    if is_fragment_request(request):
        view = alerts.get_alert(alert_id, session=db, user_id=user.id)
        return render(request, "listening/alert_card.html", {"view": view, "message": message})
    return redirect(request, f"/listening/alerts/{alert_id}", flash=message)
