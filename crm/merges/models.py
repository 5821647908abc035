"""Merge records: enough to undo a merge exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field


class MergeRecord(SQLModel, table=True):
    __tablename__ = "merge_record"

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int | None = Field(default=None, foreign_key="profile.id", ondelete="SET NULL", index=True)
    merged_id: int = Field(index=True)  # the profile that was folded in (and removed); ids are never reused
    merged_name: str = Field(max_length=200)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # what undo puts back
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    undone_at: datetime | None = optional_datetime_field()
    undone_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
