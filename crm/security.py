"""Passwords, random tokens and CSRF tokens. Pure helpers: no web framework here."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# Argon2id with pwdlib's recommended parameters.
_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
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


def csrf_token_for(secret_key: str, csrf_cookie: str) -> str:
    """Signed double-submit: the form/header token is an HMAC of a random per-browser cookie."""
    return hmac.new(secret_key.encode(), f"csrf:{csrf_cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_token_valid(secret_key: str, csrf_cookie: str | None, submitted: str | None) -> bool:
    if not csrf_cookie or not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(secret_key, csrf_cookie), submitted)
