"""Users, logins (with rate limits), sessions and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from crm.accounts.models import ApiToken, Role, User, UserIn, UserSession
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, RateLimited
from crm.i18n import gettext
from crm.security import hash_password, new_token, token_digest, verify_password


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class LoginLimits:
    per_account: int
    per_ip: int
    window_minutes: int


def normalise_email(email: str) -> str:
    return email.replace("\x00", "").strip().lower()


def get_user_by_email(email: str, *, session: Session) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(data: UserIn, *, session: Session, actor: Actor, password_hash: str | None = None) -> User:
    """`password_hash` lets a caller that already hashed (tests, imports) skip the slow Argon2 step."""
    email = normalise_email(str(data.email))
    if get_user_by_email(email, session=session):
        raise Conflict(gettext("A user with this e-mail already exists."), field_errors={"email": gettext("already in use")})
    user = User(email=email, name=data.name, password_hash=password_hash or hash_password(data.password),
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
    if not active:
        revoke_sessions(user.id or 0, session=session)
    audit.record(session=session, actor=actor, action=AuditAction.user_activate if active else AuditAction.user_deactivate,
                 object_type="user",
                 object_id=user.id)
    return user


def authenticate(email: str, password: str, *, session: Session, ip: str, limits: LoginLimits) -> User:
    """Check a login; raises RateLimited or AuthenticationFailed and records every outcome."""
    email = normalise_email(email)
    since = utcnow() - timedelta(minutes=limits.window_minutes)
    by_account = audit.count_recent(session=session, action=AuditAction.login_failed, since=since, subject=email)
    by_ip = audit.count_recent(session=session, action=AuditAction.login_failed, since=since, ip=ip)
    actor = Actor(user_id=None, ip=ip, label=email)
    if by_account >= limits.per_account or by_ip >= limits.per_ip:
        audit.record(session=session, actor=actor, action=AuditAction.login_throttled, subject=email)
        message = gettext("Too many failed logins. Try again in %(minutes)d minutes.")
        raise RateLimited(message % {"minutes": limits.window_minutes})
    user = get_user_by_email(email, session=session)
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        audit.record(session=session, actor=actor, action=AuditAction.login_failed, subject=email)
        raise AuthenticationFailed(gettext("That e-mail and password do not match an active account."))
    user.last_login_at = utcnow()
    audit.record(session=session, actor=Actor(user_id=user.id, ip=ip, label=email), action=AuditAction.login_succeeded,
                 object_type="user", object_id=user.id, subject=email)
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
    """Check the current password, set the new one, and sign out every other session."""
    errors: dict[str, str] = {}
    if not verify_password(current, user.password_hash):
        errors["current_password"] = gettext("That is not your current password.")
    if len(new) < 10:
        errors["new_password"] = gettext("Use at least %(n)s characters.") % {"n": 10}
    elif new != confirm:
        errors["confirm_password"] = gettext("The two new passwords differ.")
    if errors:
        raise InvalidInput(gettext("The password was not changed."), field_errors=errors)
    user.password_hash = hash_password(new)
    user.updated_at = utcnow()
    session.add(user)
    revoke_sessions(user.id or 0, session=session, keep_session_id=keep_session_id)
    audit.record(session=session, actor=actor, action=AuditAction.user_password, object_type="user", object_id=user.id)


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


def create_api_token(user: User, name: str, *, session: Session, days: int | None, actor: Actor) -> tuple[ApiToken, str]:
    """Returns the row and the raw token, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise InvalidInput(gettext("Give the token a name."), field_errors={"name": gettext("required")})
    raw = "avz_" + new_token()
    assert user.id is not None
    row = ApiToken(user_id=user.id, name=name[:100], token_hash=token_digest(raw),
                   expires_at=utcnow() + timedelta(days=days) if days else None)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.token_create, object_type="api_token", object_id=row.id,
                 after={"name": name})
    return row, raw


def token_user(raw: str, *, session: Session) -> tuple[User, ApiToken] | None:
    """The user behind a bearer token, or None if it is unknown, revoked or expired."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(raw))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
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


def revoke_api_token(token_id: int, *, session: Session, user_id: int, actor: Actor) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(gettext("No such token."))
    row.revoked_at = utcnow()
    audit.record(session=session, actor=actor, action=AuditAction.token_revoke, object_type="api_token", object_id=row.id)

