"""One definition of a profile's fields: the schemas derive from ProfileFields and IdentityFields,
and those agree with the tables that store them."""

from __future__ import annotations

import pytest
from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError
from sqlalchemy import String
from sqlmodel import SQLModel

from crm.imports.seed_loader import IDENTITY_COLUMNS, PROFILE_COLUMNS
from crm.profiles.models import (
    HANDLE_MAX,
    Identity,
    IdentityFields,
    IdentityIn,
    IdentityOut,
    Profile,
    ProfileFields,
    ProfileIn,
    ProfileOut,
    ProfilePatch,
)
from crm.schemas import Page


def _max_length(field) -> int | None:
    return next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)


@pytest.mark.parametrize(("fields", "table"), [(ProfileFields, Profile), (IdentityFields, Identity)])
def test_every_schema_field_is_a_column_with_the_same_length(fields: type[BaseModel], table: type[SQLModel]):
    columns = table.__table__.columns  # type: ignore[attr-defined]
    for name, field in fields.model_fields.items():
        assert name in columns, f"{fields.__name__}.{name} has no column"
        if isinstance(columns[name].type, String) and field.annotation is str:
            assert _max_length(field) == columns[name].type.length, name


def test_the_handle_key_is_checked_against_its_own_column():
    assert Identity.__table__.columns["handle_key"].type.length == HANDLE_MAX  # type: ignore[attr-defined]


def test_request_and_response_schemas_are_built_from_the_fields():
    assert set(ProfileIn.model_fields) == set(ProfileFields.model_fields) | {"identities"}
    assert set(ProfilePatch.model_fields) == set(ProfileIn.model_fields)
    assert set(ProfileOut.model_fields) == set(ProfileFields.model_fields) | {
        "id", "reach", "contribution_count", "last_activity_at", "score", "score_rank", "level", "advocacy", "influence",
        "identities", "created_at", "updated_at"}
    assert set(IdentityIn.model_fields) == set(IdentityFields.model_fields)
    assert set(IdentityOut.model_fields) == set(IdentityFields.model_fields) | {"id", "last_synced_at"}


def test_the_patch_is_all_optional_and_keeps_the_rules():
    assert all(not field.is_required() and field.default is None for field in ProfilePatch.model_fields.values())
    assert ProfilePatch.model_validate({}).model_fields_set == set()
    patch = ProfilePatch.model_validate({"topics": ["  Open   Source", "open source"], "roles": ["customer"] * 2})
    assert patch.model_fields_set == {"topics", "roles"}
    assert patch.topics == ["open source"] and patch.roles == ["customer"]
    for bad in ({"display_name": ""}, {"bio": "x" * 5001}, {"owner_id": 0}, {"nonsense": 1}, {"bio": "a\x00b"}):
        with pytest.raises(ValidationError):
            ProfilePatch.model_validate(bad)


def test_the_seed_columns_are_the_schema_fields():
    assert PROFILE_COLUMNS[0] == "key" and IDENTITY_COLUMNS[0] == "profile_key"
    assert len(PROFILE_COLUMNS) == len(ProfileFields.model_fields) - 1  # "key" in, the owner and tags out
    assert IDENTITY_COLUMNS[1:] == tuple(IdentityFields.model_fields)


def test_page_is_generic():
    page = Page[IdentityOut].model_validate(
        {"items": [{"id": 1, "platform": "x", "handle": "ana", "last_synced_at": None}],
         "total": 1, "page": 1, "per_page": 50, "pages": 1})
    assert isinstance(page.items[0], IdentityOut)
    with pytest.raises(ValidationError):
        Page[IdentityOut].model_validate({"items": [{"id": "x"}], "total": 1, "page": 1, "per_page": 50, "pages": 1})
