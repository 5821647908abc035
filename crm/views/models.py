"""Saved views: a named segment of people (filters, sort and columns), private or shared."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, updated_at_field


class SavedView(SQLModel, table=True):
    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_saved_view_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    owner_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    shared: bool = Field(default=False)
    query: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the people list's parameters
    columns: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
