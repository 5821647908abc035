"""Users, their server-side sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr
from pydantic import Field as PydField
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field, updated_at_field
from crm.schemas import InputModel


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    viewer = "viewer"


WRITER_ROLES = {Role.admin, Role.manager}


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=500)
    role: str = Field(default=Role.viewer.value, max_length=20)
    is_active: bool = Field(default=True)
    last_login_at: datetime | None = optional_datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def can_write(self) -> bool:
        return self.is_active and self.role in WRITER_ROLES

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == Role.admin


class UserSession(SQLModel, table=True):
    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    expires_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_datetime_field()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime | None = optional_datetime_field()
    last_used_at: datetime | None = optional_datetime_field()
    revoked_at: datetime | None = optional_datetime_field()


class LoginOutcome(StrEnum):
    pending = "pending"  # the password is being checked; counts as a failure until it is not
    failed = "failed"
    succeeded = "succeeded"


class LoginAttempt(SQLModel, table=True):
    """One password check, reserved before it is made, so that parallel tries cannot overrun the
    limits. Kept for a day; the audit log keeps the story."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_time", "email", "created_at"),
        Index("ix_login_attempt_ip_time", "ip", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    email: str = Field(max_length=320)
    ip: str = Field(default="", max_length=64)
    outcome: str = Field(default=LoginOutcome.pending.value, max_length=20)


class UserIn(InputModel):

    email: EmailStr
    name: str = PydField(min_length=1, max_length=200)
    password: str = PydField(min_length=10, max_length=200)
    role: Role = Role.viewer


class TokenIn(InputModel):
    """A new API token: a name to recognise it by and how many days it lives (it always expires)."""

    name: str = PydField(min_length=1, max_length=100)
    days: int = PydField(ge=1, le=3650)
