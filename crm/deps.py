"""FastAPI dependencies: the request's database session, the current user, and the write guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from enum import IntEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Path, Request
from sqlalchemy import Engine
from sqlmodel import Session

from crm.accounts import service as accounts
from crm.accounts.models import User
from crm.audit.service import Actor
from crm.db import session_scope, write_bind
from crm.errors import AuthenticationFailed, InvalidInput, LengthRequired, PermissionDenied, TooLarge
from crm.i18n import gettext
from crm.middleware import SESSION_COOKIE
from crm.schemas import MAX_ID
from crm.security import csrf_token_valid
from crm.settings import Settings

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    """A bearer token counts only under /api/: HTML pages need a browser session (and its CSRF token)."""
    if not request.url.path.startswith("/api/"):
        return None
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
    request.state.session_id = None
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


# ---- who may call a route -------------------------------------------------------------------------
# Every route declares one of these through its dependencies (a typed parameter such as
# `user: WriterUser`, or `dependencies=[Depends(public)]`). crm.routes_check refuses to build an app
# with a route that declares none, and tests compare each route with a table of what it should be.


class Access(IntEnum):
    public = 0  # anyone, signed in or not: the login page, signing out
    signed_in = 1  # any active user: reading, and self-service on one's own account
    writer = 2  # admins and managers: changes to shared data
    admin = 3  # users, roles and the audit log


def declares(access: Access) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        dependency.access = access  # type: ignore[attr-defined]
        return dependency

    return mark


def declared_access(dependant: Any) -> Access | None:
    """The strictest access declared anywhere in a route's dependency tree, or None."""
    if dependant is None:
        return None
    found = [getattr(dependant.call, "access", None)] + [declared_access(d) for d in dependant.dependencies]
    declared = [a for a in found if a is not None]
    return max(declared) if declared else None


@declares(Access.public)
def public(user: Annotated[User | None, Depends(optional_user)]) -> User | None:
    return user


@declares(Access.signed_in)
def require_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired()
    return user


CurrentUser = Annotated[User, Depends(require_user)]


@declares(Access.writer)
def require_writer(user: CurrentUser) -> User:
    if not user.can_write:
        raise PermissionDenied(gettext("Your role can read but not change anything."))
    return user


WriterUser = Annotated[User, Depends(require_writer)]


@declares(Access.admin)
def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise PermissionDenied(gettext("Only administrators can do that."))
    return user


AdminUser = Annotated[User, Depends(require_admin)]
PublicUser = Annotated[User | None, Depends(public)]


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


MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries around an upload


async def write_guard(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> None:
    """Applied to every route, before the route's own access check: a mutating request to a route
    that is not public must come from someone signed in (401 before any CSRF talk), must be
    same-origin and carry the CSRF token bound to its session (unless it authenticates with a
    bearer token under /api/, which a browser never sends on its own). Form text with NUL
    characters, which PostgreSQL cannot store, is refused here once for every form.
    Who may then do it (signed in, writer, admin) is each route's own declaration."""
    if request.method not in MUTATING:
        return
    route = request.scope.get("route")
    if user is None and getattr(route, "access", Access.signed_in) != Access.public:
        raise LoginRequired()
    access = getattr(route, "access", Access.signed_in)
    if user is not None and ((access == Access.writer and not user.can_write) or (access == Access.admin and not user.is_admin)):
        # Refused before the body is read: a role that may not upload must not make the server store one.
        raise PermissionDenied(gettext("Your role can read but not change anything.") if access == Access.writer
                               else gettext("Only administrators can do that."))
    form = None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        # Uploads declare their size, and are refused above the upload limit before any of it is read
        # (a chunked body would be spooled to disk up to the route's limit first).
        declared = request.headers.get("content-length", "")
        if not declared.isdigit():
            raise LengthRequired(gettext("Send the file with its length (Content-Length)."))
        if int(declared) > get_settings(request).max_upload_bytes + MULTIPART_OVERHEAD:
            raise TooLarge(gettext("The file is larger than the import limit."))
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
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
        if not csrf_token_valid(get_settings(request).effective_secret_key, request.state.csrf_binding, submitted):
            raise PermissionDenied(
                gettext("The form expired or did not come from this site. Reload the page and try again.")
            )
