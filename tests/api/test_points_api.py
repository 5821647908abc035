"""JSON API for the ledger, the rules, re-scoring and the "not yet thanked" queue: answers, 4xx JSON
refusals (never a 500), and viewers read but do not write."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from tests.factories import make_profile


def _contributor(engine, name="Ana", kind="talk", days_ago=1):
    pid = make_profile(engine, name).id
    with session_scope(engine, write=True) as s:
        log.log_interaction(pid, InteractionIn(kind=kind, title=f"{kind} by {name}",
                                               occurred_at=utcnow() - timedelta(days=days_ago)), session=s, actor=SYSTEM)
    return pid


def test_person_points_balance_and_entries(manager_client, engine):
    pid = _contributor(engine)
    award = manager_client.post("/api/v1/points/award", json={"profile_ids": [pid], "points": 12, "reason": "Docs"})
    assert award.status_code == 201 and award.json()[0]["amount"] == 12 and award.json()[0]["kind"] == "awarded"
    body = manager_client.get(f"/api/v1/profiles/{pid}/points?per_page=1").json()
    assert body["balance"] == {"profile_id": pid, "current": 52, "lifetime": 52, "held": 0}
    assert body["entries"]["total"] == 2 and body["entries"]["pages"] == 2
    assert [e["amount"] for e in body["entries"]["items"]] == [12]  # newest first
    assert manager_client.get("/api/v1/profiles/999999/points").status_code == 404


def test_reverse_once_then_409(manager_client, engine):
    pid = _contributor(engine)
    entry = manager_client.get(f"/api/v1/profiles/{pid}/points").json()["entries"]["items"][0]
    url = f"/api/v1/points/entries/{entry['id']}/reverse"
    assert manager_client.post(url, json={}).status_code == 422
    first = manager_client.post(url, json={"reason": "not a talk"})
    assert first.status_code == 201 and first.json()["amount"] == -40 and first.json()["reverses_id"] == entry["id"]
    second = manager_client.post(url, json={"reason": "again"})
    assert second.status_code == 409 and "detail" in second.json()
    assert manager_client.post("/api/v1/points/entries/999999/reverse", json={"reason": "x"}).status_code == 404
    balance = manager_client.get(f"/api/v1/profiles/{pid}/points").json()["balance"]
    assert (balance["current"], balance["lifetime"]) == (0, 0)


def test_rules_list_create_and_refusals(manager_client, engine):
    rules = manager_client.get("/api/v1/points/rules").json()
    assert [(r["version"], r["in_force"]) for r in rules] == [(1, True)]
    start = (utcnow() - timedelta(hours=1)).isoformat()
    created = manager_client.post("/api/v1/points/rules", json={"starts_at": start, "note": "v2",
                                                                 "rules": [{"kind": "post", "points": 3, "daily_cap": 9},
                                                                           {"kind": "post", "channel": "X", "points": 1}]})
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2 and created.json()["in_force"] is True
    assert {r["channel"] for r in created.json()["rules"]} == {"", "x"}
    assert [r["in_force"] for r in manager_client.get("/api/v1/points/rules").json()] == [False, True]
    for bad in ({"rules": [{"kind": "post", "points": 0}]}, {"rules": [{"kind": "post", "points": 10**7}]},
                {"rules": [{"kind": "post", "points": 1}, {"kind": "post", "points": 2}]},
                {"rules": [{"kind": "nonsense", "points": 1}]}, {"starts_at": "2026-01-01T00:00:00", "rules": []}):
        response = manager_client.post("/api/v1/points/rules", json=bad)
        assert response.status_code == 422 and "detail" in response.json(), bad


def test_queue_and_thank(manager_client, engine):
    ana = _contributor(engine, "Ana", "talk", 2)
    ben = _contributor(engine, "Ben", "post", 1)
    page = manager_client.get("/api/v1/points/queue").json()
    assert [r["profile_id"] for r in page["items"]] == [ana, ben] and page["total"] == 2
    top = page["items"][0]
    assert (top["points"], top["by_kind"], top["best_title"], top["last_recognised_at"]) == (40, {"talk": 1}, "talk by Ana", None)
    thanked = manager_client.post("/api/v1/points/thank", json={"profile_ids": [ana], "note": "the talk"})
    assert thanked.status_code == 200 and thanked.json() == {"thanked": 1}
    assert [r["profile_id"] for r in manager_client.get("/api/v1/points/queue").json()["items"]] == [ben]
    assert manager_client.get("/api/v1/points/queue?days=0").status_code == 422
    assert manager_client.post("/api/v1/points/thank", json={"profile_ids": []}).status_code == 422
    assert manager_client.post("/api/v1/points/thank", json={"profile_ids": [999999]}).status_code == 422
    with session_scope(engine) as s:
        assert s.execute(select(Interaction.title).where(Interaction.kind == "note")).scalars().all() == ["Thank-you: the talk"]


def test_rescore_preview_then_apply(manager_client, engine):
    pid = _contributor(engine, "Ana", "post", 1)
    manager_client.post("/api/v1/points/rules", json={"starts_at": (utcnow() - timedelta(days=3)).isoformat(),
                                                      "rules": [{"kind": "post", "points": 6}]})
    since = {"since": (utcnow() - timedelta(days=7)).date().isoformat()}
    preview = manager_client.post("/api/v1/points/rescore/preview", json=since).json()
    assert (preview["applied"], preview["interactions"], preview["delta"]) == (False, 1, 1)
    assert preview["people"] == [{"profile_id": pid, "name": "Ana", "interactions": 1, "delta": 1, "held_delta": 0}]
    applied = manager_client.post("/api/v1/points/rescore/apply", json=since).json()
    assert applied["applied"] is True and applied["people"] == preview["people"]
    assert manager_client.post("/api/v1/points/rescore/apply", json=since).json()["interactions"] == 0
    assert manager_client.get(f"/api/v1/profiles/{pid}/points").json()["balance"]["current"] == 6
    assert manager_client.post("/api/v1/points/rescore/preview", json={"since": "soon"}).status_code == 422


def test_viewers_read_but_do_not_write(viewer_client, engine):
    pid = _contributor(engine)
    assert viewer_client.get("/api/v1/points/queue").status_code == 200
    assert viewer_client.get("/api/v1/points/rules").status_code == 200
    assert viewer_client.get(f"/api/v1/profiles/{pid}/points").status_code == 200
    assert viewer_client.post("/api/v1/points/award", json={"profile_ids": [pid], "points": 1, "reason": "x"}).status_code == 403
    assert viewer_client.post("/api/v1/points/thank", json={"profile_ids": [pid]}).status_code == 403
