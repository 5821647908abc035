"""Jobs: the record of long work (imports, exports, recomputes) that pages poll and the CLI shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    status: str = Field(default=JobStatus.queued.value, max_length=20, index=True)
    title: str = Field(default="", max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    progress: int = Field(default=0)  # units done (rows, profiles...)
    total: int = Field(default=0)  # units expected, 0 when unknown
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # created / updated / skipped / rejected...
    error: str = Field(default="", sa_type=Text)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_datetime_field()
    finished_at: datetime | None = optional_datetime_field()
    heartbeat_at: datetime | None = optional_datetime_field()
