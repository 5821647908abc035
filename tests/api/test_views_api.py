"""JSON API: saved views CRUD, exports with the list's filters, bulk changes; 4xx JSON, never 500."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from crm.accounts import service as accounts
from crm.accounts.models import TokenIn, User
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.profiles.models import Profile
from tests.factories import make_profile, make_user, sign_in

VIEW = {"name": "Spanish moderators", "query": {"role": "moderator", "sort": "reach", "order": "desc"},
        "columns": ["reach"]}


@pytest.fixture
def other_client(app, engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    make_user(engine, "other@example.com", role="manager", name="Otto Other")
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, "other@example.com")
        yield other


def test_views_crud(manager_client, engine):
    created = manager_client.post("/api/v1/views", json=VIEW)
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/views/{data['id']}"
    assert {k: data[k] for k in ("name", "shared", "query", "columns")} == {**VIEW, "shared": False}
    assert manager_client.get(f"/api/v1/views/{data['id']}").json() == data
    assert [v["id"] for v in manager_client.get("/api/v1/views").json()] == [data["id"]]

    patched = manager_client.patch(f"/api/v1/views/{data['id']}", json={"name": "Renamed", "shared": True})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed" and patched.json()["shared"] is True
    assert patched.json()["query"] == VIEW["query"]  # not sent, not changed

    assert manager_client.delete(f"/api/v1/views/{data['id']}").status_code == 204
    assert manager_client.get(f"/api/v1/views/{data['id']}").status_code == 404
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "saved_view"))]
    assert actions == ["view.create", "view.update", "view.delete"]


def test_view_errors_are_4xx_json(manager_client):
    assert manager_client.post("/api/v1/views", json=VIEW).status_code == 201
    duplicate = manager_client.post("/api/v1/views", json=VIEW)
    assert duplicate.status_code == 422 and "name" in duplicate.json()["errors"]
    bad_query = manager_client.post("/api/v1/views", json={**VIEW, "name": "x", "query": {"role": "astronaut", "nope": 1}})
    assert bad_query.status_code == 422 and "role" in bad_query.json()["errors"]["query"]
    for body in ({"name": ""}, {"name": "y", "owner_id": 5}, {"name": "y", "id": 1}, {"name": "y", "columns": "name"},
                 {"name": "y", "columns": ["reach", "shoe_size"]}):
        response = manager_client.post("/api/v1/views", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]
    assert manager_client.patch("/api/v1/views/99999", json={"name": "z"}).status_code == 404
    assert manager_client.get("/api/v1/views/99999999999").status_code == 422


def test_viewers_keep_private_views_and_cannot_share(viewer_client):
    assert viewer_client.post("/api/v1/views", json={**VIEW, "shared": True}).status_code == 422
    created = viewer_client.post("/api/v1/views", json=VIEW)
    assert created.status_code == 201
    refused = viewer_client.patch(f"/api/v1/views/{created.json()['id']}", json={"shared": True})
    assert refused.status_code == 422 and "shared" in refused.json()["errors"]


def test_private_views_are_not_visible_to_others(manager_client, other_client):
    private = manager_client.post("/api/v1/views", json=VIEW).json()
    shared = manager_client.post("/api/v1/views", json={**VIEW, "name": "Team", "shared": True}).json()
    assert [v["name"] for v in other_client.get("/api/v1/views").json()] == ["Team"]
    assert other_client.get(f"/api/v1/views/{private['id']}").status_code == 404
    assert other_client.patch(f"/api/v1/views/{private['id']}", json={"name": "mine"}).status_code == 404
    assert other_client.delete(f"/api/v1/views/{private['id']}").status_code == 404
    assert other_client.patch(f"/api/v1/views/{shared['id']}", json={"name": "mine"}).status_code == 403
    assert other_client.delete(f"/api/v1/views/{shared['id']}").status_code == 403
    assert other_client.get(f"/api/v1/exports/people?view={private['id']}").status_code == 404


def _token(engine, email: str) -> str:
    with session_scope(engine, write=True) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return accounts.create_api_token(user, TokenIn(name="t", days=30), session=session, actor=SYSTEM)[1]


def test_export_matches_the_lists_filters(manager_client, engine):
    for n in range(7):
        make_profile(engine, f"Mod {n}", roles=["moderator"], identities=[{"platform": "x", "handle": f"mod{n}", "followers": n}])
    make_profile(engine, "Ivan", roles=["influencer"])
    listed = manager_client.get("/api/v1/profiles", params={"role": "moderator", "per_page": 3}).json()
    exported = manager_client.get("/api/v1/exports/people", params={"role": "moderator", "format": "json",
                                                                    "cols": "reach"})
    assert exported.status_code == 200
    rows = exported.json()
    assert len(rows) == listed["total"] == 7
    assert {r["id"] for r in rows} >= {i["id"] for i in listed["items"]}
    assert set(rows[0]) == {"id", "name", "reach"}
    as_csv = manager_client.get("/api/v1/exports/people", params={"role": "moderator"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert sorted(int(r["id"]) for r in csv.DictReader(io.StringIO(as_csv.text))) == sorted(r["id"] for r in rows)
    assert manager_client.get("/api/v1/exports/people", params={"role": "astronaut"}).status_code == 422
    assert manager_client.get("/api/v1/exports/people", params={"format": "xlsx"}).status_code == 422


def test_export_of_a_view_with_a_bearer_token(manager_client, engine):
    make_profile(engine, "Mora", roles=["moderator"])
    make_profile(engine, "Ivan", roles=["influencer"])
    view = manager_client.post("/api/v1/views", json=VIEW).json()
    token = _token(engine, "manager@example.com")
    anonymous = TestClient(manager_client.app)
    response = anonymous.get(f"/api/v1/exports/people?view={view['id']}&format=json",
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [(r["name"], set(r)) for r in response.json()] == [("Mora", {"id", "name", "reach"})]
    assert anonymous.get("/api/v1/exports/people").status_code == 401


def test_bulk_change_by_api(manager_client, app, engine):
    people = [make_profile(engine, f"P{n}", roles=["moderator"] if n % 2 else []) for n in range(4)]
    body = {"all_matching": True, "query": {"role": "moderator"}, "change": {"action": "add_tag", "tag": "VIP"}}
    response = manager_client.post("/api/v1/bulk/people", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"selected": 2, "changed": 2}
    assert manager_client.post("/api/v1/bulk/people", json=body).json() == {"selected": 2, "changed": 0}
    by_ids = {"ids": [people[0].id], "change": {"action": "set_status", "status": "active"}}
    assert manager_client.post("/api/v1/bulk/people", json=by_ids).json() == {"selected": 1, "changed": 1}

    make_user(engine, "viewer@example.com", role="viewer")
    with TestClient(app, follow_redirects=False) as viewer_client:
        sign_in(viewer_client, "viewer@example.com")
        assert viewer_client.post("/api/v1/bulk/people", json=by_ids).status_code == 403
    bad = manager_client.post("/api/v1/bulk/people", json={"ids": [people[1].id], "change": {"action": "set_owner",
                                                                                              "owner_id": 4242}})
    assert bad.status_code == 422 and "owner_id" in bad.json()["errors"]
    bad_query = manager_client.post("/api/v1/bulk/people", json={**body, "query": {"role": "astronaut"}})
    assert bad_query.status_code == 422
    with Session(engine) as session:
        state = {p.display_name: (p.tags, p.status, p.owner_id) for p in session.exec(select(Profile))}
    assert state == {"P0": ([], "active", None), "P1": (["vip"], "prospect", None), "P2": ([], "prospect", None),
                     "P3": (["vip"], "prospect", None)}
