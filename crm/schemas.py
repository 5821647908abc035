"""Building blocks for request and response schemas shared by every domain."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Ids are INTEGER columns: PostgreSQL's are 32-bit, so anything larger can only be "not found".
MAX_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused, text is trimmed, and NUL characters
    (which PostgreSQL cannot store in text) are refused with a field error instead of a 500."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer of the API."""

    detail: str
    errors: list[dict[str, Any]] | dict[str, str] | None = Field(
        default=None, description="Request validation: a list of {loc, msg, type}; business rules: field -> message"
    )
