"""The alert rules and alerts API: CRUD with per-field 422s, the secret once, back-tests of saved and
unsaved values, the inbox listing and acting on an alert; viewers read only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from starlette.testclient import TestClient

from crm.db import session_scope, utcnow
from crm.listening.models import Alert
from tests.factories import make_profile
from tests.unit.test_alerts import add_mentions, make_rule, make_topic


def test_rule_crud(manager_client: TestClient, engine: Engine) -> None:
    topic = make_topic(engine, "Orbit")
    created = manager_client.post("/api/v1/alert-rules", json={"name": "Orbit", "topic_id": topic, "min_count": 3,
                                                               "email_to": ["a@example.com"]})
    assert created.status_code == 201, created.text
    body = created.json()
    rule_id = body["id"]
    assert created.headers["location"] == f"/api/v1/alert-rules/{rule_id}"
    assert len(body["webhook_secret"]) >= 40 and body["has_secret"]
    got = manager_client.get(f"/api/v1/alert-rules/{rule_id}").json()
    assert got["webhook_secret"] is None and got["fired"] == 0 and got["acted_rate"] is None
    patched = manager_client.patch(f"/api/v1/alert-rules/{rule_id}", json={"cooldown_hours": 2, "negative_only": True})
    assert patched.status_code == 200 and patched.json()["cooldown_hours"] == 2 and patched.json()["min_count"] == 3
    listed = manager_client.get("/api/v1/alert-rules").json()
    assert [r["id"] for r in listed] == [rule_id]
    assert manager_client.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 204
    assert manager_client.get(f"/api/v1/alert-rules/{rule_id}").status_code == 404


def test_bad_rules_are_422_with_the_field(manager_client: TestClient, engine: Engine) -> None:
    cases = [({"name": "x", "max_p": 0.5}, "max_p"), ({"name": "x", "window_hours": 48, "baseline_days": 1}, "baseline_days"),
             ({"name": "x", "webhook_url": "http://10.0.0.1/x"}, "webhook_url"), ({"name": "x", "topic_id": 4242}, "topic_id"),
             ({"name": "x", "surprise": 1}, "surprise"), ({"name": "x", "email_to": ["nope"]}, "email_to")]
    for payload, field in cases:
        response = manager_client.post("/api/v1/alert-rules", json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert field in response.text
    rule = make_rule(engine)
    bad = manager_client.patch(f"/api/v1/alert-rules/{rule}", json={"baseline_days": 1})
    assert bad.status_code == 422 and "baseline_days" in bad.json()["errors"]
    assert manager_client.patch(f"/api/v1/alert-rules/{rule}", json={"name": None}).status_code == 422


def test_backtests(manager_client: TestClient, engine: Engine) -> None:
    person = make_profile(engine, "Pat").id or 0
    topic = make_topic(engine, "Orbit")
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    add_mentions(engine, topic, [hour - timedelta(days=3, minutes=5 * i + 1) for i in range(8)], profile_id=person)
    unsaved = manager_client.post("/api/v1/alert-rules/backtest", json={"topic_id": topic, "min_count": 5})
    assert unsaved.status_code == 200, unsaved.text
    body = unsaved.json()
    assert body["firings"] == 1 and body["shown"][0]["observed"] == 8, body["shown"]
    assert body["shown"][0]["who_was_talking"][0]["profile_id"] == person
    assert sum(d["count"] for d in body["days"]) == 8
    assert manager_client.post("/api/v1/alert-rules/backtest", json={"min_count": 0}).status_code == 422
    rule = make_rule(engine, topic_id=topic)
    saved = manager_client.get(f"/api/v1/alert-rules/{rule}/backtest").json()
    assert saved["firings"] == 1


def test_alerts_listing_and_act(manager_client: TestClient, engine: Engine) -> None:
    person = make_profile(engine, "Pat").id or 0
    topic = make_topic(engine, "Orbit")
    rule = make_rule(engine, topic_id=topic)
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    mentions = add_mentions(engine, topic, [hour - timedelta(minutes=5)], profile_id=person, kind="complaint")
    with session_scope(engine, write=True) as s:
        alert = Alert(rule_id=rule, topic_id=topic, fired_at=hour, window_start=hour - timedelta(hours=24), observed=1,
                      mention_ids=mentions)
        s.add(alert)
        s.flush()
        alert_id = alert.id
    page = manager_client.get("/api/v1/alerts").json()
    assert page["total"] == 1 and page["items"][0]["unread"] is True
    assert page["items"][0]["who_is_talking"][0]["profile_id"] == person
    assert manager_client.get("/api/v1/alerts?status=acted").json()["total"] == 0
    assert manager_client.get("/api/v1/alerts?status=bogus").status_code == 422
    acted = manager_client.post(f"/api/v1/alerts/{alert_id}/act", json={"outcome": "acted", "note": "done"})
    assert acted.status_code == 200 and acted.json()["status"] == "acted" and acted.json()["unread"] is False
    assert manager_client.post(f"/api/v1/alerts/{alert_id}/act", json={"outcome": "maybe"}).status_code == 422
    assert manager_client.get(f"/api/v1/alerts/{alert_id}").json()["status"] == "acted"
    assert manager_client.get("/api/v1/alerts/99999").status_code == 404
    assert manager_client.get("/api/v1/alert-rules").json()[0]["acted"] == 1


def test_viewers_read_only(viewer_client: TestClient, engine: Engine) -> None:
    rule = make_rule(engine)
    assert viewer_client.get("/api/v1/alert-rules").status_code == 200
    assert viewer_client.get("/api/v1/alerts").status_code == 200
    assert viewer_client.get(f"/api/v1/alert-rules/{rule}/backtest").status_code == 200
    assert viewer_client.post("/api/v1/alert-rules", json={"name": "x"}).status_code == 403
    assert viewer_client.patch(f"/api/v1/alert-rules/{rule}", json={"name": "y"}).status_code == 403
    assert viewer_client.delete(f"/api/v1/alert-rules/{rule}").status_code == 403
    assert viewer_client.post("/api/v1/alert-rules/backtest", json={}).status_code == 403
    assert viewer_client.post("/api/v1/alerts/1/act", json={"outcome": "acted"}).status_code == 403
