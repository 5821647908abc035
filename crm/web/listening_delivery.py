"""HTML routes: the alert delivery log (e-mails and webhooks, their attempts and errors), "retry now",
and "send a test" for a rule (answered at once, so a manager can check the SMTP server or the receiver)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from crm.deps import DB, CurrentUser, IdPath, WriterUser, get_settings
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.listening import delivery
from crm.listening.models import DeliveryStatus
from crm.schemas import MAX_ID
from crm.templating import render
from crm.web.common import Form, redirect, text

router = APIRouter()

PER_PAGE = 25
STATUSES = [s.value for s in DeliveryStatus]


def _page(value: int) -> int:
    return max(1, min(value, 100_000))


def _rule_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_ID else None


def _context(db: Session, *, page: int, status: str, rule: str) -> dict[str, Any]:
    status = status if status in STATUSES else ""
    rule_id = _rule_id(rule)
    listing = delivery.list_deliveries(session=db, page=_page(page), per_page=PER_PAGE, status=status, rule_id=rule_id)
    query = "&".join(part for part in (f"status={status}" if status else "", f"rule={rule_id}" if rule_id else "") if part)
    return {"listing": listing, "statuses": STATUSES, "rules": delivery.rule_choices(session=db),
            "base": "/listening/alerts/deliveries?" + query, "test": None, "test_rule": None, "errors": {}}


@router.get("/listening/alerts/deliveries")
def deliveries_page(request: Request, db: DB, user: CurrentUser, page: int = 1, status: str = "", rule: str = "") -> Response:
    return render(request, "listening/deliveries.html", _context(db, page=page, status=status, rule=rule),
                  block="deliveries")


@router.post("/listening/alerts/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, db: DB, user: WriterUser, delivery_id: IdPath) -> Response:
    try:
        delivery.retry_now(delivery_id, session=db)
    except InvalidInput as exc:
        db.rollback()
        return redirect(request, "/listening/alerts/deliveries", flash=exc.message, kind="error")
    db.commit()
    return redirect(request, "/listening/alerts/deliveries",
                    flash=gettext("Delivery %(id)d will be tried again in a moment.") % {"id": delivery_id})


@router.post("/listening/alerts/deliveries/test")
def test_delivery(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """Send a sample alert through the rule's channels now; the answer shows each channel's result."""
    rule_id = _rule_id(text(form, "rule_id"))
    errors: dict[str, str] = {}
    results = None
    rule = None
    try:
        if rule_id is None:
            raise InvalidInput(gettext("Choose a rule."), field_errors={"rule_id": gettext("Choose a rule.")})
        rule = delivery.rule_for_test(rule_id, session=db)
    except (InvalidInput, NotFound) as exc:
        errors = exc.field_errors or {"rule_id": exc.message}
    context = _context(db, page=1, status="", rule="")
    db.rollback()  # nothing to write: end the transaction before the network call (SQLite's write lock)
    if rule is not None:
        results = delivery.send_test(rule, get_settings(request))
    context.update(test=results, test_rule=rule, errors=errors)
    return render(request, "listening/deliveries.html", context, block="delivery_test",
                  status_code=422 if errors else 200)
