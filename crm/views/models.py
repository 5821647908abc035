"""Saved views: a named segment of people (filters, sort and columns), private or shared."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, updated_at_field
from crm.schemas import OUT_CONFIG, InputModel


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


# ---- request and response schemas (never the table) ------------------------------------------------

VIEW_NAME_MAX = 100


class SavedViewIn(InputModel):
    """A new saved view. `query` holds the people list's parameters as the list's API takes them
    (`q`, `status`, `role`, `sort`, `order`...); `columns` the columns it shows."""

    name: str = PydField(min_length=1, max_length=VIEW_NAME_MAX)
    shared: bool = False
    query: dict[str, Any] = PydField(default_factory=dict)
    columns: list[Annotated[str, PydField(min_length=1, max_length=50)]] = PydField(default_factory=list, max_length=50)


class SavedViewPatch(InputModel):
    """Partial update: only the fields sent change."""

    name: str | None = PydField(default=None, min_length=1, max_length=VIEW_NAME_MAX)
    shared: bool | None = None
    query: dict[str, Any] | None = None
    columns: list[Annotated[str, PydField(min_length=1, max_length=50)]] | None = PydField(default=None, max_length=50)


class SavedViewOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    name: str
    owner_id: int
    shared: bool
    query: dict[str, Any]
    columns: list[str]
    created_at: datetime
    updated_at: datetime
