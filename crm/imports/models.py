"""Imports: the uploaded file, the mapping remembered per source, and each rejected row with its reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, updated_at_field


class ImportUpload(SQLModel, table=True):
    """The file as uploaded, kept in the database so that any worker on any machine can read it."""

    __tablename__ = "import_upload"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)
    size: int = Field(default=0)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ImportMapping(SQLModel, table=True):
    """The column mapping last used for a source, suggested the next time."""

    __tablename__ = "import_mapping"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100, unique=True)
    format: str = Field(default="", max_length=30)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = updated_at_field()


class ImportRejection(SQLModel, table=True):
    __tablename__ = "import_rejection"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", ondelete="CASCADE", index=True)
    line: int
    reason: str = Field(sa_type=Text)
    raw: str = Field(default="", sa_type=Text)


class ImportKey(SQLModel, table=True):
    """A person's id in an import source (a seed key, an X user id, a YouTube channel id...), so that
    re-importing a file finds the same person instead of creating a second one."""

    __tablename__ = "import_key"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_import_key_source_external"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=50)
    external_id: str = Field(max_length=200)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
