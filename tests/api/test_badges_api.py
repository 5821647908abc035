"""The badges API: list, create (evaluated for everyone), edit, holders, awards by hand, taking back,
and a person's badges with progress; errors as JSON."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Table

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from tests.factories import make_profile

X: Table = Interaction.__table__  # type: ignore[attr-defined]


def _add(engine, pid: int, kind: str = "forum_answer", n: int = 1) -> None:
    now = utcnow()
    with session_scope(engine, write=True) as s:
        s.connection().execute(X.insert(), [{"profile_id": pid, "kind": kind, "occurred_at": now - timedelta(hours=1),
                                             "source": "manual", "created_at": now, "channel": "", "url": "", "title": "",
                                             "body": "", "reach": 0, "engagements": 0} for _ in range(n)])


AUTO = {"name": "Helper", "symbol": "🛟", "criteria": {"kind": "forum_answer", "count": 2, "window_days": 30}}


def test_create_list_get_and_patch(manager_client, engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    _add(engine, ana, n=2)
    _add(engine, bea, n=1)
    created = manager_client.post("/api/v1/badges", json=AUTO)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["awarded"] == 1 and body["holders"] == 1 and created.headers["Location"] == f"/api/v1/badges/{body['id']}"
    assert body["criteria"]["count"] == 2 and body["criteria_text"] == "2 × forum answer · in the last 30 days"
    manual = manager_client.post("/api/v1/badges", json={"name": "Star", "manual": True}).json()
    assert manual["criteria"] is None and manual["criteria_text"] == "Awarded by hand"
    listed = manager_client.get("/api/v1/badges").json()
    assert listed["total"] == 2 and [b["name"] for b in listed["items"]] == ["Helper", "Star"]
    assert manager_client.get("/api/v1/badges?active=false").json()["total"] == 0
    assert manager_client.get(f"/api/v1/badges/{body['id']}").json()["holders"] == 1
    patched = manager_client.patch(f"/api/v1/badges/{body['id']}", json={"criteria": {"kind": "forum_answer", "count": 1}})
    assert patched.status_code == 200 and patched.json()["awarded"] == 1 and patched.json()["holders"] == 2
    renamed = manager_client.patch(f"/api/v1/badges/{body['id']}", json={"description": "Answers"}).json()
    assert renamed["description"] == "Answers" and renamed["name"] == "Helper" and renamed["criteria"]["count"] == 1


def test_errors_are_json_with_the_field_at_fault(manager_client, engine):
    manager_client.post("/api/v1/badges", json={"name": "Star", "manual": True})
    taken = manager_client.post("/api/v1/badges", json={"name": "star", "manual": True})
    assert taken.status_code == 409 and "already" in taken.json()["detail"]
    never = manager_client.post("/api/v1/badges", json={"name": "X", "criteria": {"kind": "complaint", "count": 1}})
    assert never.status_code == 422 and "criteria.kind" in never.json()["errors"]
    ghost = manager_client.post("/api/v1/badges", json={"name": "X", "criteria": {"count": 1, "campaign_id": 5}})
    assert ghost.status_code == 422 and "criteria.campaign_id" in ghost.json()["errors"]
    zero = manager_client.post("/api/v1/badges", json={"name": "X", "criteria": {"count": 0}})
    assert zero.status_code == 422
    assert manager_client.post("/api/v1/badges", json={"name": "X"}).status_code == 422  # neither criteria nor manual
    assert manager_client.post("/api/v1/badges", json={"name": "X", "manual": True, "extra": 1}).status_code == 422
    assert manager_client.post("/api/v1/badges", json={"name": "X", "manual": True, "symbol": "ab"}).status_code == 422
    assert manager_client.get("/api/v1/badges/424242").status_code == 404
    assert manager_client.patch("/api/v1/badges/424242", json={"name": "Y"}).status_code == 404
    badge_id = manager_client.get("/api/v1/badges").json()["items"][0]["id"]
    assert manager_client.patch(f"/api/v1/badges/{badge_id}", json={"name": None}).status_code == 422


def test_award_holders_revoke_and_a_persons_badges(manager_client, engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    star = manager_client.post("/api/v1/badges", json={"name": "Star", "symbol": "⭐", "manual": True}).json()["id"]
    url = f"/api/v1/badges/{star}"
    first = manager_client.post(f"{url}/award", json={"profile_ids": [ana], "reason": "Keynote"}).json()
    assert [h["profile_id"] for h in first["awarded"]] == [ana] and first["already"] == []
    assert first["awarded"][0]["awarded_by"] == "Mona Manager" and not first["awarded"][0]["automatic"]
    again = manager_client.post(f"{url}/award", json={"profile_ids": [ana, bea]}).json()
    assert [h["profile_id"] for h in again["awarded"]] == [bea] and again["already"] == [ana]
    unknown = manager_client.post(f"{url}/award", json={"profile_ids": [999_999]})
    assert unknown.status_code == 422 and "profile_ids" in unknown.json()["errors"]
    assert manager_client.post(f"{url}/award", json={"profile_ids": []}).status_code == 422
    holders = manager_client.get(f"{url}/holders?per_page=1").json()
    assert holders["total"] == 2 and holders["pages"] == 2 and len(holders["items"]) == 1
    assert manager_client.delete(f"{url}/holders/{ana}").status_code == 204
    assert manager_client.delete(f"{url}/holders/{ana}").status_code == 404
    helper = manager_client.post("/api/v1/badges", json=AUTO).json()["id"]
    _add(engine, bea, n=1)
    mine = manager_client.get(f"/api/v1/profiles/{bea}/badges").json()
    assert [(e["badge_id"], e["symbol"]) for e in mine["earned"]] == [(star, "⭐")]
    assert [(p["badge_id"], p["count"], p["needed"]) for p in mine["progress"]] == [(helper, 1, 2)]
    assert manager_client.get("/api/v1/profiles/999999/badges").status_code == 404


def test_viewers_read_but_do_not_write(viewer_client, engine):
    assert viewer_client.get("/api/v1/badges").status_code == 200
    assert viewer_client.post("/api/v1/badges", json={"name": "Star", "manual": True}).status_code == 403
    assert viewer_client.post("/api/v1/badges/1/award", json={"profile_ids": [1]}).status_code == 403
    assert viewer_client.delete("/api/v1/badges/1/holders/1").status_code == 403


def test_odd_bodies_are_4xx_never_500(manager_client, engine):
    manual = manager_client.post("/api/v1/badges", json={"name": "Star", "manual": True}).json()["id"]
    auto = manager_client.post("/api/v1/badges", json={"name": "Auto", "criteria": {"count": 1}}).json()["id"]
    odd = [
        ("post", "/api/v1/badges", {"name": "X", "criteria": {"count": 10**30}}),
        ("post", "/api/v1/badges", {"name": "X", "criteria": {"count": 1, "window_days": 10**12}}),
        ("post", "/api/v1/badges", {"name": "X", "criteria": {"count": 1.5}}),
        ("post", "/api/v1/badges", {"name": "X", "criteria": {"count": 1, "min_sentiment": -1.01}}),
        ("post", "/api/v1/badges", {"name": "X", "criteria": {"count": 1, "campaign_id": 2**40}}),
        ("post", "/api/v1/badges", {"name": "X", "criteria": None}),
        ("post", "/api/v1/badges", {"name": "X\x00", "manual": True}),
        ("patch", f"/api/v1/badges/{auto}", {"criteria": None}),  # automatic without criteria
        ("patch", f"/api/v1/badges/{manual}", {"manual": False}),  # automatic, still without criteria
        ("patch", f"/api/v1/badges/{manual}", {"criteria": {"count": 2}}),  # manual with criteria
        ("patch", f"/api/v1/badges/{auto}", {"symbol": None}),
        ("post", f"/api/v1/badges/{manual}/award", {"profile_ids": [2**40]}),
        ("post", f"/api/v1/badges/{manual}/award", {"profile_ids": [1] * 501}),
    ]
    for method, url, body in odd:
        response = getattr(manager_client, method)(url, json=body)
        assert response.status_code == 422, (url, body, response.status_code, response.text[:200])
        assert isinstance(response.json()["detail"], str)
    assert manager_client.get("/api/v1/badges?page=1000000&per_page=200").json()["items"] == []
    assert manager_client.get(f"/api/v1/badges/{manual}/holders?page=999").status_code == 200
    # made manual: the criteria go, and the badge stays as it was otherwise
    made_manual = manager_client.patch(f"/api/v1/badges/{auto}", json={"manual": True}).json()
    assert made_manual["manual"] and made_manual["criteria"] is None
