"""The signals API: open (suggested owner or the queue), read, patch, move (409 on a second resolution),
join, close the loop (422 with the refusal), owner suggestion, departments and SLA targets; errors as JSON."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.listening.models import Department
from tests.factories import make_profile, make_user


def _log(engine, profile_id: int, kind: str = "complaint", title: str = "Crash") -> int:
    with session_scope(engine, write=True) as s:
        return log.log_interaction(profile_id, InteractionIn(kind=kind, title=title, occurred_at=utcnow() - timedelta(minutes=1)),
                                   session=s, actor=SYSTEM).id or 0


def test_open_read_and_list(manager_client, engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    person = make_profile(engine, owner_id=zoe.id).id
    iid = _log(engine, person)
    response = manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "Crash", "interaction_ids": [iid]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/signals/{body['id']}"
    assert body["owner_id"] == zoe.id and body["profile_id"] == person and body["interaction_ids"] == [iid]
    assert body["status"] == "new" and body["first_response_due"] and body["breached"] is False
    queued = manager_client.post("/api/v1/signals", json={"type": "sales_lead", "title": "Wants 50 seats",
                                                          "profile_id": person, "owner_id": None}).json()
    assert queued["owner_id"] is None and queued["sla_note"] == "No SLA for this type."
    with Session(engine) as s:
        sales = s.exec(select(Department.id).where(Department.name == "Sales")).one()
    assert queued["department_id"] == sales
    assert manager_client.get(f"/api/v1/signals/{body['id']}").json()["title"] == "Crash"
    listing = manager_client.get("/api/v1/signals", params={"owner": "none"}).json()
    assert [s["id"] for s in listing["items"]] == [queued["id"]] and listing["total"] == 1
    assert manager_client.get("/api/v1/signals", params={"owner": "bogus"}).status_code == 422
    assert manager_client.get("/api/v1/signals/999999").status_code == 404


def test_bad_input_is_json_4xx(manager_client, engine):
    bad = manager_client.post("/api/v1/signals", json={"type": "rant", "title": ""})
    assert bad.status_code == 422 and bad.json()["detail"]
    missing = manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "x", "interaction_ids": [999999],
                                                           "owner_id": 999999, "department_id": 999999})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"interaction_ids", "owner_id", "department_id"}
    assert manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "x", "extra": 1}).status_code == 422


def test_patch_move_join_and_close_the_loop(manager_client, engine):
    person = make_profile(engine, "Ana", may_contact=False).id
    first, second = _log(engine, person), _log(engine, person, "reply", "Still")
    sid = manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "Crash",
                                                       "interaction_ids": [first]}).json()["id"]
    patched = manager_client.patch(f"/api/v1/signals/{sid}", json={"priority": "urgent"})
    assert patched.status_code == 200 and patched.json()["priority"] == "urgent"
    assert manager_client.patch(f"/api/v1/signals/{sid}", json={"title": None}).status_code == 422
    joined = manager_client.post(f"/api/v1/signals/{sid}/items", json={"interaction_ids": [second]})
    assert joined.json()["interaction_ids"] == [first, second]
    early = manager_client.post(f"/api/v1/signals/{sid}/close-loop", json={"kind": "outreach_dm", "message": "Fixed"})
    assert early.status_code == 422
    assert manager_client.post(f"/api/v1/signals/{sid}/status", json={"status": "resolved"}).status_code == 422
    done = manager_client.post(f"/api/v1/signals/{sid}/status", json={"status": "resolved", "note": "Fixed in 2.3"})
    assert done.status_code == 200 and done.json()["resolved_at"]
    again = manager_client.post(f"/api/v1/signals/{sid}/status", json={"status": "resolved", "note": "again"})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    refused = manager_client.post(f"/api/v1/signals/{sid}/close-loop", json={"kind": "outreach_dm", "message": "Fixed"})
    assert refused.status_code == 422 and "contact" in refused.json()["errors"]["contact_anyway"]
    told = manager_client.post(f"/api/v1/signals/{sid}/close-loop", json={"kind": "outreach_dm", "message": "Fixed",
                                                                          "contact_anyway": True})
    assert told.status_code == 200
    with Session(engine) as s:
        item = s.get(Interaction, told.json()["loop_interaction_id"])
        assert item is not None and item.kind == "outreach_dm" and item.body == "Fixed"
    assert manager_client.post(f"/api/v1/signals/{sid}/close-loop", json={}).status_code == 422


def test_suggest_owner(manager_client, engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    owned = make_profile(engine, owner_id=zoe.id).id
    alone = make_profile(engine, "Alone").id
    found = manager_client.get("/api/v1/signals/suggest-owner", params={"profile_id": owned}).json()
    assert found == {"user_id": zoe.id, "user_name": "Zoe", "basis": "owner", "reason": "Zoe owns this profile"}
    assert manager_client.get("/api/v1/signals/suggest-owner", params={"profile_id": alone}).json()["basis"] == "queue"
    assert manager_client.get("/api/v1/signals/suggest-owner").json()["basis"] == "queue"
    assert manager_client.get("/api/v1/signals/suggest-owner", params={"profile_id": 0}).status_code == 422


def test_departments_and_sla_targets(manager_client, viewer_client, engine):
    assert [d["name"] for d in viewer_client.get("/api/v1/departments").json()] == ["Marketing", "Product", "Sales", "Support"]
    targets = viewer_client.get("/api/v1/sla-targets").json()
    assert {"signal_type": "complaint", "priority": "urgent", "first_response_hours": 1.0, "resolution_hours": 8.0} in targets
    assert viewer_client.post("/api/v1/departments", json={"name": "Legal"}).status_code == 403
    assert viewer_client.put("/api/v1/sla-targets", json={"targets": []}).status_code == 403


def test_writers_edit_departments_and_targets(manager_client, engine):
    created = manager_client.post("/api/v1/departments", json={"name": "Legal", "email": "legal@example.com"})
    assert created.status_code == 201 and created.json()["name"] == "Legal"
    assert manager_client.post("/api/v1/departments", json={"name": "legal"}).status_code == 409
    assert manager_client.post("/api/v1/departments", json={"name": "Ops", "email": "nope"}).status_code == 422
    put = manager_client.put("/api/v1/sla-targets", json={"targets": [
        {"signal_type": "bug_report", "priority": "high", "first_response_hours": 2, "resolution_hours": 48}]})
    assert put.status_code == 200 and put.json() == [
        {"signal_type": "bug_report", "priority": "high", "first_response_hours": 2.0, "resolution_hours": 48.0}]
    bad = manager_client.put("/api/v1/sla-targets", json={"targets": [
        {"signal_type": "bug_report", "priority": "high", "first_response_hours": 50, "resolution_hours": 48}]})
    assert bad.status_code == 422
    assert len(manager_client.get("/api/v1/sla-targets").json()) == 1
