"""JSON API for imports: upload and start (multipart), follow the job, read rejected rows; limits,
roles and bad options answered with JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.audit.models import AuditEvent
from crm.interactions.models import Interaction
from crm.jobs import service as jobs
from crm.profiles.models import Identity, Profile

INTERACTIONS = (
    b"id;author;network;type;date;title;likes\n"
    b"a1;ana;github;post;2026-03-04T10:00:00+01:00;First;3\n"
    b"a2;ana;github;reply;04/03/2026 12:00;Second;x\n"  # engagements not a number
    b"a3;ben;github;talk;2026-03-05;Third;1\n"
    b"a1;ana;github;post;2026-03-04T10:00:00+01:00;First;3\n"  # a duplicate of line 2
    b"a4;cy;myspace;post;2026-03-06;Fourth;0\n"  # unknown platform
)
MAPPING = {"external_id": "id", "person_handle": "author", "person_platform": "network", "kind": "type",
           "occurred_at": "date", "title": "title", "engagements": "likes"}


def _start(client: Any, content: bytes = INTERACTIONS, *, name: str = "events.csv", **fields: Any) -> Any:
    data = {"entity": "interactions", "source": "api-test", "mapping": json.dumps(MAPPING), **fields}
    return client.post("/api/v1/imports", data=data, files={"file": (name, content, "text/csv")})


def _finished(client: Any, job_id: int) -> dict[str, Any]:
    engine = client.app.state.engine
    if engine.dialect.name == "postgresql":  # no in-process worker there: run what is queued, as `crm worker` would
        jobs.run_pending(engine)
    for _ in range(200):
        status = client.get(f"/api/v1/imports/{job_id}")
        assert status.status_code == 200
        if status.json()["status"] in ("done", "failed"):
            return dict(status.json())
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _count(engine: Any, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_upload_start_follow_and_read_the_rejections(manager_client, engine):
    started = _start(manager_client)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["status"] == "queued" and body["title"] == "events.csv (interactions, api-test)"
    done = _finished(manager_client, body["id"])
    assert done["status"] == "done" and done["error"] == "" and done["finished_at"] is not None
    assert done["counts"] == {"rows": 5, "created": 2, "updated": 0, "skipped": 0, "rejected": 3, "people_created": 2}
    assert "validated" not in done["counts"]
    assert (done["progress"], done["total"]) == (2, 2)
    rejections = manager_client.get(f"/api/v1/imports/{body['id']}/rejections")
    assert rejections.status_code == 200
    rows = rejections.json()
    assert [r["line"] for r in rows] == [3, 5, 6]
    assert rows[0]["reason"].startswith("engagements 'x'") and "a2" in rows[0]["raw"]
    assert rows[1]["reason"] == "Duplicate of line 2." and "id=a1" in rows[1]["raw"]
    assert "myspace" in rows[2]["reason"]
    assert _count(engine, Interaction) == 2 and _count(engine, Profile) == 2 and _count(engine, Identity) == 2
    listed = manager_client.get("/api/v1/imports").json()
    assert [j["id"] for j in listed] == [body["id"]]
    # The same file again: nothing new, every row accounted for.
    again = _finished(manager_client, _start(manager_client).json()["id"])
    assert again["counts"]["created"] == 0 and again["counts"]["skipped"] == 2 and again["counts"]["rejected"] == 3
    assert _count(engine, Interaction) == 2 and _count(engine, Profile) == 2


def test_start_and_finish_are_audited_with_the_user(manager_client, engine):
    job_id = _start(manager_client).json()["id"]
    _finished(manager_client, job_id)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.object_type == "job")  # type: ignore[call-overload]
                               .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.object_id, e.subject) for e in events] == [
        ("import.start", job_id, "manager@example.com"), ("import.finish", job_id, "manager@example.com")]
    assert events[1].actor_id == events[0].actor_id is not None
    assert events[1].after["status"] == "done" and events[1].after["counts"]["rejected"] == 3


def test_all_or_nothing_writes_nothing_and_says_why(manager_client, engine):
    job_id = _start(manager_client, all_or_nothing="true").json()["id"]
    done = _finished(manager_client, job_id)
    assert done["status"] == "failed" and "nothing was imported" in done["error"]
    assert _count(engine, Interaction) == 0 and _count(engine, Profile) == 0


def test_a_real_format_with_its_default_source(manager_client, engine):
    posts = {"data": [{"id": "1", "text": "hola", "author_id": "7", "created_at": "2026-02-01T10:00:00.000Z",
                       "public_metrics": {"like_count": 2, "retweet_count": 1, "reply_count": 0, "quote_count": 0,
                                          "impression_count": 40}}],
             "includes": {"users": [{"id": "7", "username": "ana_x", "name": "Ana"}]}}
    started = manager_client.post("/api/v1/imports", data={"format": "x_posts"},
                                  files={"file": ("posts.json", json.dumps(posts).encode(), "application/json")})
    assert started.status_code == 202, started.text
    assert started.json()["title"] == "posts.json (interactions, x)"
    done = _finished(manager_client, started.json()["id"])
    assert done["counts"]["created"] == 1 and done["counts"]["people_created"] == 1
    with Session(engine) as session:
        interaction = session.exec(select(Interaction)).scalars().one()  # type: ignore[call-overload]
    assert (interaction.source, interaction.reach, interaction.engagements) == ("x", 40, 3)


def test_a_file_that_cannot_be_read_fails_the_job_with_the_reason(manager_client):
    started = _start(manager_client, b"\x00\x01\x02binary", name="x.csv", mapping="")
    done = _finished(manager_client, started.json()["id"])
    assert done["status"] == "failed" and "not a text file" in done["error"]


def test_a_file_over_the_limit_gets_413_json(manager_client, engine):
    app = manager_client.app
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 4096})
    # Content-Length within the slack: read up to the limit, then refused.
    response = _start(manager_client, b"id,kind\n" + b"1,post\n" * 2000)
    assert response.status_code == 413 and "larger than the import limit" in response.json()["detail"]
    # Far over: refused from the Content-Length alone.
    response = _start(manager_client, b"id,kind\n" + b"1,post\n" * 20_000)
    assert response.status_code == 413 and response.headers["content-type"].startswith("application/json")
    assert _count(engine, Interaction) == 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM import_upload").scalar_one() == 0


@pytest.mark.parametrize(("fields", "field"), [
    ({"entity": "planets"}, "entity"),
    ({"mode": "overwrite_everything"}, "mode"),
    ({"format": "myspace_dump"}, "format"),
    ({"mapping": "{not json"}, "mapping"),
    ({"mapping": json.dumps({"external_id": "id", "favourite_colour": "colour"})}, "mapping"),
    ({"mapping": json.dumps(["a", "b"])}, "mapping"),
    ({"source": "s" * 51}, "source"),
])
def test_bad_options_get_422_json(manager_client, engine, fields, field):
    response = _start(manager_client, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    assert field in json.dumps(body["errors"])
    assert _count(engine, Interaction) == 0


def test_a_missing_file_gets_422_json(manager_client):
    response = manager_client.post("/api/v1/imports", data={"entity": "interactions"})
    assert response.status_code == 422 and "file" in json.dumps(response.json()["errors"])


def test_unknown_import_is_404_json(manager_client):
    for path in ("/api/v1/imports/999", "/api/v1/imports/999/rejections"):
        response = manager_client.get(path)
        assert response.status_code == 404 and response.json()["detail"]


def test_anonymous_callers_get_401(client):
    assert _start(client).status_code == 401
    for path in ("/api/v1/imports", "/api/v1/imports/1", "/api/v1/imports/1/rejections"):
        response = client.get(path)
        assert response.status_code == 401 and response.json()["detail"]


def test_viewers_may_follow_imports_but_not_start_them(viewer_client, engine):
    response = _start(viewer_client)
    assert response.status_code == 403 and response.json()["detail"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM import_upload").scalar_one() == 0
    assert viewer_client.get("/api/v1/imports").status_code == 200


def test_viewers_read_a_managers_import(client, engine):
    from tests.factories import make_user, sign_in

    make_user(engine, "m@example.com", role="manager")
    make_user(engine, "v@example.com", role="viewer")
    sign_in(client, "m@example.com")
    job_id = _start(client).json()["id"]
    _finished(client, job_id)
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")
    sign_in(client, "v@example.com")
    assert client.get(f"/api/v1/imports/{job_id}").json()["status"] == "done"
    assert [r["line"] for r in client.get(f"/api/v1/imports/{job_id}/rejections").json()] == [3, 5, 6]


def test_admins_may_start_imports(admin_client):
    assert _start(admin_client).status_code == 202
