"""The campaign report API: report, deliverables, quotes and close-out."""

from __future__ import annotations

import pytest

from tests.unit.test_campaign_report import build_campaign


def test_the_report_as_json(manager_client, engine):
    ids = build_campaign(engine)
    body = manager_client.get(f"/api/v1/campaigns/{ids['campaign']}/report").json()
    assert (body["reach"], body["engagements"], body["deliverables"], body["contributions"]) == (36500, 1515, 6, 5)
    assert body["spend"] == 1500 and body["budget_used"] == pytest.approx(0.5)
    assert body["engagement_rate"] == pytest.approx(1515 / 36500)
    assert [m["name"] for m in body["members"]] == ["Bea", "Ana", "Cai"]
    assert body["unit"] == "day" and sum(b["count"] for b in body["contributions_over_time"]) == 5
    assert {k["metric"] for k in body["kpis"]} == {"reach", "engagements", "signups", "contributions"}
    assert manager_client.get("/api/v1/campaigns/999999/report").status_code == 404


def test_deliverables_through_the_api(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/api/v1/campaigns/{ids['campaign']}/deliverables"
    listed = manager_client.get(url).json()
    assert len(listed) == 6 and {d["person"] for d in listed} == {"Ana", "Bea", "Cai", "Eva"}
    created = manager_client.post(url, json={"profile_id": ids["Ana"], "kind": "video", "reach": 700, "engagements": 70,
                                             "url": "https://v.example/1"})
    assert created.status_code == 201, created.text
    assert created.json()["campaign_id"] == ids["campaign"] and created.json()["person"] == "Ana"
    refused = manager_client.post(url, json={"profile_id": ids["Eva"], "kind": "outreach_dm"})
    assert refused.status_code == 422 and set(refused.json()["errors"]) >= {"profile_id", "kind"}
    assert manager_client.post(url, json={"profile_id": ids["Ana"], "kind": "post", "reach": -1}).status_code == 422
    assert manager_client.post(url, json={"profile_id": ids["Ana"], "kind": "post", "extra": 1}).status_code == 422
    assert len(manager_client.get(url).json()) == 7


def test_quotes_through_the_api(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/api/v1/campaigns/{ids['campaign']}/quotes"
    added = manager_client.post(url, json={"text": "Loved it"})
    assert added.status_code == 201
    quote_id = added.json()["id"]
    assert [q["text"] for q in manager_client.get(url).json()] == ["Loved it"]
    assert manager_client.post(url, json={"text": ""}).status_code == 422
    assert manager_client.delete(f"{url}/{quote_id}").status_code == 204
    assert manager_client.delete(f"{url}/{quote_id}").status_code == 404
    assert manager_client.get(url).json() == []


def test_viewers_cannot_complete(viewer_client, engine):
    ids = build_campaign(engine)
    url = f"/api/v1/campaigns/{ids['campaign']}/complete"
    assert viewer_client.post(url, json={"thank": []}).status_code == 403


def test_complete_through_the_api(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/api/v1/campaigns/{ids['campaign']}/complete"
    first = manager_client.post(url, json={"thank": [ids["Ana"]], "message": "Thanks"}).json()
    assert first["status"] == "completed" and first["thanked"] == [ids["Ana"]] and first["completed_at"]
    second = manager_client.post(url, json={"thank": [ids["Ana"], ids["Bea"]]}).json()
    assert second["thanked"] == [ids["Bea"]] and second["already_thanked"] == [ids["Ana"]]
    stranger = manager_client.post(url, json={"thank": [ids["Eva"]]})
    assert stranger.status_code == 422 and "thank" in stranger.json()["errors"]
