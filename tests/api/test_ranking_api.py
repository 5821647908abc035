"""JSON API for the leaderboards: /api/v1/ranking/leaderboard, rising, slipping, runs, recompute and
its job, on the community of tests/ranking_boards_community.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from crm.db import session_scope
from crm.jobs import service as jobs
from tests import ranking_boards_community as community

ROW_FIELDS = {"position", "profile_id", "name", "roles", "is_team_member", "score", "rank", "level", "level_name",
              "reach", "advocacy", "influence", "period_advocacy"}


@pytest.fixture
def settings(settings):
    """No in-process worker: a queued recompute stays queued until a test runs it."""
    return settings.model_copy(update={"job_worker": False})


@pytest.fixture
def people(engine):
    ids = community.build(engine)
    community.compute_with_history(engine)
    return ids


def test_leaderboard_shape_and_order(viewer_client, people):
    response = viewer_client.get("/api/v1/ranking/leaderboard")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "page", "per_page", "pages", "period", "run_id", "as_of", "weight_version"}
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (4, 1, 50, 1)
    assert body["period"] == "all" and body["weight_version"] == 1 and body["run_id"] and body["as_of"]
    assert [row["name"] for row in body["items"]] == community.ORDER
    ana = body["items"][0]
    assert set(ana) == ROW_FIELDS
    assert ana == {**ana, "position": 1, "profile_id": people["Ana"], "roles": ["influencer"], "is_team_member": False,
                   "score": pytest.approx(60.0), "rank": 1, "level": 1, "level_name": "champion",
                   "reach": 50000.0, "influence": pytest.approx(1.0), "period_advocacy": None}
    assert ana["advocacy"] == pytest.approx(63.0, abs=0.1)


def test_leaderboard_filters_periods_team_and_pages(viewer_client, people):
    def names(query: str) -> list[str]:
        response = viewer_client.get(f"/api/v1/ranking/leaderboard?{query}")
        assert response.status_code == 200, response.text
        return [row["name"] for row in response.json()["items"]]

    assert names("include_team=true") == ["Eva", *community.ORDER]
    assert names("role=evangelist") == ["Bruno"]
    assert names("topic=kubernetes") == ["Ana", "Bruno"]
    assert names("platform=youtube") == ["Carla"]
    assert names("period=30") == ["Ana", "Bruno"]
    period = viewer_client.get("/api/v1/ranking/leaderboard?period=30").json()
    assert period["period"] == "30" and period["items"][1]["period_advocacy"] == pytest.approx(8.94, abs=0.01)
    page = viewer_client.get("/api/v1/ranking/leaderboard?per_page=3&page=2").json()
    assert (page["total"], page["pages"], page["page"]) == (4, 2, 2)
    assert [(row["position"], row["name"]) for row in page["items"]] == [(4, "Dani")]


def test_leaderboard_before_the_first_computation(viewer_client, engine):
    community.build(engine)
    body = viewer_client.get("/api/v1/ranking/leaderboard").json()
    assert body == {"items": [], "total": 0, "page": 1, "per_page": 50, "pages": 1, "period": "all", "run_id": None,
                    "as_of": None, "weight_version": None}
    assert viewer_client.get("/api/v1/ranking/rising").json() == []
    assert viewer_client.get("/api/v1/ranking/runs").json() == []


@pytest.mark.parametrize("query", [
    "role=wizard", "platform=myspace", "period=7", "page=0", "per_page=501", "per_page=0", "include_team=perhaps",
    "topic=" + "x" * 51, "sort=score", "topic=a%00b",
])
def test_leaderboard_bad_parameters_are_422_json(viewer_client, query):
    response = viewer_client.get(f"/api/v1/ranking/leaderboard?{query}")
    assert response.status_code == 422, query
    assert response.headers["content-type"].startswith("application/json") and response.json()["detail"]


def test_rising_and_slipping(viewer_client, people):
    rising = viewer_client.get("/api/v1/ranking/rising").json()
    assert [m["name"] for m in rising] == ["Ana", "Bruno"]
    assert rising[0] == {"profile_id": people["Ana"], "name": "Ana", "level": 1, "level_name": "champion",
                         "before": pytest.approx(22.5), "after": pytest.approx(60.0), "change": pytest.approx(37.5)}
    assert [m["name"] for m in viewer_client.get("/api/v1/ranking/rising?limit=1").json()] == ["Ana"]
    slipping = viewer_client.get("/api/v1/ranking/slipping?days=30&limit=5").json()
    assert [(m["name"], m["level_name"]) for m in slipping] == [("Carla", "advocate")]
    assert slipping[0]["change"] < 0 and slipping[0]["before"] == pytest.approx(45.98, abs=0.01)


@pytest.mark.parametrize("query", ["days=0", "days=3651", "days=soon", "limit=0", "limit=101"])
@pytest.mark.parametrize("path", ["rising", "slipping"])
def test_movers_bounds_are_422(viewer_client, path, query):
    response = viewer_client.get(f"/api/v1/ranking/{path}?{query}")
    assert response.status_code == 422 and response.json()["detail"]


def test_runs_newest_first(viewer_client, people):
    runs = viewer_client.get("/api/v1/ranking/runs").json()
    assert len(runs) == 2 and runs[0]["id"] > runs[1]["id"]
    assert runs[0]["as_of"] > runs[1]["as_of"]
    assert set(runs[0]) == {"id", "weight_version", "as_of", "status", "trigger", "profiles", "edges", "interactions",
                            "iterations", "seconds", "started_at", "finished_at"}
    assert runs[0]["status"] == "done" and runs[0]["profiles"] == 5 and runs[0]["trigger"] == "test"
    assert len(viewer_client.get("/api/v1/ranking/runs?limit=1").json()) == 1
    assert viewer_client.get("/api/v1/ranking/runs?limit=0").status_code == 422
    assert viewer_client.get("/api/v1/ranking/runs?limit=101").status_code == 422


def test_recompute_answers_202_with_the_job_and_queues_only_one(manager_client, engine, people):
    first = manager_client.post("/api/v1/ranking/recompute")
    assert first.status_code == 202
    body = first.json()
    assert body["created"] is True and body["job"]["status"] == "queued"
    job_id = body["job"]["id"]
    assert first.headers["location"] == f"/api/v1/ranking/jobs/{job_id}"
    second = manager_client.post("/api/v1/ranking/recompute")
    assert second.status_code == 202 and second.json()["created"] is False and second.json()["job"]["id"] == job_id
    with session_scope(engine) as session:
        assert [j.id for j in jobs.list_jobs(session=session, kind="rank")] == [job_id]
    # Follow it to the end.
    jobs.run_pending(engine)
    done = manager_client.get(f"/api/v1/ranking/jobs/{job_id}").json()
    assert done["status"] == "done" and done["counts"]["people"] == 5 and done["finished_at"]
    assert len(manager_client.get("/api/v1/ranking/runs").json()) == 3


def test_recompute_is_for_writers(viewer_client, engine):
    response = viewer_client.post("/api/v1/ranking/recompute")
    assert response.status_code == 403 and response.json()["detail"]
    with session_scope(engine) as session:
        assert jobs.list_jobs(session=session, kind="rank") == []


def test_jobs_other_than_recomputes_are_not_found(viewer_client, engine):
    with session_scope(engine, write=True) as session:
        other = jobs.enqueue("import", {}, session=session)
        other_id = other.id
    assert viewer_client.get(f"/api/v1/ranking/jobs/{other_id}").status_code == 404
    assert viewer_client.get("/api/v1/ranking/jobs/0").status_code == 422


def test_the_endpoints_are_in_the_openapi_document(viewer_client):
    paths = viewer_client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("leaderboard", "rising", "slipping", "runs", "recompute", "jobs/{job_id}"):
        assert f"/api/v1/ranking/{path}" in paths
    assert "422" in paths["/api/v1/ranking/leaderboard"]["get"]["responses"]
