"""Passwords, random tokens and CSRF tokens. Pure helpers: no web framework here."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterator

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# Argon2id with pwdlib's recommended parameters.
_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


# Argon2 is built to eat a core for a third of a second. Six people signing in at once would take
# every core from the requests of everyone else, so password work runs on half the cores, and only
# a few requests may queue for them: a flood must not tie up the worker threads every page needs.
_SLOTS = max(1, (os.cpu_count() or 2) // 2)
_ARGON2_SLOTS = threading.BoundedSemaphore(_SLOTS)
_ARGON2_QUEUE = threading.BoundedSemaphore(_SLOTS + 8)
_holding = threading.local()


class PasswordCheckBusy(Exception):
    """More password checks are waiting than the server lets queue; the caller should say "try again"."""


@contextlib.contextmanager
def password_work() -> Iterator[None]:
    """Hold a place in the queue for password work, or raise PasswordCheckBusy at once when it is
    full. A caller that takes it first (a login) is turned away before it writes anything."""
    if getattr(_holding, "place", False):
        yield
        return
    if not _ARGON2_QUEUE.acquire(blocking=False):
        raise PasswordCheckBusy()
    _holding.place = True
    try:
        yield
    finally:
        _holding.place = False
        _ARGON2_QUEUE.release()


@contextlib.contextmanager
def _argon2_turn() -> Iterator[None]:
    with password_work(), _ARGON2_SLOTS:
        yield


def hash_password(password: str) -> str:
    with _argon2_turn():
        return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    with _argon2_turn():
        if not password_hash:
            _hasher.verify(password, _DUMMY_HASH)
            return False
        try:
            return _hasher.verify(password, password_hash)
        except Exception:  # a malformed stored hash is a failed login, not a crash
            return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Sessions and API tokens are stored as digests, so a leaked table leaks no credentials."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret_key: str, binding: str) -> str:
    """Signed double-submit: the form/header token is an HMAC of what it is bound to (the session
    cookie once signed in, a random per-browser cookie before)."""
    return hmac.new(secret_key.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_token_valid(secret_key: str, binding: str | None, submitted: str | None) -> bool:
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(secret_key, binding), submitted)
