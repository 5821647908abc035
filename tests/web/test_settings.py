"""Settings: users and roles, API tokens, password, sessions and the audit log."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from crm.accounts.models import ApiToken, TokenIn, User
from tests.factories import PASSWORD, make_profile, make_user, sign_in, soup


def test_admin_adds_a_user_who_can_then_sign_in(admin_client, engine):
    data = {"name": "Nuria", "email": "Nuria@Example.com", "password": "a long enough one", "role": "manager"}
    response = admin_client.post("/settings/users", data=data)
    assert response.status_code == 303
    page = soup(admin_client.get("/settings"))
    assert "nuria@example.com can now sign in as Manager." in page.select_one(".flash").get_text()
    emails = [row.select("td")[1].get_text() for row in page.select("#users tbody tr")]
    assert "nuria@example.com" in emails
    with TestClient(admin_client.app, follow_redirects=False) as other:
        sign_in(other, "nuria@example.com", "a long enough one")


def test_bad_user_form_keeps_values_and_names_fields(admin_client, engine):
    make_user(engine, "taken@example.com")
    bad = {"name": "X", "email": "not-an-email", "password": "short", "role": "viewer"}
    response = admin_client.post("/settings/users", data=bad)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#f-email")["value"] == "not-an-email"
    assert page.select_one("#email-error").get_text() == "Enter a valid e-mail address."
    assert "10 characters" in page.select_one("#f-password").find_next("small").get_text()
    taken = {"name": "X", "email": "taken@example.com", "password": "long enough pw", "role": "viewer"}
    response = admin_client.post("/settings/users", data=taken)
    assert response.status_code == 422
    assert soup(response).select_one("#email-error").get_text() == "already in use"


def test_admin_changes_a_role_but_not_their_own(admin_client, engine):
    other = make_user(engine, "m@example.com", role="manager")
    assert admin_client.post(f"/settings/users/{other.id}/role", data={"role": "viewer"}).status_code == 303
    with Session(engine) as session:
        assert session.get(User, other.id).role == "viewer"
        me = session.exec(select(User).where(User.email == "admin@example.com")).one()
    response = admin_client.post(f"/settings/users/{me.id}/role", data={"role": "viewer"})
    assert response.status_code == 422
    assert admin_client.post(f"/settings/users/{other.id}/role", data={"role": "emperor"}).status_code == 422


def test_managers_cannot_manage_users_or_see_the_audit_log(manager_client, engine):
    page = soup(manager_client.get("/settings"))
    assert page.select_one("#users") is None
    response = manager_client.post("/settings/users", data={"name": "X", "email": "x@example.com", "password": "long enough pw"})
    assert response.status_code == 403
    assert manager_client.get("/settings/audit").status_code == 403


def test_api_token_is_shown_once_and_can_be_revoked(manager_client, engine):
    response = manager_client.post("/settings/tokens", data={"name": "Zapier", "days": "30"})
    assert response.status_code == 303  # so that reloading does not make a second token
    assert response.headers["location"] == "/settings#tokens"
    raw = soup(manager_client.get("/settings")).select_one("#new-token").get_text(strip=True)
    assert raw.startswith("avz_")
    with TestClient(manager_client.app) as api:
        assert api.get("/api/v1/profiles", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    again = soup(manager_client.get("/settings"))
    assert again.select_one("#new-token") is None
    assert [td.get_text() for td in again.select("#tokens tbody td:first-child")] == ["Zapier"]
    with Session(engine) as session:
        token = session.exec(select(ApiToken)).one()
        assert raw not in token.token_hash
    assert manager_client.post(f"/settings/tokens/{token.id}/revoke").status_code == 303
    with TestClient(manager_client.app) as api:
        assert api.get("/api/v1/profiles", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def _token_form_errors(response) -> dict[str, str]:
    form = soup(response).select_one("form[action='/settings/tokens']")
    return {e["id"]: e.get_text() for e in form.select(".field-error")}


def test_token_needs_a_name(manager_client):
    response = manager_client.post("/settings/tokens", data={"name": "  ", "days": "30"})
    assert response.status_code == 422
    assert list(_token_form_errors(response).values()) == ["This field is required."]


@pytest.mark.parametrize("days", ["0", "-5", "3651", "99999999999", "abc", "", "1.5", "9" * 4000])
def test_token_expiry_must_be_a_sensible_number_of_days(manager_client, engine, days):
    """Never a silent token without expiry: a bad number of days is a field error and makes nothing."""
    response = manager_client.post("/settings/tokens", data={"name": "Zapier", "days": days})
    assert response.status_code == 422
    errors = _token_form_errors(response)
    assert len(errors) == 1 and "days" in next(iter(errors))
    form = soup(response).select_one("form[action='/settings/tokens']")
    assert form.select_one("input[name=name]")["value"] == "Zapier"  # what was typed is kept
    with Session(engine) as session:
        assert session.exec(select(ApiToken)).all() == []


def test_a_new_token_always_expires(manager_client, engine):
    from datetime import timedelta

    assert manager_client.post("/settings/tokens", data={"name": "Zapier", "days": "7"}).status_code == 303
    with Session(engine) as session:
        token = session.exec(select(ApiToken)).one()
    assert token.expires_at is not None
    assert timedelta(days=6, hours=23) < token.expires_at - token.created_at <= timedelta(days=7, seconds=5)


def test_someone_elses_token_cannot_be_revoked(manager_client, engine):
    from crm.accounts import service as accounts
    from crm.audit.service import SYSTEM
    from crm.db import session_scope

    other = make_user(engine, "other@example.com")
    with session_scope(engine, write=True) as session:
        row, _ = accounts.create_api_token(session.get(User, other.id), TokenIn(name="theirs", days=30),
                                           session=session, actor=SYSTEM)
    assert manager_client.post(f"/settings/tokens/{row.id}/revoke").status_code == 404


def test_change_password_signs_out_other_sessions(manager_client, engine):
    with TestClient(manager_client.app, follow_redirects=False) as laptop:
        sign_in(laptop, "manager@example.com")
        wrong = manager_client.post("/settings/password", data={
            "current_password": "nope", "new_password": "brand new password", "confirm_password": "brand new password"})
        assert wrong.status_code == 422
        assert soup(wrong).select_one("#current_password-error").get_text() == "That is not your current password."
        mismatch = manager_client.post("/settings/password", data={
            "current_password": PASSWORD, "new_password": "brand new password", "confirm_password": "other"})
        assert soup(mismatch).select_one("#confirm_password-error").get_text() == "The two new passwords differ."
        ok = manager_client.post("/settings/password", data={
            "current_password": PASSWORD, "new_password": "brand new password", "confirm_password": "brand new password"})
        assert ok.status_code == 303
        assert manager_client.get("/people").status_code == 200  # this browser stays signed in
        assert laptop.get("/people").status_code == 303  # the other one is out
    with TestClient(manager_client.app, follow_redirects=False) as fresh:
        sign_in(fresh, "manager@example.com", "brand new password")


def test_sign_out_everywhere_else(manager_client):
    with TestClient(manager_client.app, follow_redirects=False) as phone:
        sign_in(phone, "manager@example.com")
        page = soup(manager_client.get("/settings"))
        assert len(page.select("#sessions li")) == 2
        assert manager_client.post("/settings/sessions/revoke-others").status_code == 303
        assert phone.get("/people").status_code == 303
        assert manager_client.get("/people").status_code == 200
    from crm.audit.models import AuditEvent

    with Session(manager_client.app.state.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "session.revoke_others")).one()
        assert event.after == {"sessions": 1}


def test_audit_log_lists_changes_newest_first_as_page_and_fragment(admin_client, engine):
    profile = make_profile(engine, "Audited Person")
    admin_client.post(f"/people/{profile.id}", data={"display_name": "Audited Person 2", "status": "active"})
    page = soup(admin_client.get("/settings/audit"))
    rows = page.select(".audit-table tbody tr")
    assert "edited a person" in rows[0].get_text()
    assert page.select_one("nav.filter-tabs") is not None
    fragment = soup(admin_client.get("/settings/audit?action=login", headers={"HX-Request": "true"}))
    assert fragment.select_one("h1") is None  # the fragment is the filters and the events, not the page
    assert all("signed in" in row.get_text() for row in fragment.select(".audit-table tbody tr"))
    assert fragment.select_one("title").get_text() == "Audit log · Altavoz"


def test_audit_log_pages_fifty_at_a_time(admin_client, engine):
    from crm.audit import service as audit
    from crm.audit.actions import AuditAction
    from crm.audit.service import SYSTEM
    from crm.db import session_scope

    with session_scope(engine, write=True) as session:
        for n in range(60):
            audit.record(session=session, actor=SYSTEM, action=AuditAction.profile_update, object_type="profile", object_id=n + 1)
    page = soup(admin_client.get("/settings/audit?action=profile"))
    assert len(page.select(".audit-table tbody tr")) == 50
    older = page.select_one(".pagination a[rel=next]")
    assert older["href"] == "/settings/audit?action=profile&page=2" and "Older" in older.get_text()
    second = soup(admin_client.get(older["href"]))
    assert len(second.select(".audit-table tbody tr")) == 10
    assert second.select_one(".pagination a[rel=prev]").get_text(strip=True) == "← Newer"


def test_the_audit_filter_marks_the_current_tab_in_the_htmx_fragment_too(admin_client):
    fragment = soup(admin_client.get("/settings/audit?action=profile", headers={"HX-Request": "true"}))
    current = fragment.select(".filter-tabs [aria-current]")
    assert [a["href"] for a in current] == ["/settings/audit?action=profile"]


def test_a_new_password_must_differ_from_the_current_one(manager_client):
    response = manager_client.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 422
    assert "different" in soup(response).select_one("#new_password-error").get_text()


def test_a_new_token_is_never_shown_as_a_message_on_another_page(manager_client):
    assert manager_client.post("/settings/tokens", data={"name": "Zapier", "days": "30"}).status_code == 303
    page = soup(manager_client.get("/people"))  # another tab got there first
    assert not [f for f in page.select(".flash") if "avz_" in f.get_text()]
