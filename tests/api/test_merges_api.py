"""Merges, duplicates and the per-person export through the JSON API."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import make_profile


def _pair(engine: Engine) -> tuple[int, int]:
    a = make_profile(engine, "Lucía Gómez Marín", identities=[{"platform": "x", "handle": "luciagm"}])
    b = make_profile(engine, "Lucia Gomez", bio="DevOps", identities=[{"platform": "github", "handle": "lgomez"}])
    return a.id or 0, b.id or 0


def test_merge_list_undo_and_export(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    before = manager_client.get(f"/api/v1/profiles/{b}/export").json()
    assert before["profile"]["id"] == b and before["identities"][0]["handle"] == "lgomez"

    dupes = manager_client.get("/api/v1/duplicates").json()
    assert dupes["total"] == 1 and dupes["items"][0]["reasons"] == ["similar name"]

    created = manager_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": b, "choices": {"bio": "merged"}})
    assert created.status_code == 201, created.text
    merge = created.json()
    assert merge["survivor_id"] == a and merge["merged_id"] == b and merge["moved"]["identities"] == 1
    assert manager_client.get(f"/api/v1/profiles/{a}").json()["bio"] == "DevOps"
    assert manager_client.get(f"/api/v1/profiles/{b}").status_code == 404
    listing = manager_client.get("/api/v1/merges").json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == merge["id"]

    undone = manager_client.post(f"/api/v1/merges/{merge['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    after = manager_client.get(f"/api/v1/profiles/{b}/export").json()
    strip = ("exported_at", "audit_events")
    assert {k: v for k, v in after.items() if k not in strip} == {k: v for k, v in before.items() if k not in strip}
    again = manager_client.post(f"/api/v1/merges/{merge['id']}/undo")
    assert again.status_code == 409 and "already undone" in again.json()["detail"]


def test_bad_merges_are_4xx(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    assert manager_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": a}).status_code == 422
    assert manager_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": b,
                                                       "choices": {"bio": "union"}}).status_code == 422
    assert manager_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": b,
                                                       "choices": {"id": "merged"}}).status_code == 422
    assert manager_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": 99999}).status_code == 404
    assert manager_client.post("/api/v1/merges/99999/undo").status_code == 404


def test_viewer_cannot_merge(viewer_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    assert viewer_client.post("/api/v1/merges", json={"survivor_id": a, "merged_id": b}).status_code == 403
    assert viewer_client.get(f"/api/v1/profiles/{a}/export").status_code == 200
