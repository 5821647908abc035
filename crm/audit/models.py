"""The audit log: who did what to which object, with before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from crm.base import created_at_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_action_subject_time", "action", "subject", "created_at"),
        Index("ix_audit_action_ip_time", "action", "ip", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # For logins: the e-mail that was tried, so failures for unknown accounts are counted too.
    subject: str = Field(default="", max_length=320)
    action: str = Field(max_length=50)
    object_type: str = Field(default="", max_length=50)
    object_id: int | None = Field(default=None)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    ip: str = Field(default="", max_length=64)
