"""Test data built through the real services (so tests exercise the same code as the app)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient

from crm.accounts import service as accounts
from crm.accounts.models import Role, User, UserIn
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.profiles import service as profiles
from crm.profiles.models import Profile, ProfileIn
from crm.security import hash_password

PASSWORD = "correct horse battery staple"


@lru_cache(maxsize=4)
def _hash(password: str) -> str:
    return hash_password(password)


def make_user(engine: Engine, email: str, *, role: str = "manager", name: str = "", password: str = PASSWORD) -> User:
    """Through the real service, but with the Argon2 hash computed once per password: hashing
    costs a quarter of a second and the hasher itself is tested in test_settings_and_security."""
    with session_scope(engine, write=True) as session:
        user = accounts.create_user(UserIn(email=email, name=name or email.split("@")[0], password="x" * 10, role=Role(role)),
                                    session=session, actor=SYSTEM, password_hash=_hash(password))
        return user


def make_profile(engine: Engine, display_name: str = "Ana López", **fields: Any) -> Profile:
    data = ProfileIn.model_validate({"display_name": display_name, **fields})
    with session_scope(engine, write=True) as session:
        return profiles.create_profile(data, session=session, actor=SYSTEM)


def soup(response_or_html: Any) -> BeautifulSoup:
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.text
    return BeautifulSoup(html, "html.parser")


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """Read the token the way a browser gets it: from a rendered form."""
    page = soup(client.get(path, follow_redirects=True))
    field = page.select_one("input[name=csrf_token]")
    assert field is not None, f"no CSRF field on {path}"
    return str(field["value"])


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in and send the new session's CSRF token (it changes at login) with every request."""
    token = csrf_token(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text[:500]
    token = csrf_token(client, "/settings")
    client.headers["X-CSRF-Token"] = token
    return token
