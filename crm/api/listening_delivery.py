"""JSON API: the alert delivery log, "retry now", and a test delivery for a rule."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, get_settings
from crm.listening import delivery
from crm.listening.models import AlertDelivery, DeliveryStatus
from crm.listening.notify import shown_target
from crm.schemas import MAX_ID, Page

router = APIRouter(tags=["listening_delivery"])

ERRORS = error_responses(e404="No such delivery or alert rule",
                         e422="Invalid fields, a delivery that was sent already, or a rule with nowhere to deliver")


class DeliveryOut(BaseModel):
    id: int
    rule_id: int
    rule_name: str | None
    alert_ids: list[int]
    channel: str
    target: str
    digest_day: date | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    sent_at: datetime | None
    created_at: datetime


class TestDeliveryOut(BaseModel):
    channel: str
    target: str
    ok: bool
    detail: str


def _out(d: AlertDelivery, rule_name: str | None) -> DeliveryOut:
    return DeliveryOut.model_validate({**d.model_dump(), "rule_name": rule_name,
                                       "target": shown_target(d.channel, d.target)})


@router.get("/alert-deliveries", response_model=Page[DeliveryOut], responses=ERRORS)
def list_deliveries(db: DB, user: CurrentUser, status: DeliveryStatus | None = None,
                    rule_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                    per_page: Annotated[int, Query(ge=1, le=200)] = 25) -> Page[DeliveryOut]:
    """E-mails and webhook calls carrying alerts, newest first: pending (with the next attempt), sent, or
    undelivered (every attempt failed; `last_error` says why)."""
    listing = delivery.list_deliveries(session=db, page=page, per_page=per_page,
                                       status=status.value if status else "", rule_id=rule_id)
    return Page[DeliveryOut](items=[_out(r.delivery, r.rule_name) for r in listing.rows], total=listing.total,
                             page=listing.page, per_page=listing.per_page, pages=listing.pages)


@router.post("/alert-deliveries/{delivery_id}/retry", response_model=DeliveryOut, responses=ERRORS)
def retry_delivery(db: DB, user: WriterUser, delivery_id: IdPath) -> DeliveryOut:
    """Try a pending or undelivered delivery again now (one more attempt), through the job queue."""
    d = delivery.retry_now(delivery_id, session=db)
    out = _out(d, None)
    db.commit()
    return out


@router.post("/alert-rules/{rule_id}/test-delivery", response_model=list[TestDeliveryOut], responses=ERRORS)
def test_delivery(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> list[TestDeliveryOut]:
    """Send a sample alert through the rule's e-mail and webhook now and answer each channel's result
    (`ok` false with the server's or receiver's answer in `detail`)."""
    rule = delivery.rule_for_test(rule_id, session=db)
    db.rollback()  # nothing to write: no transaction held during the network call
    return [TestDeliveryOut(channel=r.channel, target=shown_target(r.channel, r.target), ok=r.ok, detail=r.detail)
            for r in delivery.send_test(rule, get_settings(request))]
