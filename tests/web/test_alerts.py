"""Alert pages: the rules list with the acted-on rate, the rule form (per-field errors, secret shown
once, back-test of unsaved values), delete with confirmation, the inbox with who is talking, unread,
acting on an alert; viewers read but cannot change. Fragments and full pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from crm.audit.models import AuditEvent
from crm.db import session_scope, utcnow
from crm.listening.models import Alert, AlertDelivery, AlertRule
from tests.factories import make_profile, soup
from tests.unit.test_alerts import add_mentions, make_rule, make_topic

HX = {"HX-Request": "true"}
GOOD = {"name": "Orbit spikes", "topic_id": "", "window_hours": "24", "baseline_days": "14", "max_p": "0.01",
        "min_count": "5", "cooldown_hours": "24", "email_to": "", "webhook_url": "", "webhook_secret": "",
        "active": "on"}


def _alert(engine: Engine, *, status: str = "new", days_ago: float = 0.5, with_mentions: bool = True) -> dict[str, Any]:
    person = make_profile(engine, "Carla Critic")
    topic = make_topic(engine, "Orbit")
    fired_at = (utcnow() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)
    mentions = add_mentions(engine, topic, [fired_at - timedelta(minutes=10 * (i + 1)) for i in range(3)],
                            profile_id=person.id or 0, sentiment=-0.8) if with_mentions else []
    add_mentions(engine, topic, [fired_at - timedelta(minutes=5)], profile_id=person.id or 0, sentiment=-0.8,
                 source="estimated")
    rule = make_rule(engine, topic_id=topic, negative_only=True)
    with session_scope(engine, write=True) as s:
        alert = Alert(rule_id=rule, topic_id=topic, fired_at=fired_at, window_start=fired_at - timedelta(hours=24),
                      observed=3, expected=0.4, p_value=0.0079, status=status, mention_ids=mentions)
        s.add(alert)
        s.flush()
        s.add(AlertDelivery(rule_id=rule, alert_ids=[alert.id or 0], channel="webhook", target="https://hooks.example",
                            status="undelivered", attempts=5, last_error="https://hooks.example answered 500"))
        return {"alert": alert.id, "rule": rule, "topic": topic, "person": person.id}


# ---- rules ----------------------------------------------------------------------------------------

def test_rules_list_shows_fired_count_and_acted_on_rate(manager_client: TestClient, engine: Engine) -> None:
    made = _alert(engine, status="acted", days_ago=10)
    with session_scope(engine, write=True) as s:
        for status, days in [("dismissed", 9), ("new", 8), ("new", 1), ("expected", 3)]:
            moment = (utcnow() - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
            s.add(Alert(rule_id=made["rule"], topic_id=made["topic"], fired_at=moment,
                        window_start=moment - timedelta(hours=24), status=status))
    page = soup(manager_client.get("/listening/alerts/rules"))
    row = page.select_one(f"#rule-{made['rule']}")
    assert row is not None
    assert row.select_one(".fired-count").get_text(" ", strip=True).startswith("4")  # type: ignore[union-attr]
    assert "1 of 3 acted on (33%)" in row.select_one(".acted-rate").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert page.select_one("a#new-rule") is not None
    assert page.select_one("a[href='/listening/tabs']") is None
    assert page.select_one(".listening-tabs a[aria-current=page]")["href"] == "/listening/alerts"  # type: ignore[index]


def test_empty_rules_page(viewer_client: TestClient) -> None:
    page = soup(viewer_client.get("/listening/alerts/rules"))
    assert page.select_one("#no-rules") is not None and page.select_one("a#new-rule") is None


def test_create_shows_the_secret_once(manager_client: TestClient, engine: Engine) -> None:
    plain = manager_client.post("/listening/alerts/rules", data=GOOD | {"name": "No hook"})
    assert plain.status_code == 303  # no webhook: no secret to show
    response = manager_client.post("/listening/alerts/rules", data=GOOD | {"webhook_url": "https://8.8.8.8/hook"},
                                   headers=HX)
    assert response.status_code == 200
    page = soup(response)
    secret = page.select_one("#webhook-secret").get_text(strip=True)  # type: ignore[union-attr]
    assert len(secret) >= 40 and page.select_one("html") is None  # a fragment
    with session_scope(engine) as s:
        rule = s.scalars(select(AlertRule).where(AlertRule.name == GOOD["name"])).one()
        assert rule.webhook_secret == secret and rule.topic_id is None and rule.active
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "alert_rule")))  # type: ignore[call-overload]
    assert actions == ["alert.rule_create", "alert.rule_create"]
    edit = soup(manager_client.get(f"/listening/alerts/rules/{rule.id}/edit"))
    assert secret not in str(edit)
    assert edit.select_one("#f-webhook_secret")["value"] == ""  # type: ignore[index]
    # Rotating shows a new one, once (a full page without htmx).
    rotated = manager_client.post(f"/listening/alerts/rules/{rule.id}/rotate")
    assert rotated.status_code == 200 and soup(rotated).select_one("html") is not None
    assert soup(rotated).select_one("#webhook-secret").get_text(strip=True) not in ("", secret)  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "value"), [
    ("window_hours", "0"), ("baseline_days", "500"), ("max_p", "0.9"), ("min_count", "-3"), ("cooldown_hours", "9999"),
    ("email_to", "ana@example.com, nobody"), ("webhook_url", "http://127.0.0.1:8080/hook"), ("name", ""),
    ("window_hours", "many"),
])
def test_absurd_values_get_a_message_beside_their_field(manager_client: TestClient, engine: Engine, field: str,
                                                        value: str) -> None:
    response = manager_client.post("/listening/alerts/rules", data={**GOOD, field: value}, headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one(f"#{field}-error") is not None, response.text[:3000]
    assert page.select_one(f"#f-{field}")["aria-invalid"] == "true"  # type: ignore[index]
    kept = page.select_one("#f-name")["value"]  # type: ignore[index]
    assert kept == GOOD["name"] or field == "name"
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AlertRule)) == 0


def test_baseline_shorter_than_the_window(manager_client: TestClient) -> None:
    response = manager_client.post("/listening/alerts/rules", data={**GOOD, "window_hours": "72", "baseline_days": "2"})
    assert response.status_code == 422
    assert "longer than the window" in soup(response).select_one("#baseline_days-error").get_text()  # type: ignore[union-attr]


def test_edit_keeps_the_secret_and_redirects(manager_client: TestClient, engine: Engine) -> None:
    rule = make_rule(engine)
    form = soup(manager_client.get(f"/listening/alerts/rules/{rule}/edit"))
    assert form.select_one("#f-name")["value"] == "Spikes"  # type: ignore[index]
    response = manager_client.post(f"/listening/alerts/rules/{rule}", data={**GOOD, "name": "Renamed", "digest": "on",
                                                                              "email_to": "a@example.com"})
    assert response.status_code == 303 and response.headers["location"] == "/listening/alerts/rules"
    with session_scope(engine) as s:
        saved = s.get(AlertRule, rule)
        assert saved is not None
        assert (saved.name, saved.digest, saved.email_to, saved.webhook_secret) == ("Renamed", True, ["a@example.com"], "s")


def test_delete_asks_first(manager_client: TestClient, engine: Engine) -> None:
    made = _alert(engine)
    confirm = soup(manager_client.get(f"/listening/alerts/rules/{made['rule']}/delete"))
    assert confirm.select_one("form button#confirm-delete") is not None
    assert "1 alert" in confirm.get_text()
    response = manager_client.post(f"/listening/alerts/rules/{made['rule']}/delete")
    assert response.status_code == 303
    with session_scope(engine) as s:
        assert s.get(AlertRule, made["rule"]) is None and s.get(Alert, made["alert"]) is None
    assert manager_client.get("/listening/alerts/rules/99999/delete").status_code == 404


def test_backtest_of_unsaved_values_is_a_fragment(manager_client: TestClient, engine: Engine) -> None:
    person = make_profile(engine, "Pat").id or 0
    topic = make_topic(engine, "Orbit")
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    add_mentions(engine, topic, [hour - timedelta(days=5, minutes=5 * i) for i in range(8)], profile_id=person)
    response = manager_client.post("/listening/alerts/backtest", data={**GOOD, "topic_id": str(topic)}, headers=HX)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None
    assert "Would have fired 1 time" in page.select_one("#backtest-summary").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert len(page.select(".backtest-firing")) == 1
    assert page.select_one(f".backtest-firing a[href='/people/{person}']") is not None
    assert len(page.select("svg rect.bar")) >= 90 and len(page.select("svg rect.bar.fired")) == 1
    bad = manager_client.post("/listening/alerts/backtest", data={**GOOD, "max_p": "5"}, headers=HX)
    assert bad.status_code == 422 and soup(bad).select_one("li[data-field=max_p]") is not None


def test_backtest_of_a_saved_rule_full_page_and_fragment(viewer_client: TestClient, engine: Engine) -> None:
    rule = make_rule(engine)
    full = soup(viewer_client.get(f"/listening/alerts/rules/{rule}/backtest"))
    assert full.select_one("html") is not None and full.select_one("#backtest-summary") is not None
    part = soup(viewer_client.get(f"/listening/alerts/rules/{rule}/backtest", headers=HX))
    assert part.select_one("html") is None and "Would not have fired" in part.get_text()


def test_the_form_has_a_backtest_button(manager_client: TestClient) -> None:
    page = soup(manager_client.get("/listening/alerts/rules/new"))
    button = page.select_one("#backtest-button")
    assert button is not None and button["hx-post"] == "/listening/alerts/backtest"
    assert button["hx-include"] == "#rule-form"


# ---- the inbox ------------------------------------------------------------------------------------

def test_inbox_shows_who_is_talking_and_delivery(viewer_client: TestClient, engine: Engine) -> None:
    made = _alert(engine)
    page = soup(viewer_client.get("/listening/alerts"))
    card = page.select_one(f"#alert-{made['alert']}")
    assert card is not None and "unread" in card["class"]
    assert page.select_one("#unread-count").get_text(strip=True) == "1 unread"  # type: ignore[union-attr]
    speaker = card.select_one(".speaker a")
    assert speaker is not None and speaker["href"] == f"/people/{made['person']}" and speaker.get_text() == "Carla Critic"
    assert "Also 1 with an estimated negative label" in card.select_one(".estimated-extra").get_text()  # type: ignore[union-attr]
    assert card.select_one(".delivery-undelivered .field-error").get_text() == "https://hooks.example answered 500"  # type: ignore[union-attr]
    assert card.select_one("form.act-form") is None  # a viewer cannot act
    # Opening it marks it read (for this person only).
    detail = soup(viewer_client.get(f"/listening/alerts/{made['alert']}"))
    assert "unread" not in detail.select_one(f"#alert-{made['alert']}")["class"]  # type: ignore[index]
    assert soup(viewer_client.get("/listening/alerts")).select_one("#unread-count") is None
    with session_scope(engine) as s:
        assert s.get(Alert, made["alert"]).status == "seen"  # type: ignore[union-attr]


def test_inbox_filters_fragment(manager_client: TestClient, engine: Engine) -> None:
    made = _alert(engine)
    part = soup(manager_client.get(f"/listening/alerts?status=new&rule_id={made['rule']}", headers=HX))
    assert part.select_one("html") is None and part.select_one(f"#alert-{made['alert']}") is not None
    none = soup(manager_client.get("/listening/alerts?status=dismissed", headers=HX))
    assert none.select_one(".alert-card") is None and "No alerts match." in none.get_text()
    assert soup(manager_client.get("/listening/alerts?status=bogus&page=x")).select_one(".alert-card") is not None
    filters = soup(manager_client.get("/listening/alerts")).select_one("form.alert-filters")
    assert filters is not None and filters["hx-sync"] == "this:replace"


def test_empty_inbox(viewer_client: TestClient) -> None:
    assert soup(viewer_client.get("/listening/alerts")).select_one("#no-alerts") is not None


def test_act_on_an_alert(manager_client: TestClient, engine: Engine) -> None:
    made = _alert(engine)
    card = soup(manager_client.get("/listening/alerts")).select_one(f"#alert-{made['alert']}")
    assert card is not None
    link = card.select_one("a.open-signal")
    assert link is not None and link["href"].startswith(f"/signals/new?alert_id={made['alert']}&interaction_ids=")
    response = manager_client.post(f"/listening/alerts/{made['alert']}/act", data={"outcome": "acted", "note": "called her"},
                                   headers=HX)
    assert response.status_code == 200
    swapped = soup(response).select_one(f"#alert-{made['alert']}")
    assert swapped is not None and "status-acted" in swapped["class"] and swapped.select_one("form.act-form") is None
    plain = manager_client.post(f"/listening/alerts/{made['alert']}/act", data={"outcome": "dismissed"})
    assert plain.status_code == 303
    with session_scope(engine) as s:
        assert s.get(Alert, made["alert"]).status == "dismissed"  # type: ignore[union-attr]
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "alert.act").order_by(AuditEvent.id)))  # type: ignore[arg-type]
    assert [e.after["status"] for e in events] == ["acted", "dismissed"]  # type: ignore[index]
    assert events[0].after["note"] == "called her"  # type: ignore[index]
    assert manager_client.post(f"/listening/alerts/{made['alert']}/act", data={"outcome": "maybe"}).status_code == 422
    assert manager_client.post("/listening/alerts/99999/act", data={"outcome": "acted"}).status_code == 404


def test_mark_all_read(manager_client: TestClient, engine: Engine) -> None:
    _alert(engine)
    assert manager_client.post("/listening/alerts/read-all").status_code == 303
    assert soup(manager_client.get("/listening/alerts")).select_one(".alert-card.unread") is None


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/listening/alerts/rules/new"), ("post", "/listening/alerts/rules"), ("post", "/listening/alerts/backtest"),
    ("get", "/listening/alerts/rules/{rule}/edit"), ("post", "/listening/alerts/rules/{rule}"),
    ("post", "/listening/alerts/rules/{rule}/rotate"), ("get", "/listening/alerts/rules/{rule}/delete"),
    ("post", "/listening/alerts/rules/{rule}/delete"), ("post", "/listening/alerts/{alert}/act"),
])
def test_viewers_cannot_change_anything(viewer_client: TestClient, engine: Engine, method: str, path: str) -> None:
    made = _alert(engine)
    url = path.format(rule=made["rule"], alert=made["alert"])
    response = getattr(viewer_client, method)(url, **({"data": {**GOOD, "outcome": "acted"}} if method == "post" else {}))
    assert response.status_code == 403
    with session_scope(engine) as s:
        assert s.get(AlertRule, made["rule"]).name == "Spikes"  # type: ignore[union-attr]
        assert s.get(Alert, made["alert"]).status == "new"  # type: ignore[union-attr]
