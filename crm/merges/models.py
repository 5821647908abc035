"""Merge records: enough to undo a merge exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
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


class DuplicateDismissal(SQLModel, table=True):
    """Two people someone said are not the same person: the duplicates queue no longer suggests them.
    Stored as (lower id, higher id); no foreign keys, so a merge and its undo leave it in place
    (profile ids are never reused)."""

    __tablename__ = "duplicate_dismissal"
    __table_args__ = (UniqueConstraint("low_id", "high_id", name="uq_duplicate_dismissal_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    low_id: int
    high_id: int
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
