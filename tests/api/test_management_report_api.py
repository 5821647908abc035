"""The report for management through the JSON API: numbers, quotes and judgement; saving them with
validation; recipients; errors answered as JSON."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.listening.models import ReportRecipient
from tests.unit.test_management_report import build

API = "/api/v1/reports/month/2026-03"


def test_get_the_report(viewer_client, engine):
    build(engine)
    body = viewer_client.get(API).json()
    assert (body["period"], body["starts_on"], body["ends_on"], body["previous_starts_on"]) == (
        "month", "2026-03-01", "2026-03-31", "2026-02-01")
    total = body["total"]
    assert total["channel"] is None
    assert total["mentions"] == {"current": 6, "previous": 2, "change": 2.0}
    assert total["people"]["current"] == 3 and total["reach"]["current"] == 14750
    assert total["sentiment_balance"]["current"] == 0.4 and total["estimated_labels"] == 1
    assert round(total["share_of_voice"]["current"], 4) == round(5 / 7, 4)
    assert {c["channel"] for c in body["channels"]} == {"x", "reddit", "youtube", "discourse"}
    assert body["topics"][0]["name"] == "Acme" and body["signals"]["opened"] == 0
    assert body["judgement"] == "" and body["quotes"] == [] and body["dropped_quotes"] == 0
    # a day inside the period, and a quarter
    assert viewer_client.get("/api/v1/reports/month/2026-03-15").json()["starts_on"] == "2026-03-01"
    assert viewer_client.get("/api/v1/reports/quarter/2026-02").json()["total"]["mentions"]["current"] == 8


def test_bad_periods_answer_422_as_json(viewer_client):
    for path in ("/api/v1/reports/week/2026-03", "/api/v1/reports/month/2026-13", "/api/v1/reports/month/march",
                 "/api/v1/reports/1/1"):
        response = viewer_client.get(path)
        assert response.status_code == 422, path
        assert response.json()["detail"] and response.json()["errors"]


def test_put_saves_judgement_and_quotes(manager_client, engine):
    ids = build(engine)
    saved = manager_client.put(API, json={"judgement": "  Rocket had a rough month. ", "quote_ids": [ids["broke"], ids["love"]]})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["judgement"] == "Rocket had a rough month." and body["quote_ids"] == [ids["broke"], ids["love"]]
    anonymous, named = body["quotes"]
    assert (anonymous["who"], anonymous["named"], anonymous["profile_id"], anonymous["url"]) == (
        "a customer on reddit", False, None, "")
    assert (named["who"], named["profile_id"]) == ("Ana Amiga", ids["ana"])
    # a field left out keeps its value
    only_text = manager_client.put(API, json={"judgement": "Better."}).json()
    assert only_text["quote_ids"] == [ids["broke"], ids["love"]]
    assert manager_client.get(API).json()["judgement"] == "Better."
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "report.update")).all()) == 2


def test_put_refuses_bad_input_with_json(manager_client, engine):
    ids = build(engine)
    cases = [
        ({"judgement": "x" * 301}, "judgement"),
        ({"quote_ids": list(range(1, 12))}, "quote_ids"),
        ({"quote_ids": [ids["old"]]}, "quote_ids"),  # February's
        ({"quote_ids": [ids["note"]]}, "quote_ids"),  # our own note: neither mention nor contribution
        ({"quote_ids": [0]}, "quote_ids"),
        ({"judgement": "ok", "extra": 1}, "extra"),
    ]
    for payload, field in cases:
        response = manager_client.put(API, json=payload)
        assert response.status_code == 422, payload
        assert field in str(response.json()["errors"]), payload
    assert manager_client.get(API).json()["judgement"] == ""


def test_a_viewer_cannot_change_the_report(viewer_client, engine):
    build(engine)
    assert viewer_client.put(API, json={"judgement": "Mine"}).status_code == 403
    assert viewer_client.post("/api/v1/report-recipients", json={"email": "a@example.com"}).status_code == 403
    assert viewer_client.delete("/api/v1/report-recipients/1").status_code == 403
    assert viewer_client.get("/api/v1/report-recipients").json() == []


def test_recipients(manager_client, engine):
    created = manager_client.post("/api/v1/report-recipients", json={"email": "Boss@Example.com", "period": "quarter"})
    assert created.status_code == 201
    body = created.json()
    assert (body["email"], body["period"], body["last_sent_for"]) == ("boss@example.com", "quarter", None)
    assert manager_client.post("/api/v1/report-recipients", json={"email": "boss@example.com", "period": "quarter"}
                               ).status_code == 422
    assert manager_client.post("/api/v1/report-recipients", json={"email": "nope"}).status_code == 422
    assert manager_client.post("/api/v1/report-recipients", json={"email": "a@example.com", "period": "week"}
                               ).status_code == 422
    assert [r["email"] for r in manager_client.get("/api/v1/report-recipients").json()] == ["boss@example.com"]
    assert manager_client.delete(f"/api/v1/report-recipients/{body['id']}").status_code == 204
    assert manager_client.delete(f"/api/v1/report-recipients/{body['id']}").status_code == 404
    with Session(engine) as s:
        assert s.exec(select(ReportRecipient)).first() is None
