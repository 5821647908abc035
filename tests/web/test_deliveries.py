"""The alert delivery log page (full page and fragment), retry now, send a test, and the JSON API."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from crm.db import session_scope
from crm.jobs.models import Job
from crm.listening import delivery
from crm.listening.models import AlertDelivery
from crm.settings import Settings
from tests.factories import soup
from tests.unit.test_delivery import (
    SECRET,
    T0,
    Receiver,
    deliveries,
    delivery_settings,
    due_everything,
    receivers,
    schedule_now,
    seed_alerts,
)


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()

PAGE = "/listening/alerts/deliveries"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No background worker (it would run the deliver job under the test's feet); local receivers allowed.
    return settings.model_copy(update={"job_worker": False, "webhook_allow_private": True, "webhook_timeout_seconds": 2,
                                       "smtp_host": ""})


def _one_undelivered_and_one_sent(engine) -> list[AlertDelivery]:
    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com"], webhook_url="https://hooks.example.com/a"))
    due_everything(engine)
    delivery.deliver_due(engine, delivery_settings(smtp_host="", delivery_max_attempts=1), now=T0)  # both fail
    with session_scope(engine, write=True) as session:
        session.execute(update(AlertDelivery).where(AlertDelivery.channel == "webhook")  # type: ignore[arg-type]
                        .values(status="sent", sent_at=T0, last_error=""))
        session.execute(update(Job).values(status="done"))
    return deliveries(engine)


def test_the_log_shows_each_delivery_with_its_status_and_error(manager_client, engine):
    email, hook = _one_undelivered_and_one_sent(engine)
    page = soup(manager_client.get(PAGE))
    assert page.select_one("title").get_text().startswith("Alert deliveries")
    assert page.select_one(".listening-tabs a[aria-current=page]")["href"] == "/listening/alerts"
    rows = {r["id"]: r for r in page.select("table.deliveries tr.delivery-row")}
    assert set(rows) == {f"delivery-{email.id}", f"delivery-{hook.id}"}
    failed = rows[f"delivery-{email.id}"]
    assert failed.select_one(".delivery-target").get_text() == "ops@example.com"
    assert failed.select_one(".chip.delivery-undelivered").get_text().strip() == "Undelivered"
    assert failed.select_one(".delivery-error").get_text() == "E-mail is off: set CRM_SMTP_HOST"
    assert failed.select_one(f"form[action='{PAGE}/{email.id}/retry'] button")
    assert rows[f"delivery-{hook.id}"].select_one("form") is None  # sent: nothing to retry
    assert page.select_one("#delivery-test select[name=rule_id] option[value='1']").get_text() == "Acme complaints"


def test_the_list_filters_as_a_fragment(manager_client, engine):
    email, hook = _one_undelivered_and_one_sent(engine)
    response = manager_client.get(PAGE + "?status=sent", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    fragment = soup(response)
    assert fragment.select_one("html") is None and fragment.select_one("#deliveries")
    assert [r["id"] for r in fragment.select("tr.delivery-row")] == [f"delivery-{hook.id}"]
    empty = soup(manager_client.get(PAGE + "?status=pending", headers={"HX-Request": "true"}))
    assert empty.select_one("#deliveries p.empty").get_text().startswith("No deliveries match")
    assert len(soup(manager_client.get(PAGE + "?status=nonsense")).select("tr.delivery-row")) == 2  # ignored


def test_the_empty_log_says_what_will_appear(viewer_client):
    page = soup(viewer_client.get(PAGE))
    assert page.select_one("#deliveries p.empty").get_text().startswith("No alert has been delivered")
    assert page.select_one("#delivery-test") is None  # viewers read only


def test_a_viewer_reads_but_cannot_retry(viewer_client, engine):
    email, _ = _one_undelivered_and_one_sent(engine)
    page = soup(viewer_client.get(PAGE))
    assert page.select("tr.delivery-row") and page.select_one("tr.delivery-row form") is None
    assert viewer_client.post(f"{PAGE}/{email.id}/retry").status_code == 403


def test_retry_now_makes_it_pending_and_queues_the_job(manager_client, engine):
    email, hook = _one_undelivered_and_one_sent(engine)
    response = manager_client.post(f"{PAGE}/{email.id}/retry")
    assert response.status_code == 303 and response.headers["location"] == PAGE
    page = soup(manager_client.get(PAGE))
    assert "will be tried again" in page.select_one(".flash-success").get_text()
    again = deliveries(engine)[0]
    assert again.status == "pending" and again.next_attempt_at is not None
    with Session(engine) as session:
        assert session.scalars(select(Job).where(Job.kind == "deliver", Job.status == "queued")).first()  # type: ignore[arg-type]
    refused = manager_client.post(f"{PAGE}/{hook.id}/retry")  # sent already
    assert refused.status_code == 303
    assert "sent already" in soup(manager_client.get(PAGE)).select_one(".flash-error").get_text()
    assert manager_client.post(f"{PAGE}/999/retry").status_code == 404


def test_send_a_test_answers_at_once_with_each_channel_s_result(manager_client, engine, receiver):
    hook = receiver()
    seed_alerts(engine, email_to=["ops@example.com"], webhook_url=hook.url)
    response = manager_client.post(PAGE + "/test", data={"rule_id": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("html") is None and fragment.select_one("section#delivery-test")
    results = {li["data-channel"]: li for li in fragment.select("li.test-result")}
    assert "failed" in results["email"]["class"] and "E-mail is off" in results["email"].select_one(".test-error").get_text()
    assert "ok" in results["webhook"]["class"]
    (got,) = hook.received
    from crm.listening import notify

    assert notify.verify_signature(SECRET, got.headers["x-altavoz-timestamp"], got.body, got.headers["x-altavoz-signature"])
    assert deliveries(engine) == []  # a test is not a delivery

    page = manager_client.post(PAGE + "/test", data={"rule_id": "1"})  # without htmx: the whole page
    assert page.status_code == 200 and soup(page).select_one("h1").get_text() == "Alert deliveries"
    missing = manager_client.post(PAGE + "/test", data={"rule_id": ""}, headers={"HX-Request": "true"})
    assert missing.status_code == 422 and soup(missing).select_one("#rule_id-error").get_text() == "Choose a rule."
    unknown = manager_client.post(PAGE + "/test", data={"rule_id": "77"}, headers={"HX-Request": "true"})
    assert unknown.status_code == 422 and soup(unknown).select_one("#rule_id-error")


# ---- API ---------------------------------------------------------------------------------------


def test_api_lists_retries_and_tests(manager_client, engine, receiver):
    email, hook = _one_undelivered_and_one_sent(engine)
    listing = manager_client.get("/api/v1/alert-deliveries").json()
    assert listing["total"] == 2 and [i["id"] for i in listing["items"]] == [hook.id, email.id]
    item = listing["items"][1]
    assert (item["channel"], item["status"], item["last_error"], item["rule_name"]) == (
        "email", "undelivered", "E-mail is off: set CRM_SMTP_HOST", "Acme complaints")
    assert manager_client.get("/api/v1/alert-deliveries?status=sent").json()["total"] == 1
    assert manager_client.get("/api/v1/alert-deliveries?status=bogus").status_code == 422
    retried = manager_client.post(f"/api/v1/alert-deliveries/{email.id}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert manager_client.post(f"/api/v1/alert-deliveries/{hook.id}/retry").status_code == 422
    assert manager_client.post("/api/v1/alert-deliveries/999/retry").status_code == 404

    hook_server = receiver([503])
    with session_scope(engine, write=True) as session:
        from crm.listening.models import AlertRule

        session.execute(update(AlertRule).values(webhook_url=hook_server.url))  # type: ignore[arg-type]
    answer = manager_client.post("/api/v1/alert-rules/1/test-delivery")
    assert answer.status_code == 200
    assert [(r["channel"], r["ok"]) for r in answer.json()] == [("email", False), ("webhook", False)]
    assert answer.json()[1]["detail"].endswith("answered 503")
    assert manager_client.post("/api/v1/alert-rules/1/test-delivery").json()[1]["ok"] is True
    assert manager_client.post("/api/v1/alert-rules/99/test-delivery").status_code == 404


def test_api_viewer_reads_but_cannot_retry_or_test(viewer_client, engine):
    email, _ = _one_undelivered_and_one_sent(engine)
    assert viewer_client.get("/api/v1/alert-deliveries").status_code == 200
    assert viewer_client.post(f"/api/v1/alert-deliveries/{email.id}/retry").status_code == 403
    assert viewer_client.post("/api/v1/alert-rules/1/test-delivery").status_code == 403
    assert deliveries(engine)[0].status == "undelivered"
