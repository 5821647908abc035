"""CSRF, roles, origin checks, headers, hosts, sessions and login limits — enumerated over every route
so that a new route cannot slip past."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm.accounts.models import UserSession
from crm.audit.models import AuditEvent
from crm.deps import OPEN_MUTATIONS
from tests.factories import PASSWORD, csrf_token, make_profile, make_user, sign_in, soup
from tests.routes import all_routes, concrete, mutating_routes


def _body_for(path: str) -> dict:
    return {"json": {"display_name": "Someone"}} if path.startswith("/api/") else {"data": {"display_name": "Someone"}}


def test_the_app_has_mutating_routes_to_check(app):
    routes = mutating_routes(app)
    assert ("POST", "/people") in routes
    assert ("DELETE", "/api/v1/profiles/{profile_id}") in routes
    assert len(routes) >= 10


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


def test_a_viewer_gets_403_on_every_mutating_route(viewer_client, app, engine):
    profile = make_profile(engine, "Untouchable")
    for method, path in mutating_routes(app):
        if path in OPEN_MUTATIONS:
            continue
        response = viewer_client.request(method, concrete(path, str(profile.id)), **_body_for(path))
        assert response.status_code == 403, f"viewer got {response.status_code} on {method} {path}"
    with Session(engine) as session:
        assert session.get(type(profile), profile.id).display_name == "Untouchable"


def test_signed_out_visitors_are_sent_to_login_from_every_page(client, app):
    for method, path in all_routes(app):
        if method != "GET" or path in ("/login", "/api/docs", "/api/v1/openapi.json"):
            continue
        response = client.get(concrete(path))
        if path.startswith("/api/"):
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
