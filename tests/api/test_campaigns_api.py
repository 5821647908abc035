"""JSON API for campaigns, KPIs, members (one, several, stage moves) and tasks: the same services as
the pages; 4xx answers are JSON with a message, never 500; readers may read, writers write."""

from __future__ import annotations

from datetime import timedelta

from crm.db import utcnow
from tests.campaign_factories import add_member, add_task, events, make_campaign, member
from tests.factories import make_profile

CAMPAIGN = {"name": "Observability week", "objective": "Fifty teams on a trial", "topics": "Observability, devops",
            "keywords": ["alerts"], "starts_on": "2026-03-01", "ends_on": "2026-03-31", "status": "active",
            "budget": 5000, "currency": "eur", "target_reach": 150000}


def test_campaign_crud(manager_client, engine):
    created = manager_client.post("/api/v1/campaigns", json=CAMPAIGN)
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/campaigns/{data['id']}"
    assert data["topics"] == ["observability", "devops"] and data["currency"] == "EUR"
    assert data["owner_id"] is not None  # the creator looks after it
    assert manager_client.get(f"/api/v1/campaigns/{data['id']}").json() == data
    patched = manager_client.patch(f"/api/v1/campaigns/{data['id']}", json={"budget": 6000})
    assert patched.status_code == 200 and patched.json()["budget"] == 6000 and patched.json()["name"] == CAMPAIGN["name"]
    replaced = manager_client.put(f"/api/v1/campaigns/{data['id']}", json={**CAMPAIGN, "name": "Observability month"})
    assert replaced.json()["name"] == "Observability month"
    assert manager_client.delete(f"/api/v1/campaigns/{data['id']}").status_code == 204
    assert manager_client.get(f"/api/v1/campaigns/{data['id']}").status_code == 404
    assert [e.action for e in events(engine, "campaign.delete")] == ["campaign.delete"]


def test_bad_campaigns_are_refused_with_json(manager_client):
    late = manager_client.post("/api/v1/campaigns", json={**CAMPAIGN, "ends_on": "2026-02-01"})
    assert late.status_code == 422
    assert "detail" in late.json()
    negative = manager_client.post("/api/v1/campaigns", json={**CAMPAIGN, "budget": -1})
    assert negative.status_code == 422
    extra = manager_client.post("/api/v1/campaigns", json={**CAMPAIGN, "id": 5})
    assert extra.status_code == 422
    no_owner = manager_client.post("/api/v1/campaigns", json={**CAMPAIGN, "owner_id": 999_999})
    assert no_owner.status_code == 422
    created = manager_client.post("/api/v1/campaigns", json=CAMPAIGN).json()
    cleared = manager_client.patch(f"/api/v1/campaigns/{created['id']}", json={"name": None})
    assert cleared.status_code == 422
    later = manager_client.patch(f"/api/v1/campaigns/{created['id']}", json={"ends_on": "2026-01-01"})
    assert later.status_code == 422


def test_the_list_filters_and_pages(viewer_client, engine):
    live = make_campaign(engine, "Observability week", status="active")
    make_campaign(engine, "Kubernetes cost clinic", status="completed")
    make_campaign(engine, "Old", status="archived")
    add_member(engine, live.id, make_profile(engine, "Ana").id, stage="confirmed")
    add_task(engine, live.id, "Late", due_on=utcnow().date() - timedelta(days=1))
    listing = viewer_client.get("/api/v1/campaigns").json()
    assert listing["total"] == 2  # archived ones only when asked for; undated ones newest first
    assert [c["name"] for c in listing["items"]] == ["Kubernetes cost clinic", "Observability week"]
    row = next(c for c in listing["items"] if c["id"] == live.id)
    assert (row["members"], row["taking_part"], row["open_tasks"], row["overdue_tasks"]) == (1, 1, 1, 1)
    assert [c["name"] for c in viewer_client.get("/api/v1/campaigns?status=archived").json()["items"]] == ["Old"]
    assert [c["name"] for c in viewer_client.get("/api/v1/campaigns?q=kuber").json()["items"]] == ["Kubernetes cost clinic"]
    paged = viewer_client.get("/api/v1/campaigns?per_page=1&page=2").json()
    assert (paged["total"], paged["pages"], len(paged["items"])) == (2, 2, 1)
    assert viewer_client.get("/api/v1/campaigns?status=famous").status_code == 422


def test_a_viewer_reads_but_cannot_write(viewer_client, engine):
    campaign = make_campaign(engine)
    assert viewer_client.get(f"/api/v1/campaigns/{campaign.id}").status_code == 200
    assert viewer_client.post("/api/v1/campaigns", json=CAMPAIGN).status_code == 403
    assert viewer_client.delete(f"/api/v1/campaigns/{campaign.id}").status_code == 403


def test_kpis(manager_client, engine):
    campaign = make_campaign(engine)
    created = manager_client.post(f"/api/v1/campaigns/{campaign.id}/kpis", json={"metric": "signups", "target": 80, "actual": 12})
    assert created.status_code == 201
    kpi = created.json()
    assert manager_client.post(f"/api/v1/campaigns/{campaign.id}/kpis", json={"metric": "custom", "target": 5}).status_code == 422
    assert manager_client.post(f"/api/v1/campaigns/{campaign.id}/kpis",
                               json={"metric": "reach", "target": 5, "actual": 3}).status_code == 422
    manager_client.post(f"/api/v1/campaigns/{campaign.id}/kpis", json={"metric": "reach", "target": 1000})
    listed = manager_client.get(f"/api/v1/campaigns/{campaign.id}/kpis").json()
    assert [(k["metric"], k["actual"], k["measured"]) for k in listed] == [("signups", 12, False), ("reach", 0, True)]
    updated = manager_client.put(f"/api/v1/campaigns/{campaign.id}/kpis/{kpi['id']}",
                                 json={"metric": "signups", "target": 90, "actual": 40})
    assert updated.json()["target"] == 90
    assert manager_client.delete(f"/api/v1/campaigns/{campaign.id}/kpis/{kpi['id']}").status_code == 204
    assert manager_client.delete(f"/api/v1/campaigns/{campaign.id}/kpis/{kpi['id']}").status_code == 404


def test_members_one_several_moves_and_removal(manager_client, engine):
    campaign = make_campaign(engine)
    ana, bea, cai = (make_profile(engine, n) for n in ("Ana", "Bea", "Cai"))
    added = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members", json={"profile_id": ana.id, "fee": 300})
    assert added.status_code == 201 and added.json()["stage"] == "candidate"
    again = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members", json={"profile_id": ana.id})
    assert again.status_code == 409 and "already in this campaign" in again.json()["detail"]
    bulk = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members/bulk",
                               json={"profile_ids": [ana.id, bea.id, cai.id], "stage": "shortlisted"})
    assert bulk.status_code == 200
    assert bulk.json()["already"] == [ana.id] and sorted(m["profile_id"] for m in bulk.json()["added"]) == [bea.id, cai.id]
    unknown = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members/bulk", json={"profile_ids": [999_999]})
    assert unknown.status_code == 422
    listed = manager_client.get(f"/api/v1/campaigns/{campaign.id}/members").json()
    assert {m["display_name"] for m in listed} == {"Ana", "Bea", "Cai"}
    member_id = added.json()["id"]
    moved = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members/{member_id}/stage", json={"stage": "declined"})
    assert moved.json()["stage"] == "declined"
    refused = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members/{member_id}/stage", json={"stage": "contacted"})
    assert refused.status_code == 422 and "Reopen" in refused.json()["detail"]
    reopened = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members/{member_id}/stage",
                                   json={"stage": "contacted", "reopen": True})
    assert reopened.json()["stage"] == "contacted"
    assert [e.after["stage"] for e in events(engine, "campaign.member_stage")] == ["declined", "contacted"]
    patched = manager_client.patch(f"/api/v1/campaigns/{campaign.id}/members/{member_id}",
                                   json={"next_step": "Call", "next_step_on": "2026-04-01"})
    assert patched.json()["next_step"] == "Call" and patched.json()["fee"] == 300
    assert manager_client.delete(f"/api/v1/campaigns/{campaign.id}/members/{member_id}").status_code == 204
    assert member(engine, member_id) is None


def test_tasks_and_my_tasks(manager_client, engine):
    campaign = make_campaign(engine)
    created = manager_client.post(f"/api/v1/campaigns/{campaign.id}/tasks", json={
        "title": "Send the brief", "goal": "Brief", "due_on": (utcnow().date() - timedelta(days=1)).isoformat()})
    assert created.status_code == 201
    task = created.json()
    assert manager_client.post(f"/api/v1/campaigns/{campaign.id}/tasks", json={"title": ""}).status_code == 422
    listed = manager_client.get(f"/api/v1/campaigns/{campaign.id}/tasks").json()
    assert [(t["title"], t["overdue"], t["campaign_name"]) for t in listed] == [("Send the brief", True, campaign.name)]
    assert manager_client.get("/api/v1/tasks").json() == []  # nobody owns it yet
    owner = manager_client.patch(f"/api/v1/campaigns/{campaign.id}/tasks/{task['id']}", json={"owner_id": None}).json()
    assert owner["owner_id"] is None
    mine = manager_client.get("/api/v1/tasks?mine=false&overdue=true").json()
    assert [t["id"] for t in mine] == [task["id"]]
    done = manager_client.patch(f"/api/v1/campaigns/{campaign.id}/tasks/{task['id']}", json={"done": True})
    assert done.json()["done_at"] is not None and done.json()["title"] == "Send the brief"
    assert manager_client.get("/api/v1/tasks?mine=false").json() == []
    assert len(manager_client.get("/api/v1/tasks?mine=false&open=false").json()) == 1
    assert manager_client.patch(f"/api/v1/campaigns/{campaign.id}/tasks/{task['id']}", json={"title": None}).status_code == 422
    assert manager_client.delete(f"/api/v1/campaigns/{campaign.id}/tasks/{task['id']}").status_code == 204
    assert manager_client.patch(f"/api/v1/campaigns/{campaign.id}/tasks/{task['id']}", json={"done": True}).status_code == 404


def test_an_archived_campaign_refuses_changes_through_the_api(manager_client, engine):
    campaign = make_campaign(engine, status="archived")
    ana = make_profile(engine, "Ana")
    refused = manager_client.post(f"/api/v1/campaigns/{campaign.id}/members", json={"profile_id": ana.id})
    assert refused.status_code == 422 and "archived" in refused.json()["detail"]
