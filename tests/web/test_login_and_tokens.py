"""Signing in under pressure, API tokens that stay where they belong, bounded input from strangers,
and the secrets on disk. Each test here reproduces an attack or a failure seen on a running demo."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from crm.accounts import service as accounts
from crm.accounts.models import ApiToken, LoginAttempt, TokenIn, User
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.errors import AuthenticationFailed, RateLimited
from crm.security import PasswordCheckBusy
from crm.settings import InsecureSecret, Settings
from tests.factories import PASSWORD, csrf_token, make_profile, make_user, sign_in, soup

POLICY = accounts.SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(days=1))


def _limits(pair: int = 5, account: int = 50, address: int = 20) -> accounts.LoginLimits:
    return accounts.LoginLimits(per_account_and_address=pair, per_account=account, per_address=address, window_minutes=15)


def _login(engine, email: str, password: str, ip: str = "203.0.113.7", limits: accounts.LoginLimits | None = None):
    return accounts.login(email, password, transaction=lambda: session_scope(engine, write=True), ip=ip, user_agent="t",
                          limits=limits or _limits(), policy=POLICY)


def _count(engine, model, *where) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


# ---- login limits ------------------------------------------------------------------------------


def test_fifty_parallel_wrong_passwords_get_exactly_five_checks(engine):
    """Count-then-insert let 24 of 50 parallel tries through on PostgreSQL: the reservation is atomic."""
    make_user(engine, "target@example.com")
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(_: int) -> None:
        try:
            _login(engine, "target@example.com", "wrong password")
            result = "signed in"
        except RateLimited:
            result = "throttled"
        except AuthenticationFailed:
            result = "checked"
        except PasswordCheckBusy:  # the queue for password work was full: turned away before anything
            result = "busy"
        with lock:
            outcomes.append(result)

    with ThreadPoolExecutor(max_workers=25) as pool:
        list(pool.map(attempt, range(50)))
    assert outcomes.count("checked") == 5
    assert outcomes.count("throttled") + outcomes.count("busy") == 45 and outcomes.count("throttled") >= 1
    assert _count(engine, LoginAttempt) == 5
    assert _count(engine, AuditEvent, AuditEvent.action == AuditAction.login_failed) == 5
    # One line a minute per account and address tells the story; a flood must not grow the log.
    assert _count(engine, AuditEvent, AuditEvent.action == AuditAction.login_throttled) == 1


def test_a_stranger_cannot_lock_the_admin_out_from_their_own_address(engine):
    make_user(engine, "admin@example.com", role="admin")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            _login(engine, "admin@example.com", "guess", ip="198.51.100.66")
    with pytest.raises(RateLimited):  # the stranger's address is throttled for this account...
        _login(engine, "admin@example.com", PASSWORD, ip="198.51.100.66")
    user, token = _login(engine, "admin@example.com", PASSWORD, ip="203.0.113.7")  # ...the admin's is not
    assert user.email == "admin@example.com" and token


def test_the_looser_per_account_limit_holds_across_addresses(engine):
    make_user(engine, "target@example.com")
    limits = _limits(pair=5, account=8, address=100)
    for n in range(8):
        with pytest.raises(AuthenticationFailed):
            _login(engine, "target@example.com", "guess", ip=f"198.51.100.{n}", limits=limits)
    with pytest.raises(RateLimited):
        _login(engine, "target@example.com", PASSWORD, ip="203.0.113.99", limits=limits)


def test_the_per_address_limit_holds_across_accounts(engine):
    limits = _limits(pair=5, account=50, address=20)
    for n in range(20):
        with pytest.raises(AuthenticationFailed):
            _login(engine, f"user{n}@example.com", "guess", ip="198.51.100.1", limits=limits)
    with pytest.raises(RateLimited):
        _login(engine, "another@example.com", "guess", ip="198.51.100.1", limits=limits)


def test_the_default_limits_are_the_documented_ones():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.login_max_failures, settings.login_account_max_failures, settings.login_ip_max_failures) == (5, 50, 20)
    assert settings.login_window_minutes == 15


def test_a_success_does_not_count_as_a_failure(engine):
    make_user(engine, "m@example.com")
    for _ in range(10):
        _login(engine, "m@example.com", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        _login(engine, "m@example.com", "wrong")


def test_the_password_check_holds_no_write_lock(engine, monkeypatch):
    """On SQLite, Argon2 inside the login's write transaction stalled every other writer.
    While the password is being checked, another connection must be able to write at once."""
    make_user(engine, "m@example.com")
    wrote: list[bool] = []
    real_verify = accounts.verify_password

    def verify_while_someone_writes(password, password_hash):
        other = create_engine(engine.url, connect_args={"timeout": 0.5} if engine.dialect.name == "sqlite" else {})
        with other.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=500")
            conn.execute(text("UPDATE \"user\" SET name = 'Written meanwhile'"))
        other.dispose()
        wrote.append(True)
        return real_verify(password, password_hash)

    monkeypatch.setattr(accounts, "verify_password", verify_while_someone_writes)
    _login(engine, "m@example.com", PASSWORD)
    assert wrote == [True]


def test_a_huge_email_is_stored_truncated(client, engine):
    """A failed login stored the typed e-mail whole (40 requests grew the database by 78 MB; on
    PostgreSQL it was a 500 that was never counted)."""
    token = csrf_token(client)
    huge = "a" * 200_000 + "@example.com"
    response = client.post("/login", data={"email": huge, "password": "x", "csrf_token": token})
    assert response.status_code == 401
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.login_failed)).one()
        attempt = session.exec(select(LoginAttempt)).one()
    assert len(event.subject) <= 254 and len(attempt.email) <= 254
    assert len(response.text) < 50_000  # the form does not echo 200 kB back either


# ---- the request body limit ----------------------------------------------------------------------


def test_an_oversized_body_gets_413_before_it_is_read(client, settings):
    """A 300 MB anonymous JSON body used to be read in full before the 401."""
    chunks_read = 0

    def body():
        nonlocal chunks_read
        for _ in range(300):
            chunks_read += 1
            yield b"x" * (1024 * 1024)

    response = client.post("/api/v1/profiles", content=body(), headers={"Content-Type": "application/json",
                                                                          "Content-Length": str(300 * 1024 * 1024)})
    assert response.status_code == 413
    assert chunks_read <= 2  # refused from the Content-Length, not after reading


def test_an_oversized_chunked_body_is_cut_off(client, settings):
    def body():
        for _ in range(5):
            yield b"x" * (settings.max_body_bytes // 2)

    response = client.post("/login", content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_a_body_under_the_limit_is_fine(manager_client):
    response = manager_client.post("/api/v1/profiles", json={"display_name": "Fits", "bio": "b" * 4000})
    assert response.status_code == 201


# ---- bearer tokens -------------------------------------------------------------------------------


def _token_for(engine, email: str, role: str = "manager", days: int = 30) -> str:
    user = make_user(engine, email, role=role)
    with session_scope(engine, write=True) as session:
        _, raw = accounts.create_api_token(session.get(User, user.id), TokenIn(name="t", days=days), session=session,
                                           actor=SYSTEM)
    return raw


@pytest.mark.parametrize("method,path,data", [
    ("POST", "/people", {"display_name": "Made with a token"}),
    ("POST", "/settings/tokens", {"name": "forever", "days": "3650"}),
    ("POST", "/settings/password", {"current_password": "x", "new_password": "y" * 12, "confirm_password": "y" * 12}),
    ("POST", "/settings/sessions/revoke-others", {}),
    ("GET", "/settings", None),
])
def test_a_bearer_token_does_not_open_html_pages(client, engine, method, path, data):
    """A token drove every HTML form without CSRF, and a short-lived one could mint one that never expires."""
    raw = _token_for(engine, "robot@example.com")
    response = client.request(method, path, data=data, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (303, 401, 403)
    assert response.status_code < 500
    with Session(engine) as session:
        assert len(session.exec(select(ApiToken)).all()) == 1
        assert session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_([AuditAction.profile_create, AuditAction.user_password]))).one() == 0


def test_a_bearer_token_still_works_on_the_api(client, engine):
    raw = _token_for(engine, "robot@example.com")
    response = client.post("/api/v1/profiles", json={"display_name": "Via API"}, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 201


def test_tokens_are_revoked_when_the_password_changes(manager_client, engine):
    with session_scope(engine, write=True) as session:
        user = session.exec(select(User).where(User.email == "manager@example.com")).one()
        _, raw = accounts.create_api_token(user, TokenIn(name="t", days=30), session=session, actor=SYSTEM)
    headers = {"Authorization": f"Bearer {raw}"}
    assert manager_client.get("/api/v1/profiles", headers=headers).status_code == 200
    response = manager_client.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": "a brand new secret", "confirm_password": "a brand new secret"})
    assert response.status_code == 303
    assert manager_client.get("/api/v1/profiles", headers=headers).status_code == 401


def test_tokens_stay_revoked_after_deactivation_and_reactivation(admin_client, engine):
    raw = _token_for(engine, "leaver@example.com")
    headers = {"Authorization": f"Bearer {raw}"}
    with Session(engine) as session:
        leaver = session.exec(select(User).where(User.email == "leaver@example.com")).one()
    assert admin_client.get("/api/v1/profiles", headers=headers).status_code == 200
    assert admin_client.post(f"/settings/users/{leaver.id}/active", data={"active": "false"}).status_code == 303
    assert admin_client.post(f"/settings/users/{leaver.id}/active", data={"active": "true"}).status_code == 303
    assert admin_client.get("/api/v1/profiles", headers=headers).status_code == 401


def test_viewers_look_after_their_own_account(viewer_client, engine):
    """Viewers got 403 on their own password, tokens and sessions although Settings offered the forms."""
    assert viewer_client.post("/settings/tokens", data={"name": "mine", "days": "30"}).status_code == 303
    with Session(engine) as session:
        token = session.exec(select(ApiToken)).one()
    assert viewer_client.post(f"/settings/tokens/{token.id}/revoke").status_code == 303
    assert viewer_client.post("/settings/sessions/revoke-others").status_code == 303
    response = viewer_client.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": "a brand new secret", "confirm_password": "a brand new secret"})
    assert response.status_code == 303
    with Session(engine) as session:
        assert session.exec(select(User).where(User.email == "viewer@example.com")).one().password_hash != ""


# ---- CSRF bound to the session ------------------------------------------------------------------


def test_the_csrf_token_changes_at_login_and_the_old_one_stops_working(client, engine):
    make_user(engine, "m@example.com")
    before = csrf_token(client)
    response = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 303
    after = csrf_token(client, "/settings")
    assert after != before
    refused = client.post("/people", data={"display_name": "x", "csrf_token": before})
    assert refused.status_code == 403
    accepted = client.post("/people", data={"display_name": "Made after login", "status": "active", "csrf_token": after})
    assert accepted.status_code == 303


def test_a_csrf_token_from_another_session_is_refused(app, engine):
    from starlette.testclient import TestClient

    make_user(engine, "a@example.com")
    make_user(engine, "b@example.com")
    with TestClient(app, follow_redirects=False) as a, TestClient(app, follow_redirects=False) as b:
        token_a = sign_in(a, "a@example.com")
        sign_in(b, "b@example.com")
        b.headers["X-CSRF-Token"] = token_a
        assert b.post("/people", data={"display_name": "x"}).status_code == 403


# ---- no 500s from odd input --------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/people\r\nSet-Cookie: x=1", "/people?q=caf\u00e9", "/people/\u2603", "/%0d%0aX: y"])
def test_next_with_control_or_non_ascii_characters_is_safe_on_htmx(client, engine, target):
    make_user(engine, "m@example.com")
    token = csrf_token(client)
    response = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token, "next": target},
                           headers={"HX-Request": "true"})
    assert response.status_code == 204
    location = response.headers["HX-Redirect"]
    assert location.isascii() and "\r" not in location and "\n" not in location and location.startswith("/")
    assert "x=1" not in response.headers.get("set-cookie", "") and "x" not in response.headers


def test_the_login_page_keeps_a_next_with_non_ascii_characters(client):
    page = soup(client.get("/login?next=/people%3Fq%3Dcaf%C3%A9"))
    assert page.select_one("input[name=next]")["value"] == "/people?q=café"


# ---- secrets and files on disk ------------------------------------------------------------------


def test_a_generated_secret_key_is_private_and_kept(tmp_path):
    data = tmp_path / "data"
    first = Settings(_env_file=None, data_dir=data).effective_secret_key  # type: ignore[call-arg]
    second = Settings(_env_file=None, data_dir=data).effective_secret_key  # type: ignore[call-arg]
    assert first == second and len(first) >= 32
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert not [p for p in data.iterdir() if p.name.startswith(".secret-")]  # no temporary file left behind


def test_workers_starting_together_agree_on_one_key(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: Settings(_env_file=None, data_dir=data).effective_secret_key, range(16)))  # type: ignore[call-arg]
    assert len(keys) == 1


@pytest.mark.parametrize("content", ["", "\n", "short-key"])
def test_an_empty_or_short_key_file_is_refused(tmp_path, content):
    """An empty key file was accepted, and with it anyone could forge CSRF tokens."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text(content)
    with pytest.raises(InsecureSecret, match="at least 32"):
        Settings(_env_file=None, data_dir=data).effective_secret_key  # type: ignore[call-arg]  # noqa: B018


def test_a_short_configured_key_is_refused():
    with pytest.raises(ValueError, match="at least 32"):
        Settings(_env_file=None, secret_key="too-short")  # type: ignore[call-arg]


def test_the_database_file_is_private(tmp_path):
    data = tmp_path / "data"
    url = Settings(_env_file=None, data_dir=data).effective_database_url  # type: ignore[call-arg]
    assert url.startswith("sqlite:///")
    assert stat.S_IMODE((data / "altavoz.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_unique_constraint_races_answer_409_not_500(manager_client, engine, monkeypatch):
    """Services check for duplicates first, but only the database's constraints hold under a race:
    simulate losing it by making the service's own check miss."""
    from crm.profiles import service as profiles_service

    make_profile(engine, "First", identities=[{"platform": "x", "handle": "@same"}])
    monkeypatch.setattr(profiles_service, "_check_identities", lambda *a, **k: None)  # raises if it moved
    response = manager_client.post("/api/v1/profiles", json={"display_name": "Second", "identities": [
        {"platform": "x", "handle": "same"}]})
    assert response.status_code == 409
    assert response.json()["detail"]


# ---- races and floods found by attacking a running demo ------------------------------------------


def test_a_login_with_the_old_password_during_a_change_gets_no_session(engine, monkeypatch):
    """The hash is read, then checked without a lock: if the password changes meanwhile, the old one
    must not open a session that outlives the change."""
    from crm.security import hash_password

    make_user(engine, "m@example.com")
    real_verify = accounts.verify_password

    def verify_while_the_password_changes(password, password_hash):
        with session_scope(engine, write=True) as session:
            user = session.exec(select(User).where(User.email == "m@example.com")).one()
            user.password_hash = hash_password("a brand new secret")
        return real_verify(password, password_hash)

    monkeypatch.setattr(accounts, "verify_password", verify_while_the_password_changes)
    with pytest.raises(AuthenticationFailed):
        _login(engine, "m@example.com", PASSWORD)
    from crm.accounts.models import UserSession

    assert _count(engine, UserSession) == 0


def test_no_token_for_a_signed_out_session_or_a_deactivated_account(engine):
    """A token request authenticated just before a password change or a deactivation must not
    mint a token after it: the write re-checks the account and the asking session."""
    from crm.accounts.models import UserSession
    from crm.errors import PermissionDenied

    make_user(engine, "m@example.com")
    _, raw_session = _login(engine, "m@example.com", PASSWORD)
    with session_scope(engine, write=True) as session:
        user = session.exec(select(User).where(User.email == "m@example.com")).one()
        row = session.exec(select(UserSession)).one()
        accounts.revoke_sessions(user.id, session=session)
    with session_scope(engine, write=True) as session, pytest.raises(AuthenticationFailed):
        accounts.create_api_token(user, TokenIn(name="late", days=30), session=session, actor=SYSTEM, signed_in_with=row.id)
    with session_scope(engine, write=True) as session:
        accounts.set_active(user.id, False, session=session, actor=SYSTEM)
    with session_scope(engine, write=True) as session, pytest.raises(PermissionDenied):
        accounts.create_api_token(user, TokenIn(name="late", days=30), session=session, actor=SYSTEM)
    assert _count(engine, ApiToken) == 0


def test_a_flood_of_password_checks_is_turned_away_not_queued(client, engine, monkeypatch):
    """Each request waiting for Argon2 holds a worker thread; a flood must get a quick 503 rather than
    starve every other request. A try turned away this way does not count against the limits."""
    import crm.security as security

    make_user(engine, "m@example.com")
    monkeypatch.setattr(security, "_ARGON2_QUEUE", threading.BoundedSemaphore(1))
    assert security._ARGON2_QUEUE.acquire(blocking=False)  # the only place in the queue is taken
    token = csrf_token(client)
    response = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 503
    assert _count(engine, LoginAttempt) == 0
    security._ARGON2_QUEUE.release()
    response = client.post("/login", data={"email": "m@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def test_a_bad_bearer_token_on_an_unknown_address_is_a_404_not_a_500(client):
    for path in ("/api/docsx", "/api/docs/nothing"):
        response = client.get(path, headers={"Authorization": "Bearer bogus"})
        assert response.status_code == 404, path


def test_parallel_deletes_of_one_person_delete_once(app, engine):
    from starlette.testclient import TestClient

    profile = make_profile(engine, "Doomed")
    make_user(engine, "m@example.com")
    clients = [TestClient(app, follow_redirects=False) for _ in range(5)]
    for c in clients:
        c.__enter__()
        sign_in(c, "m@example.com")
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            codes = list(pool.map(lambda c: c.delete(f"/api/v1/profiles/{profile.id}").status_code, clients))
    finally:
        for c in clients:
            c.__exit__(None, None, None)
    assert sorted(codes) == [204, 404, 404, 404, 404]
    assert _count(engine, AuditEvent, AuditEvent.action == AuditAction.profile_delete) == 1


def test_tokens_without_an_expiry_are_refused(engine):
    """Earlier versions made tokens that never expire; migration 0005 gives them 90 days, and one
    left without an expiry anyway is not accepted."""
    raw = _token_for(engine, "robot@example.com")
    with session_scope(engine, write=True) as session:
        session.exec(select(ApiToken)).one().expires_at = None
    with Session(engine) as session:
        assert accounts.token_user(raw, session=session) is None


def test_a_flood_from_ever_new_addresses_adds_a_bounded_number_of_audit_lines(engine):
    limits = _limits(pair=1, account=1, address=1)
    with pytest.raises(AuthenticationFailed):
        _login(engine, "target@example.com", "guess", ip="198.51.100.1", limits=limits)
    for n in range(accounts.THROTTLED_LINES_PER_MINUTE + 15):
        with pytest.raises(RateLimited):
            _login(engine, "target@example.com", "guess", ip=f"203.0.113.{n}", limits=limits)
    assert _count(engine, AuditEvent, AuditEvent.action == AuditAction.login_throttled) == accounts.THROTTLED_LINES_PER_MINUTE
