"""FastAPI dependencies: the request's database session, the current user, and the write guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Path, Request
from sqlalchemy import Engine
from sqlmodel import Session

from crm.accounts import service as accounts
from crm.accounts.models import User
from crm.audit.service import Actor
from crm.db import session_scope, write_bind
from crm.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from crm.i18n import gettext
from crm.schemas import MAX_ID
from crm.security import csrf_token_valid
from crm.settings import Settings

SESSION_COOKIE = "crm_session"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Mutating routes any visitor may call (they still need a valid CSRF token).
OPEN_MUTATIONS = frozenset({"/login", "/logout"})


class LoginRequired(Exception):
    """Raised when a page needs a signed-in user; HTML gets a redirect, the API a 401."""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route commits. Writers begin with BEGIN IMMEDIATE on SQLite.
    Async only so FastAPI does not spend two threadpool hops on it: creating a session does no I/O,
    and closing one only hands its connection back to the pool."""
    engine = get_engine(request)
    bind = write_bind(engine) if request.method in MUTATING else engine
    with Session(bind, expire_on_commit=False) as session:
        yield session


DB = Annotated[Session, Depends(get_db)]
# Ids in paths: beyond the INTEGER range nothing can exist, so say 422 before the database errors.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def client_ip(request: Request) -> str:
    """The peer address; X-Forwarded-For only counts when the peer is a configured proxy."""
    peer = request.client.host if request.client else ""
    settings = get_settings(request)
    if peer and peer in settings.trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        # The right-most address not added by our own proxies is the one we can trust.
        for hop in reversed(hops):
            if hop not in settings.trusted_proxies:
                return hop
    return peer


def session_policy(settings: Settings) -> accounts.SessionPolicy:
    return accounts.SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_absolute_hours)
    )


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_user(request: Request) -> User | None:
    """Resolves the session cookie or bearer token once per request (FastAPI caches it).

    It reads in its own short transaction and refreshes "last seen" (at most once a minute) in
    another, both finished before the route's session begins: on SQLite a write request's session
    holds the write lock from its first statement, so touching the row from inside it would wait on
    itself, and upgrading a read transaction to a write can fail outright under concurrency."""
    settings = get_settings(request)
    engine = get_engine(request)
    bearer = _bearer(request)
    user: User | None = None
    with session_scope(engine) as auth:
        if bearer is not None:
            found_token = accounts.token_user(bearer, session=auth)
            if found_token is None:
                raise AuthenticationFailed(gettext("That API token is unknown, revoked or expired."))
            user, token = found_token
            request.state.via_token = True
            touch = accounts.due_for_touch(token.last_used_at)
        else:
            found = accounts.session_user(request.cookies.get(SESSION_COOKIE), session=auth, policy=session_policy(settings))
            row = found[1] if found else None
            user = found[0] if found else None
            request.state.session_id = row.id if row else None
            touch = row is not None and accounts.due_for_touch(row.last_seen_at)
    if touch:
        with session_scope(engine, write=True) as writer:
            if bearer is not None:
                accounts.touch_token(token.id or 0, session=writer)
            else:
                accounts.touch_session(request.state.session_id or 0, session=writer)
    request.state.user = user
    return user


def require_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired()
    return user


CurrentUser = Annotated[User, Depends(require_user)]


def require_writer(user: CurrentUser) -> User:
    """For pages that only lead to a change (forms, confirmations): a viewer gets 403 up front."""
    if not user.can_write:
        raise PermissionDenied(gettext("Your role can read but not change anything."))
    return user


WriterUser = Annotated[User, Depends(require_writer)]


def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise PermissionDenied(gettext("Only administrators can do that."))
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def actor_for(request: Request, user: User | None) -> Actor:
    return Actor(user_id=user.id if user else None, ip=client_ip(request), label=user.email if user else "")


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or an old one: the CSRF token still has to match
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def write_guard(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> None:
    """Applied to every route: a mutating request must come from someone signed in (except
    login/logout), be same-origin, carry a CSRF token (unless it authenticates with a bearer token,
    which a browser never sends on its own), and come from someone allowed to write. Form text with
    NUL characters, which PostgreSQL cannot store, is refused here once for every form.
    New routes get all of this without asking for it."""
    if request.method not in MUTATING:
        return
    open_route = request.url.path in OPEN_MUTATIONS
    if user is None and not open_route:
        raise LoginRequired()
    form = None
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        if any(isinstance(value, str) and "\x00" in value for value in form.values()):
            raise InvalidInput(gettext("Text must not contain NUL characters."))
    if not getattr(request.state, "via_token", False):
        if not _same_origin(request):
            raise PermissionDenied(gettext("Cross-site request refused."))
        submitted = request.headers.get("x-csrf-token")
        if submitted is None and form is not None:
            value = form.get("csrf_token")
            submitted = value if isinstance(value, str) else None
        if not csrf_token_valid(get_settings(request).effective_secret_key, request.state.csrf_cookie, submitted):
            raise PermissionDenied(
                gettext("The form expired or did not come from this site. Reload the page and try again.")
            )
    if user is not None and not open_route and not user.can_write:
        raise PermissionDenied(gettext("Your role can read but not change anything."))
