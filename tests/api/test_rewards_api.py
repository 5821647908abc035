"""JSON API for rewards and redemptions: the catalogue, redeeming (too few points, out of stock, a
second click), the workflow, and 4xx answers with a JSON `detail`, on SQLite and PostgreSQL."""

from __future__ import annotations

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.recognition import ledger
from crm.recognition.models import AwardIn
from tests.factories import make_profile


def _person(engine, name="Ana", points=0):
    pid = make_profile(engine, name).id
    if points:
        with session_scope(engine, write=True) as s:
            ledger.award(AwardIn(profile_ids=[pid], points=points, reason="Thanks"), session=s, actor=SYSTEM)
    return pid


def test_the_catalogue(manager_client):
    response = manager_client.post("/api/v1/rewards", json={"name": "Hoodie", "category": "swag", "cost": 100, "stock": 2})
    assert response.status_code == 201
    reward = response.json()
    assert response.headers["location"] == f"/api/v1/rewards/{reward['id']}"
    assert {k: reward[k] for k in ("name", "category", "cost", "stock", "active", "description")} == {
        "name": "Hoodie", "category": "swag", "cost": 100, "stock": 2, "active": True, "description": ""}
    bad = manager_client.post("/api/v1/rewards", json={"name": "Mug", "category": "swag", "cost": 5, "stock": -1})
    assert bad.status_code == 422 and bad.json()["detail"]
    assert "Stock cannot be negative" in str(bad.json()["errors"])
    assert manager_client.post("/api/v1/rewards", json={"name": "Mug", "category": "swag", "cost": 0}).status_code == 422
    assert manager_client.post("/api/v1/rewards", json={"name": "Mug", "category": "swag", "cost": 5,
                                                        "id": 7}).status_code == 422  # server-owned
    patched = manager_client.patch(f"/api/v1/rewards/{reward['id']}", json={"stock": None, "cost": 90})
    assert patched.status_code == 200 and (patched.json()["stock"], patched.json()["cost"]) == (None, 90)
    assert manager_client.patch(f"/api/v1/rewards/{reward['id']}", json={"active": False}).json()["active"] is False
    assert manager_client.get("/api/v1/rewards").json() == []
    listed = manager_client.get("/api/v1/rewards?include_inactive=true").json()
    assert [(r["name"], r["redeemed"], r["waiting"]) for r in listed] == [("Hoodie", 0, 0)]
    assert manager_client.get(f"/api/v1/rewards/{reward['id']}").json()["cost"] == 90
    missing = manager_client.get("/api/v1/rewards/999999")
    assert missing.status_code == 404 and missing.json()["detail"]


def test_redeeming_and_the_workflow(manager_client, engine):
    reward = manager_client.post("/api/v1/rewards", json={"name": "Hoodie", "category": "swag", "cost": 40,
                                                          "stock": 2}).json()
    ana, bruno = _person(engine, "Ana", points=100), _person(engine, "Bruno", points=30)
    poor = manager_client.post("/api/v1/redemptions", json={"reward_id": reward["id"], "profile_id": bruno})
    assert poor.status_code == 422 and "Bruno has 30 points" in poor.json()["detail"]
    first = manager_client.post("/api/v1/redemptions", json={"reward_id": reward["id"], "profile_id": ana,
                                                              "shipping": "Calle Mayor 1"})
    assert first.status_code == 201
    body = first.json()
    assert (body["status"], body["needs_approval"], body["cost"], body["shipping"]) == ("requested", True, 40, "Calle Mayor 1")
    approved = manager_client.post(f"/api/v1/redemptions/{body['id']}/approve", json={"note": "ok"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = manager_client.post(f"/api/v1/redemptions/{body['id']}/approve")
    assert again.status_code == 409 and again.json()["detail"]
    second = manager_client.post("/api/v1/redemptions", json={"reward_id": reward["id"], "profile_id": ana}).json()
    assert second["status"] == "approved"  # not her first any more
    sold_out = manager_client.post("/api/v1/redemptions", json={"reward_id": reward["id"], "profile_id": ana})
    assert sold_out.status_code == 409 and "out of stock" in sold_out.json()["detail"]
    fulfilled = manager_client.post(f"/api/v1/redemptions/{body['id']}/fulfil", json={"tracking": "PK-1"})
    assert fulfilled.json()["status"] == "fulfilled" and fulfilled.json()["tracking"] == "PK-1"
    rejected = manager_client.post(f"/api/v1/redemptions/{second['id']}/reject", json={"note": "Wrong size"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    with session_scope(engine) as s:
        assert ledger.balances([ana], conn=s.connection())[ana].current == 60
    assert manager_client.post(f"/api/v1/redemptions/{body['id']}/reject").status_code == 409
    listing = manager_client.get(f"/api/v1/redemptions?profile_id={ana}").json()
    assert listing["total"] == 2
    assert [(r["id"], r["status"], r["person"], r["reward_name"]) for r in listing["items"]] == [
        (body["id"], "fulfilled", "Ana", "Hoodie"), (second["id"], "rejected", "Ana", "Hoodie")]
    assert manager_client.get("/api/v1/redemptions?status=rejected").json()["total"] == 1
    assert manager_client.get("/api/v1/redemptions?status=lost").status_code == 422
    unknown = manager_client.post("/api/v1/redemptions", json={"reward_id": 999999, "profile_id": ana})
    assert unknown.status_code == 404 and unknown.json()["detail"]
    assert manager_client.post("/api/v1/redemptions/999999/fulfil").status_code == 404


def test_a_viewer_reads_but_cannot_redeem(viewer_client, engine):
    pid = _person(engine, points=100)
    assert viewer_client.get("/api/v1/rewards").status_code == 200
    assert viewer_client.get("/api/v1/redemptions").json()["items"] == []
    refused = viewer_client.post("/api/v1/redemptions", json={"reward_id": 1, "profile_id": pid})
    assert refused.status_code == 403 and refused.json()["detail"]
    assert viewer_client.post("/api/v1/rewards", json={"name": "X", "category": "swag", "cost": 1}).status_code == 403
