"""The request's database session and the audit trail's who-and-where, checked through real requests."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent


def test_a_change_is_audited_with_who_did_it_and_from_where(manager_client, engine):
    response = manager_client.post("/people", data={"display_name": "Audited Person", "status": "active"})
    assert response.status_code == 303
    with Session(engine) as session:
        manager = session.exec(select(User).where(User.email == "manager@example.com")).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.profile_create)).one()
    assert event.actor_id == manager.id
    assert event.subject == "manager@example.com"
    assert event.ip == "testclient"  # Starlette's TestClient peer address
    assert event.after and event.after["display_name"] == "Audited Person"


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(app, engine, settings):
    from starlette.testclient import TestClient

    from tests.factories import make_user, sign_in

    settings.trusted_proxies = ["testclient"]
    make_user(engine, "m@example.com")
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "m@example.com")
        client.post("/people", data={"display_name": "Via Proxy", "status": "active"},
                    headers={"X-Forwarded-For": "198.51.100.9, testclient"})
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.profile_create)).one()
    assert event.ip == "198.51.100.9"


def test_write_requests_take_the_write_lock_up_front_and_keep_loaded_objects(app, engine):
    """On SQLite a write request begins IMMEDIATE, so two writers never deadlock upgrading a read
    lock; and objects stay readable after the route commits (it builds its redirect from them)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from starlette.requests import Request

    from crm.deps import get_db

    app.state.engine = engine

    async def session_for(method: str) -> Session:
        request = Request({"type": "http", "method": method, "app": app, "headers": [], "path": "/"})
        generator = get_db(request)
        session = await generator.__anext__()
        await generator.aclose()
        return session

    def run(coroutine):  # in a thread of its own: a browser test may have left a loop running in this one
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    for method in ("POST", "PUT", "PATCH", "DELETE"):
        session = run(session_for(method))
        assert bool(session.get_bind().get_execution_options().get("sqlite_immediate")) is (engine.dialect.name == "sqlite")
        assert session.expire_on_commit is False
    session = run(session_for("GET"))
    assert not session.get_bind().get_execution_options().get("sqlite_immediate")


def test_signing_out_of_an_expired_session_still_ends_it(manager_client, engine, settings):
    """Logout is public: after the session went idle the visitor is anonymous, yet the stale session
    row is ended and the audit line names no one."""
    from datetime import timedelta

    from crm.accounts.models import UserSession
    from crm.db import utcnow, write_bind

    with Session(write_bind(engine)) as session:
        row = session.exec(select(UserSession)).one()
        row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
        session.add(row)
        session.commit()
    token = manager_client.headers["X-CSRF-Token"]
    response = manager_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    with Session(engine) as session:
        assert session.exec(select(UserSession)).one().revoked_at is not None
        event = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.logout)).one()
    assert event.actor_id is None and event.subject == ""


def test_browsers_same_origin_requests_pass_the_origin_check(manager_client):
    """Browsers send Sec-Fetch-Site on every request: same-origin forms and typed-in navigations
    ("none") must go through, same-site and cross-site must not."""
    for site, expected in (("same-origin", 303), ("none", 303), ("same-site", 403), ("cross-site", 403)):
        response = manager_client.post("/people", data={"display_name": f"From {site}", "status": "active"},
                                       headers={"Sec-Fetch-Site": site, "Origin": "http://testserver"})
        assert response.status_code == expected, site
    response = manager_client.post("/people", data={"display_name": "Other port", "status": "active"},
                                   headers={"Origin": "http://testserver:8080"})
    assert response.status_code == 403


def test_multipart_forms_carry_their_csrf_token_and_are_checked_for_nul(manager_client):
    """File-upload forms (imports are coming) post multipart: the token in the form counts, and NUL
    text is refused there too."""
    token = manager_client.headers.pop("X-CSRF-Token")
    fields = {"display_name": (None, "Multipart Person"), "status": (None, "active"), "csrf_token": (None, token)}
    assert manager_client.post("/people", files=fields).status_code == 303
    fields["display_name"] = (None, "Nul\x00Person")
    assert manager_client.post("/people", files=fields).status_code == 422


def test_a_locked_database_is_a_503_to_retry_not_a_500(manager_client, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from crm.profiles import search

    def locked(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(search, "list_profiles", locked)
    monkeypatch.setattr("crm.web.people_list.list_profiles", locked, raising=False)
    monkeypatch.setattr("crm.api.profiles.search_profiles", locked, raising=False)
    api = manager_client.get("/api/v1/profiles")
    assert api.status_code == 503 and "busy" in api.json()["detail"]
    page = manager_client.get("/people")
    assert page.status_code == 503


_BOUNDARY = "x-boundary"
_UPLOAD = (f"--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
           f"display_name\r\nAna\r\n--{_BOUNDARY}--\r\n").encode()
_MULTIPART = {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}


def test_a_role_that_may_not_import_is_refused_before_the_upload_is_read(viewer_client):
    read: list[int] = []

    def chunks():
        for start in range(0, len(_UPLOAD), 16):
            read.append(start)
            yield _UPLOAD[start:start + 16]

    sized = {**_MULTIPART, "Content-Length": str(len(_UPLOAD))}
    assert viewer_client.post("/imports", content=chunks(), headers=sized).status_code == 403
    assert len(read) <= 1  # at most the first chunk was pulled by the client; the server read nothing


def test_uploads_declare_their_length_and_stay_under_the_limit(manager_client):
    def chunks():
        yield _UPLOAD

    assert manager_client.post("/imports", content=chunks(), headers=_MULTIPART).status_code == 411
    too_big = {**_MULTIPART, "Content-Length": str(60 * 1024 * 1024)}
    assert manager_client.post("/api/v1/imports", content=_UPLOAD, headers=too_big).status_code == 413
