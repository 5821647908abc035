"""CSRF, roles, origin checks, headers, hosts, sessions and login limits — enumerated over every route
so that a new route cannot slip past."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm.accounts.models import UserSession
from crm.audit.models import AuditEvent
from crm.deps import Access
from crm.routes_check import walk_routes
from tests.access import EXPECTED_ACCESS
from tests.factories import PASSWORD, csrf_token, make_profile, make_user, sign_in, soup
from tests.routes import all_routes, concrete, endpoints, mutating_routes


def _body_for(path: str) -> dict:
    return {"json": {"display_name": "Someone"}} if path.startswith("/api/") else {"data": {"display_name": "Someone"}}


P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin
ALLOWED = {P: {"anonymous", "viewer", "manager", "admin"}, S: {"viewer", "manager", "admin"},
           W: {"manager", "admin"}, A: {"admin"}}


def test_every_route_declares_the_expected_access(app):
    declared = {(e.method, e.path): e.access for e in endpoints(app)}
    assert declared == EXPECTED_ACCESS


def test_each_role_gets_exactly_what_its_routes_allow(app, engine):
    """Behaviour, not declarations: every route called by an anonymous visitor and by each role."""
    from starlette.testclient import TestClient

    profile = make_profile(engine, "Someone To Edit")
    clients = {"anonymous": TestClient(app, follow_redirects=False)}
    for role in ("admin", "viewer", "manager"):  # the admin is user 1: the user routes below aim at them
        make_user(engine, f"{role}@example.com", role=role)
        clients[role] = TestClient(app, follow_redirects=False)
    for client in clients.values():
        client.__enter__()
    try:
        for role in ("admin", "viewer", "manager"):
            sign_in(clients[role], f"{role}@example.com")
        clients["anonymous"].headers["X-CSRF-Token"] = csrf_token(clients["anonymous"])
        for endpoint in endpoints(app):
            expected = EXPECTED_ACCESS.get((endpoint.method, endpoint.path), Access.admin)  # the table, not the code
            if expected == Access.public:
                continue  # anyone may: nothing to tell apart (and signing out would end the test's sessions)
            path = concrete(endpoint.path, str(profile.id) if "{profile_id}" in endpoint.path else "1")
            for who, client in clients.items():
                response = client.request(endpoint.method, path, **_body_for(endpoint.path))
                allowed = who in ALLOWED[expected]
                where = f"{who} {endpoint.method} {endpoint.path} -> {response.status_code}"
                if allowed:
                    assert response.status_code not in (401, 403), where
                    assert not response.headers.get("location", "").startswith("/login"), where
                elif who == "anonymous":
                    assert response.status_code in (401, 303), where
                    if response.status_code == 303:
                        assert response.headers["location"].startswith("/login?next="), where
                else:
                    assert response.status_code == 403, where
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


def test_the_route_walker_refuses_what_it_does_not_understand(settings):
    """A write mounted with app.mount(), a bare Starlette route, a route declaring no access or a
    second static mount: each stops the app from being built and the security tests from running."""
    from fastapi import APIRouter
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import PlainTextResponse

    from crm.app import create_app
    from crm.routes_check import UnreviewedRoute, check_routes

    async def anything(scope, receive, send):  # a raw ASGI app that would accept any POST
        await PlainTextResponse("ok")(scope, receive, send)

    app = create_app(settings)
    app.mount("/hooks", anything)
    with pytest.raises(UnreviewedRoute, match="/hooks"):
        list(walk_routes(app))

    app = create_app(settings)
    app.add_route("/raw", lambda request: PlainTextResponse("ok"), methods=["POST"])
    with pytest.raises(UnreviewedRoute, match="/raw"):
        check_routes(app)

    app = create_app(settings)
    router = APIRouter()
    router.add_api_route("/undeclared", lambda: {"ok": True}, methods=["POST"])
    app.include_router(router)
    with pytest.raises(UnreviewedRoute, match="/undeclared does not declare"):
        check_routes(app)

    app = create_app(settings)
    app.mount("/uploads", StaticFiles(directory=str(settings.data_dir), check_dir=False))
    with pytest.raises(UnreviewedRoute, match="/uploads"):
        check_routes(app)


def test_every_mutating_route_refuses_a_request_without_csrf_token(admin_client, app, engine):
    make_profile(engine, "Target Person")
    admin_client.headers.pop("X-CSRF-Token")
    for method, path in mutating_routes(app):
        response = admin_client.request(method, concrete(path), **_body_for(path))
        assert response.status_code == 403, f"{method} {path} answered {response.status_code} without a CSRF token"


def test_every_mutating_route_refuses_a_wrong_csrf_token(admin_client, app):
    admin_client.headers["X-CSRF-Token"] = "0" * 64
    for method, path in mutating_routes(app):
        response = admin_client.request(method, concrete(path), **_body_for(path))
        assert response.status_code == 403, f"{method} {path} accepted a forged CSRF token"


def test_every_mutating_route_refuses_a_cross_site_request(admin_client, app):
    for method, path in mutating_routes(app):
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            response = admin_client.request(method, concrete(path), headers=headers, **_body_for(path))
            assert response.status_code == 403, f"{method} {path} accepted {headers}"


def test_signed_out_visitors_are_sent_to_login_from_every_page(client, app):
    for method, path in all_routes(app):
        if method != "GET" or path in ("/login", "/static") or EXPECTED_ACCESS.get((method, path)) == Access.public:
            continue  # public pages (the opt-in public leaderboard and cards) answer without sign-in
        response = client.get(concrete(path))
        if path.startswith("/api/v1/"):
            assert response.status_code == 401, path
            assert response.json()["detail"]
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")


def test_viewer_can_read(viewer_client, engine):
    profile = make_profile(engine, "Readable Person")
    assert viewer_client.get("/people").status_code == 200
    page = soup(viewer_client.get(f"/people/{profile.id}"))
    assert page.select_one("h1").get_text(" ", strip=True).startswith("Readable Person")
    assert page.select_one("a[href$='/edit']") is None


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "HX-Request" in response.headers["vary"]


def test_pages_have_no_inline_script_or_style(admin_client, engine):
    profile = make_profile(engine, "Styled Person")
    for path in ("/", "/people", f"/people/{profile.id}", f"/people/{profile.id}/edit", "/people/new", "/settings"):
        page = soup(admin_client.get(path))
        assert all(tag.get("src") for tag in page.select("script")), f"inline script on {path}"
        assert not page.select("[style]"), f"inline style attribute on {path}"
        assert not page.select("style"), f"style element on {path}"


def test_unknown_host_is_refused(client):
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_next_redirect_stays_on_site(client, engine, target):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    response = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_next_redirect_keeps_on_site_path(client, engine):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    data = {"email": "m@example.com", "password": PASSWORD, "csrf_token": token, "next": "/people?q=ana"}
    response = client.post("/login", data=data)
    assert response.headers["location"] == "/people?q=ana"


def test_wrong_password_keeps_the_email_and_says_why(client, engine):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    response = client.post("/login", data={"email": "m@example.com", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    page = soup(response)
    assert page.select_one("input[name=email]")["value"] == "m@example.com"
    assert "do not match" in page.select_one("[role=alert]").get_text()


def test_login_is_rate_limited_per_account(client, engine):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    for _ in range(5):
        r = client.post("/login", data={"email": "m@example.com", "password": "wrong", "csrf_token": token})
        assert r.status_code == 401
    # Even the right password is refused while the account is throttled.
    r = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert "Too many failed logins" in soup(r).select_one("[role=alert]").get_text()


def test_spoofed_forwarded_for_does_not_reset_the_ip_limit(client, engine, settings):
    settings.login_ip_max_failures = 3
    token = csrf_token(client)
    for n in range(3):
        r = client.post("/login", data={"email": f"u{n}@example.com", "password": "x", "csrf_token": token},
                        headers={"X-Forwarded-For": f"10.0.0.{n}"})
        assert r.status_code == 401
    r = client.post("/login", data={"email": "other@example.com", "password": "x", "csrf_token": token},
                    headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status_code == 429


def test_logins_and_failures_are_audited(client, engine):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    client.post("/login", data={"email": "m@example.com", "password": "wrong", "csrf_token": token})
    client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token})
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["login.failed", "login.succeeded"]


def test_logout_revokes_the_server_side_session(manager_client, engine):
    cookie = manager_client.cookies.get("crm_session")
    assert manager_client.post("/logout").status_code == 303
    with Session(engine) as session:
        rows = session.exec(select(UserSession)).all()
        assert rows and all(row.revoked_at is not None for row in rows)
    # Replaying the old cookie does not get back in.
    manager_client.cookies.set("crm_session", cookie)
    assert manager_client.get("/people").status_code == 303


def test_idle_session_expires(manager_client, engine, settings):
    from datetime import timedelta

    from crm.db import utcnow, write_bind

    with Session(write_bind(engine)) as session:
        for row in session.exec(select(UserSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
            session.add(row)
        session.commit()
    assert manager_client.get("/people").status_code == 303


def test_deactivated_user_is_signed_out(admin_client, engine):
    other = make_user(engine, "leaver@example.com", role="manager")
    from starlette.testclient import TestClient

    with TestClient(admin_client.app, follow_redirects=False) as leaver:
        sign_in(leaver, "leaver@example.com")
        assert leaver.get("/people").status_code == 200
        r = admin_client.post(f"/settings/users/{other.id}/active", data={"active": "false"})
        assert r.status_code == 303
        assert leaver.get("/people").status_code == 303


def test_viewer_gets_403_on_pages_that_only_lead_to_a_change(viewer_client, engine):
    profile = make_profile(engine, "Someone")
    for path in ("/people/new", f"/people/{profile.id}/edit", f"/people/{profile.id}/delete", "/people/identity-row"):
        response = viewer_client.get(path)
        assert response.status_code == 403, path
        assert soup(response).select_one(".error-code").get_text() == "403"


def test_htmx_error_pages_replace_main_not_the_asking_element(viewer_client):
    response = viewer_client.get("/people/new", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers["HX-Reselect"] == "#main"
    assert response.headers["HX-Reswap"] == "outerHTML"


def test_ids_beyond_the_database_range_and_nul_text_are_4xx_pages(manager_client):
    response = manager_client.get("/people/99999999999999999999")
    assert response.status_code == 422
    assert soup(response).select_one(".error-code").get_text() == "422"
    response = manager_client.post("/people", data={"display_name": "a\x00b", "status": "active"})
    assert response.status_code == 422
    assert "NUL" in soup(response).select_one("main").get_text()
    assert manager_client.get("/people?q=a%00b").status_code == 200


def test_api_mutation_without_credentials_is_401_not_a_csrf_error(client):
    response = client.post("/api/v1/profiles", json={"display_name": "x"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Sign in or send an API token."


def test_a_change_after_a_quiet_minute_refreshes_the_session_without_locking_itself(manager_client, engine):
    """The session's last_seen is refreshed at most once a minute. On SQLite a write request holds the
    write lock, so the refresh must not wait for a second connection (that would stall for the busy
    timeout and then fail)."""
    import time
    from datetime import timedelta

    from crm.db import utcnow, write_bind

    with Session(write_bind(engine)) as session:
        for row in session.exec(select(UserSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=5)
            session.add(row)
        session.commit()
    started = time.monotonic()
    response = manager_client.post("/people", data={"display_name": "After a coffee", "status": "active"})
    assert response.status_code == 303
    assert time.monotonic() - started < 5
    with Session(engine) as session:
        assert all(utcnow() - row.last_seen_at < timedelta(minutes=1) for row in session.exec(select(UserSession)))


def test_session_ends_at_its_absolute_lifetime_even_when_active(manager_client, engine, settings):
    from datetime import timedelta

    from crm.db import utcnow, write_bind

    with Session(write_bind(engine)) as session:
        row = session.exec(select(UserSession)).one()
        assert row.expires_at - row.created_at == timedelta(hours=settings.session_absolute_hours)
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert manager_client.get("/people").status_code == 303
