"""Domain errors. Services raise these; the web and API layers turn them into responses."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidInput(DomainError):
    status_code = 422


class PermissionDenied(DomainError):
    status_code = 403


class RateLimited(DomainError):
    status_code = 429


class AuthenticationFailed(DomainError):
    status_code = 401


class TooLarge(DomainError):
    status_code = 413


class LengthRequired(DomainError):
    status_code = 411
