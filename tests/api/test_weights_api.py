"""JSON API: weight sets (list, create, read, preview, activate) and a person's score with its history;
every refusal a 4xx JSON body, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from crm.accounts import service as accounts
from crm.accounts.models import TokenIn, User
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.jobs.models import Job
from crm.profiles.models import Profile
from crm.ranking import service
from crm.ranking.models import Weights
from tests.score_data import community

REACH_ONLY = {"combined": {"reach": 1, "advocacy": 0, "influence": 0}}


@pytest.fixture
def people(engine):
    ids = community(engine)
    service.recompute(engine)
    return ids


def _body(name="Reach only", **weights) -> dict:
    return {"name": name, "note": "api", "weights": {**Weights().model_dump(mode="json"), **weights}}


def test_create_read_list_and_activate(manager_client, engine, people):
    created = manager_client.post("/api/v1/ranking/weights", json=_body(**REACH_ONLY))
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/ranking/weights/{data['id']}"
    assert data["version"] == 2 and data["active"] is False and data["activated_at"] is None
    assert data["weights"]["combined"] == {"reach": 1.0, "advocacy": 0.0, "influence": 0.0}
    assert manager_client.get(f"/api/v1/ranking/weights/{data['id']}").json() == data
    listing = manager_client.get("/api/v1/ranking/weights").json()
    assert [item["version"] for item in listing["items"]] == [2, 1] and listing["total"] == 2
    assert [item["active"] for item in listing["items"]] == [False, True]

    activated = manager_client.post(f"/api/v1/ranking/weights/{data['id']}/activate")
    assert activated.status_code == 200, activated.text
    body = activated.json()
    assert body["weight_set"]["active"] is True and body["weight_set"]["activated_at"] is not None
    with Session(engine) as session:
        job = session.get(Job, body["recompute_job_id"])
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "weight_set")
                                                  .order_by(AuditEvent.id))]
    assert job.kind == "rank" and job.status == "queued"
    assert actions == ["weights.create", "weights.activate"]
    again = manager_client.post(f"/api/v1/ranking/weights/{data['id']}/activate")
    assert again.status_code == 409 and "already active" in again.json()["detail"]
    # After the recompute, the biggest audience is first.
    service.recompute(engine)
    with Session(engine) as session:
        ana = session.get(Profile, people["Ana"])
    assert ana.score_rank == 1


def test_preview(manager_client, engine, people):
    new = manager_client.post("/api/v1/ranking/weights", json=_body(**REACH_ONLY)).json()
    preview = manager_client.get(f"/api/v1/ranking/weights/{new['id']}/preview")
    assert preview.status_code == 200, preview.text
    data = preview.json()
    assert data["version"] == 2 and data["active"] is False and data["people"] == 4
    assert data["up"][0]["profile_id"] == people["Ana"] and data["up"][0]["rank_after"] == 1
    assert data["up"][0]["moved"] == data["up"][0]["rank_before"] - 1 > 0
    assert data["moved_up"] == len(data["up"]) and data["moved_down"] == len(data["down"])
    assert data["top_after"][0]["profile_id"] == people["Ana"]
    assert set(data["level_counts_before"]) == {"champion", "advocate", "contributor", "observer"}
    assert data["level_counts_before"] == data["level_counts_after"] and data["level_changes"] == []
    active = manager_client.get("/api/v1/ranking/weights/1/preview").json()
    assert active["active"] is True and active["moved_up"] == active["moved_down"] == 0


@pytest.mark.parametrize("weights, field", [
    ({"levels": {"champion": 10, "advocate": 20, "contributor": 3}}, "levels"),
    ({"combined": {"reach": 0, "advocacy": 0, "influence": 0}}, "combined"),
    ({"kinds": {"post": -1}}, ""),
    ({"kinds": {"astronaut": 1}}, ""),
    ({"monthly_decay": 0}, "monthly_decay"),
    ({"sentiment": "lots"}, "sentiment"),
])
def test_bad_weights_are_422_json(manager_client, people, weights, field):
    response = manager_client.post("/api/v1/ranking/weights", json=_body(**weights))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(field in ".".join(str(part) for part in error["loc"]) for error in errors)


def test_unknown_fields_and_ids(manager_client, people):
    assert manager_client.post("/api/v1/ranking/weights", json={**_body(), "active": True}).status_code == 422
    assert manager_client.post("/api/v1/ranking/weights", json={**_body(), "version": 9}).status_code == 422
    for path in ("/api/v1/ranking/weights/999999", "/api/v1/ranking/weights/999999/preview"):
        response = manager_client.get(path)
        assert response.status_code == 404 and "detail" in response.json()
    assert manager_client.post("/api/v1/ranking/weights/999999/activate").status_code == 404
    assert manager_client.get("/api/v1/ranking/weights/0").status_code == 422


def test_viewers_read_and_cannot_write(viewer_client, engine, people):
    assert viewer_client.get("/api/v1/ranking/weights").status_code == 200
    assert viewer_client.get("/api/v1/ranking/weights/1/preview").status_code == 200
    assert viewer_client.post("/api/v1/ranking/weights", json=_body()).status_code == 403
    assert viewer_client.post("/api/v1/ranking/weights/1/activate").status_code == 403


def test_a_token_activates_without_a_csrf_token(app, manager_client, engine, people):
    with session_scope(engine, write=True) as session:
        user = session.exec(select(User).where(User.email == "manager@example.com")).one()
        token = accounts.create_api_token(user, TokenIn(name="t", days=30), session=session, actor=SYSTEM)[1]
    new = manager_client.post("/api/v1/ranking/weights", json=_body(**REACH_ONLY)).json()
    bare = TestClient(app)
    assert bare.post(f"/api/v1/ranking/weights/{new['id']}/activate").status_code == 401
    response = bare.post(f"/api/v1/ranking/weights/{new['id']}/activate", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["weight_set"]["active"] is True


def test_score_before_any_computation_and_for_nobody(manager_client, engine):
    ids = community(engine)
    response = manager_client.get(f"/api/v1/profiles/{ids['Ana']}/score")
    assert response.status_code == 200
    data = response.json()
    assert data["computed"] is False and data["score"] is None and data["components"] == []
    assert manager_client.get(f"/api/v1/profiles/{ids['Ana']}/score/history").json() == {"profile_id": ids["Ana"],
                                                                                          "items": []}
    for path in ("/api/v1/profiles/999999/score", "/api/v1/profiles/999999/score/history"):
        missing = manager_client.get(path)
        assert missing.status_code == 404 and missing.json()["detail"]


def test_score_explains_itself(viewer_client, engine, people):
    data = viewer_client.get(f"/api/v1/profiles/{people['Bruno']}/score").json()
    with Session(engine) as session:
        bruno = session.get(Profile, people["Bruno"])
    assert data["computed"] is True and data["score"] == pytest.approx(bruno.score)
    assert [c["name"] for c in data["components"]] == ["reach", "advocacy", "influence"]
    assert sum(c["points"] for c in data["components"]) == pytest.approx(data["score"], abs=0.01)
    total = sum(c["weight"] for c in data["components"])
    for c in data["components"]:
        assert c["points"] == pytest.approx(100 * c["weight"] / total * c["percentile"])
    assert data["rank"] == bruno.score_rank and data["ranked"] == 4 and data["level_name"] == "advocate"
    assert data["next_level"]["level"] == 1 and data["next_level"]["level_name"] == "champion"
    assert data["next_level"]["advocacy_needed"] == pytest.approx(50 - bruno.advocacy, abs=1e-5)
    assert [h["kind"] for h in data["next_level"]["hints"]] == ["forum_answer", "post"]
    assert {p["platform"]: p["counted"] for p in data["reach_parts"]} == {"x": 1200, "discourse": 100}
    assert data["contributions"] == 10 and len(data["drivers"]) == 5 and data["drivers"][0]["kind"] == "talk"
    points = [d["points"] for d in data["drivers"]]
    assert points == sorted(points, reverse=True)
    assert data["run"]["weight_version"] == data["weight_version"] == 1 and data["formula"]
    carla = viewer_client.get(f"/api/v1/profiles/{people['Carla']}/score").json()
    assert {link["name"] for link in carla["links"]} == {"Ana", "Bruno", "Dani", "Eva"}


def test_score_history(manager_client, engine, people):
    service.recompute(engine, as_of=utcnow() + timedelta(minutes=1))
    data = manager_client.get(f"/api/v1/profiles/{people['Bruno']}/score/history").json()
    assert len(data["items"]) == 2
    assert data["items"][0]["as_of"] < data["items"][1]["as_of"]
    assert set(data["items"][0]) == {"as_of", "score", "rank", "level", "reach", "advocacy", "influence"}
