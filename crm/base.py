"""Column helpers shared by every domain's tables."""

from __future__ import annotations

from typing import Any

from sqlmodel import Field

from crm.db import UTCDateTime, utcnow


def created_at_field(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kwargs)


def updated_at_field(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow},
                 **kwargs)


def optional_datetime_field(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, **kwargs)

