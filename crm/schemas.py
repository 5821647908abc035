"""Building blocks for request and response schemas shared by every domain."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

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


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def all_optional(model: type[M], name: str, doc: str) -> type[M]:
    """`model` with every field optional (default None) and its rules kept, for partial updates.

    It subclasses `model`, so validators and configuration carry over; only the fields sent are set
    (see `model_fields_set`)."""
    fields: dict[str, Any] = {
        field_name: (field.rebuild_annotation() | None, Field(default=None, description=field.description))
        for field_name, field in model.model_fields.items()
    }
    return create_model(name, __base__=model, __doc__=doc, __module__=model.__module__, **fields)


# Response schemas: read from table rows, and every field marked required in the API document
# (responses always carry every field).
OUT_CONFIG = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class Page(BaseModel, Generic[T]):
    """One page of a listing: every list in the API answers this shape."""

    items: list[T]
    total: int
    page: int
    per_page: int
    pages: int


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer of the API."""

    detail: str
    errors: list[dict[str, Any]] | dict[str, str] | None = Field(
        default=None, description="Request validation: a list of {loc, msg, type}; business rules: field -> message"
    )
