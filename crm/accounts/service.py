"""Users, logins (with rate limits), sessions and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from crm.accounts.models import ApiToken, LoginAttempt, LoginOutcome, Role, TokenIn, User, UserIn, UserSession
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import serialize_writes, utcnow
from crm.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied, RateLimited
from crm.i18n import gettext
from crm.security import hash_password, new_token, password_work, token_digest, verify_password


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class LoginLimits:
    per_account_and_address: int  # the tight one: a stranger can lock out only their own address
    per_account: int  # looser, across all addresses: slows a distributed guess
    per_address: int  # across all accounts: slows one address trying many accounts
    window_minutes: int


# At most this many "throttled" audit lines a minute, whatever the flood.
THROTTLED_LINES_PER_MINUTE = 30
# Login attempts older than this are deleted as new ones arrive (the audit log keeps the story).
ATTEMPTS_KEPT = timedelta(days=1)


def normalise_email(email: str) -> str:
    return email.replace("\x00", "").strip().lower()


def get_user_by_email(email: str, *, session: Session) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(data: UserIn, *, session: Session, actor: Actor, password_hash: str | None = None) -> User:
    """`password_hash` lets a caller that already hashed (tests, imports) skip the slow Argon2 step."""
    email = normalise_email(str(data.email))
    password_hash = password_hash or hash_password(data.password)  # before the first statement: no lock held
    if get_user_by_email(email, session=session):
        raise Conflict(gettext("A user with this e-mail already exists."), field_errors={"email": gettext("already in use")})
    user = User(email=email, name=data.name, password_hash=password_hash,
                role=data.role.value)
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.user_create, object_type="user", object_id=user.id,
                 after={"email": email, "name": data.name, "role": data.role.value})
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.email)))


def set_role(user_id: int, role: Role, *, session: Session, actor: Actor) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No such user."))
    if user.id == actor.user_id and role != Role.admin:
        raise InvalidInput(
            gettext("You cannot take away your own admin role."), field_errors={"role": gettext("not for yourself")}
        )
    before = user.role
    user.role = role.value
    user.updated_at = utcnow()
    audit.record(session=session, actor=actor, action=AuditAction.user_role, object_type="user", object_id=user.id,
                 before={"role": before}, after={"role": role.value})
    return user


def set_active(user_id: int, active: bool, *, session: Session, actor: Actor) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No such user."))
    if user.id == actor.user_id and not active:
        raise InvalidInput(gettext("You cannot deactivate yourself."))
    user.is_active = active
    user.updated_at = utcnow()
    if not active:  # and what was revoked stays revoked if the account comes back
        _lock_user(user.id or 0, session=session)
        revoke_sessions(user.id or 0, session=session)
        revoke_api_tokens(user.id or 0, session=session)
    action = AuditAction.user_activate if active else AuditAction.user_deactivate
    audit.record(session=session, actor=actor, action=action, object_type="user", object_id=user.id)
    return user


# Unauthenticated input is stored only this long: an e-mail address cannot be longer (RFC 5321).
MAX_STORED_EMAIL = 254


@dataclass(frozen=True)
class _Reservation:
    attempt_id: int
    user_id: int | None
    password_hash: str | None


def login(
    email: str,
    password: str,
    *,
    transaction: Callable[[], AbstractContextManager[Session]],
    ip: str,
    user_agent: str,
    limits: LoginLimits,
    policy: SessionPolicy,
) -> tuple[User, str]:
    """Check a login and open a session; returns the user and the session token.

    Unlike other services this one takes a factory of short write transactions rather than one
    session, because the Argon2 check (about 0.3 s) must hold no lock: on SQLite a write
    transaction blocks every other writer. So: (1) reserve one try against the limits, atomically;
    (2) check the password outside any transaction; (3) record the outcome and start the session.
    Raises RateLimited or AuthenticationFailed; every outcome is audited."""
    email = normalise_email(email)[:MAX_STORED_EMAIL]
    ip = ip[:64]
    with password_work():  # a place in the queue first: when it is full, nothing is written (503)
        with transaction() as session:
            reservation = _reserve_attempt(email, session=session, ip=ip, limits=limits)
        if reservation is None:
            message = gettext("Too many failed logins. Try again in %(minutes)d minutes.")
            raise RateLimited(message % {"minutes": limits.window_minutes})
        ok = verify_password(password, reservation.password_hash)
    with transaction() as session:
        user = _finish_attempt(reservation, ok, session=session, email=email, ip=ip)
        token = start_session(user, session=session, ip=ip, user_agent=user_agent, policy=policy) if user else None
    if user is None or token is None:
        raise AuthenticationFailed(gettext("That e-mail and password do not match an active account."))
    return user, token


def _reserve_attempt(email: str, *, session: Session, ip: str, limits: LoginLimits) -> _Reservation | None:
    """Count recent failures and, if under every limit, reserve a try; None when throttled.
    The count and the insert are one serialised step, so fifty parallel tries get exactly the
    allowed number of password checks. Tries still pending count as failures."""
    serialize_writes(session, "login")
    now = utcnow()
    since = now - timedelta(minutes=limits.window_minutes)
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.created_at) < now - ATTEMPTS_KEPT))
    counted = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.created_at >= since, col(LoginAttempt.outcome) != LoginOutcome.succeeded.value
    )
    from_here = session.exec(counted.where(LoginAttempt.email == email, LoginAttempt.ip == ip)).one()
    for_account = session.exec(counted.where(LoginAttempt.email == email)).one()
    from_address = session.exec(counted.where(LoginAttempt.ip == ip)).one()
    if from_here >= limits.per_account_and_address or for_account >= limits.per_account or from_address >= limits.per_address:
        # One audit line a minute per account and address tells the story, and at most a few a minute in
        # all: a flood from ever-new addresses or e-mails must not grow the log.
        minute_ago = now - timedelta(minutes=1)
        said = audit.count_recent(session=session, action=AuditAction.login_throttled, since=minute_ago, subject=email, ip=ip)
        said_in_all = audit.count_recent(session=session, action=AuditAction.login_throttled, since=minute_ago)
        if not said and said_in_all < THROTTLED_LINES_PER_MINUTE:
            audit.record(session=session, actor=Actor(user_id=None, ip=ip, label=email), action=AuditAction.login_throttled)
        return None
    attempt = LoginAttempt(email=email, ip=ip)
    session.add(attempt)
    session.flush()
    user = get_user_by_email(email, session=session)
    if user is None or not user.is_active:
        return _Reservation(attempt.id or 0, None, None)  # checked against a dummy hash all the same
    return _Reservation(attempt.id or 0, user.id, user.password_hash)


def _finish_attempt(reservation: _Reservation, ok: bool, *, session: Session, email: str, ip: str) -> User | None:
    if reservation.user_id is not None:
        _lock_user(reservation.user_id, session=session)
    attempt = session.get(LoginAttempt, reservation.attempt_id)
    user = session.get(User, reservation.user_id) if ok and reservation.user_id else None
    if user is not None and (not user.is_active or user.password_hash != reservation.password_hash):
        user = None  # deactivated, or the password changed, while it was being checked
    if attempt is not None:
        attempt.outcome = (LoginOutcome.succeeded if user else LoginOutcome.failed).value
    if user is None:
        audit.record(session=session, actor=Actor(user_id=None, ip=ip, label=email), action=AuditAction.login_failed)
        return None
    user.last_login_at = utcnow()
    audit.record(session=session, actor=Actor(user_id=user.id, ip=ip, label=email), action=AuditAction.login_succeeded,
                 object_type="user", object_id=user.id)
    return user


def start_session(user: User, *, session: Session, ip: str, user_agent: str, policy: SessionPolicy) -> str:
    """Create a server-side session and return the raw token for the cookie (stored only as digest)."""
    token = new_token()
    now = utcnow()
    assert user.id is not None
    session.add(UserSession(token_hash=token_digest(token), user_id=user.id, ip=ip, user_agent=user_agent[:300],
                            created_at=now, last_seen_at=now, expires_at=now + policy.absolute))
    return token


def session_user(token: str | None, *, session: Session, policy: SessionPolicy) -> tuple[User, UserSession] | None:
    """The user behind a session cookie, or None if it is unknown, revoked, idle or expired."""
    if not token:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == token_digest(token))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + policy.idle <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def due_for_touch(last: datetime | None) -> bool:
    """Refresh "last seen/used" at most once a minute, so reads do not all become writes."""
    return last is None or utcnow() - last > timedelta(minutes=1)


def touch_session(session_id: int, *, session: Session) -> None:
    row = session.get(UserSession, session_id)
    if row is not None:
        row.last_seen_at = utcnow()


def end_session(token: str | None, *, session: Session, actor: Actor) -> None:
    if not token:
        return
    row = session.exec(select(UserSession).where(UserSession.token_hash == token_digest(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session=session, actor=actor, action=AuditAction.logout, object_type="user", object_id=row.user_id)


def change_password(user: User, current: str, new: str, confirm: str, *, session: Session, keep_session_id: int | None,
                    actor: Actor) -> None:
    """Check the current password, set the new one, sign out every other session and revoke the
    user's API tokens (whoever knew the old password may have made one)."""
    errors = _new_password_errors(new, confirm)
    if not verify_password(current, user.password_hash):
        errors["current_password"] = gettext("That is not your current password.")
    elif not errors and new == current:
        errors["new_password"] = gettext("Choose a password different from the current one.")
    if errors:
        raise InvalidInput(gettext("The password was not changed."), field_errors=errors)
    _replace_password(user, hash_password(new), session=session, keep_session_id=keep_session_id, actor=actor)


def _new_password_errors(new: str, confirm: str | None = None) -> dict[str, str]:
    if len(new) < 10:
        return {"new_password": gettext("Use at least %(n)s characters.") % {"n": 10}}
    if len(new) > 200:
        return {"new_password": gettext("Use at most %(n)s characters.") % {"n": 200}}
    if confirm is not None and new != confirm:
        return {"confirm_password": gettext("The two new passwords differ.")}
    return {}


def _replace_password(user: User, password_hash: str, *, session: Session, keep_session_id: int | None, actor: Actor,
                      reset: bool = False) -> None:
    """Callers hash before their first statement, so on SQLite Argon2 never runs under the write lock."""
    _lock_user(user.id or 0, session=session)
    user.password_hash = password_hash
    user.updated_at = utcnow()
    session.add(user)
    sessions = revoke_sessions(user.id or 0, session=session, keep_session_id=keep_session_id)
    tokens = revoke_api_tokens(user.id or 0, session=session)
    audit.record(session=session, actor=actor, action=AuditAction.user_password, object_type="user", object_id=user.id,
                 after={"reset": reset, "sessions_revoked": sessions, "tokens_revoked": tokens})


def revoke_sessions(user_id: int, *, session: Session, keep_session_id: int | None = None) -> int:
    """Ends the user's open sessions (all of them, or all but `keep_session_id`); returns how many."""
    query = select(UserSession).where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None))
    if keep_session_id is not None:
        query = query.where(col(UserSession.id) != keep_session_id)
    rows = list(session.exec(query))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def sign_out_elsewhere(user_id: int, *, session: Session, keep_session_id: int | None, actor: Actor) -> int:
    count = revoke_sessions(user_id, session=session, keep_session_id=keep_session_id)
    audit.record(session=session, actor=actor, action=AuditAction.session_revoke_others, object_type="user", object_id=user_id,
                 after={"sessions": count})
    return count


def active_sessions(user_id: int, *, session: Session) -> list[UserSession]:
    now = utcnow()
    query = (
        select(UserSession)
        .where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None), UserSession.expires_at > now)
        .order_by(col(UserSession.last_seen_at).desc())
    )
    return list(session.exec(query))


# ---- API tokens -------------------------------------------------------------------------------


def create_api_token(user: User, data: TokenIn, *, session: Session, actor: Actor,
                     signed_in_with: int | None = None) -> tuple[ApiToken, str]:
    """Returns the row and the raw token, which is shown once and never stored. Every token expires.
    The account (and the browser session asking, if any) is checked again inside this write, in turn
    with password changes and deactivation: a token minted while those happen must not outlive them."""
    assert user.id is not None
    _still_entitled(user.id, signed_in_with, session=session)
    raw = "avz_" + new_token()
    row = ApiToken(user_id=user.id, name=data.name, token_hash=token_digest(raw),
                   expires_at=utcnow() + timedelta(days=data.days))
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.token_create, object_type="api_token", object_id=row.id,
                 after={"name": data.name, "days": data.days})
    return row, raw


def token_user(raw: str, *, session: Session) -> tuple[User, ApiToken] | None:
    """The user behind a bearer token, or None if it is unknown, revoked or expired."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(raw))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def touch_token(token_id: int, *, session: Session) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = utcnow()


def list_api_tokens(user_id: int, *, session: Session) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    return list(session.exec(query.order_by(col(ApiToken.created_at).desc())))


def _lock_user(user_id: int, *, session: Session) -> None:
    """Changes to who a user is (password, active, sessions, tokens) and logins finishing for them
    take turns, so none of them can act on what another is about to change."""
    serialize_writes(session, f"user:{user_id}")


def _still_entitled(user_id: int, session_id: int | None, *, session: Session) -> None:
    _lock_user(user_id, session=session)
    current = session.get(User, user_id, populate_existing=True)
    if current is None or not current.is_active:
        raise PermissionDenied(gettext("This account is deactivated."))
    if session_id is not None:
        row = session.get(UserSession, session_id, populate_existing=True)
        if row is None or row.revoked_at is not None:
            raise AuthenticationFailed(gettext("You were signed out. Sign in again."))


def revoke_api_tokens(user_id: int, *, session: Session) -> int:
    """Revokes all of a user's tokens; returns how many were live."""
    rows = list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def revoke_api_token(token_id: int, *, session: Session, user_id: int, actor: Actor) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(gettext("No such token."))
    row.revoked_at = utcnow()
    audit.record(session=session, actor=actor, action=AuditAction.token_revoke, object_type="api_token", object_id=row.id)



# ---- password reset ---------------------------------------------------------------------------


def set_password(user_id: int, new_password: str, *, session: Session, actor: Actor) -> User:
    """Set a user's password without asking for the current one (an admin's or the system's reset,
    such as `crm demo` giving its admin a fresh password). Whoever held the old password may still
    be signed in or hold a token, so every session is ended and every API token revoked; audited."""
    errors = _new_password_errors(new_password)
    if errors:
        raise InvalidInput(gettext("The password was not changed."), field_errors=errors)
    password_hash = hash_password(new_password)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No such user."))
    _replace_password(user, password_hash, session=session, keep_session_id=None, actor=actor, reset=True)
    return user
