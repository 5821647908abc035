"""Forms read and written field by field, by each field's type in a pydantic schema, so a form needs
no hand-written list of its fields: checkbox, several choices, comma-separated text, number, date,
one choice or text. And query parameters read forgivingly for pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from crm.i18n import current_locale
from crm.profiles.counts import BadCount, parse_count
from crm.web.common import checkbox, text

M = TypeVar("M", bound=BaseModel)

# Whole-number fields that are counts (of followers, posts...), read as crm.profiles.counts reads them.
COUNT_FIELDS = frozenset({"followers", "following", "posts"})


def forgiving(model: type[M], raw: Mapping[str, str]) -> M:
    """`model` from query parameters, for a page: a bad value falls back to its default instead of
    failing the request (an old bookmark or a hand-edited URL still shows something)."""
    data = {name: raw[name] for name in model.model_fields if name in raw}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        return model.model_validate({name: value for name, value in data.items() if name not in bad})


_SIMPLE_KINDS: dict[Any, str] = {bool: "checkbox", int: "int", float: "float", date: "date"}


def field_kind(field: FieldInfo) -> str:
    """How a field appears on a form: checkbox, choices (several), text_list (comma-separated),
    int, float, date, choice (one) or text."""
    kind: Any = field.annotation
    if get_origin(kind) in (Union, UnionType):  # `DbId | None` -> DbId
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    while hasattr(kind, "__metadata__"):  # Annotated[int, ...] -> int
        kind = get_args(kind)[0]
    if get_origin(kind) is list:
        item = get_args(kind)[0]
        return "choices" if issubclass(item, Enum) else "text_list"
    if kind in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[kind]
    return "choice" if isinstance(kind, type) and issubclass(kind, Enum) else "text"


def shown_values(model: type[BaseModel], source: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the form shows them: text for boxes, a boolean per checkbox, a list of choices."""
    shown: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value, kind = source.get(name), field_kind(field)
        if kind == "checkbox":
            shown[name] = bool(value)
        elif kind == "choices":
            shown[name] = [str(item) for item in value or []]
        elif kind == "text_list":
            shown[name] = ", ".join(value or [])
        elif value is None:
            shown[name] = ""
        elif isinstance(value, date):
            shown[name] = value.isoformat()
        else:
            shown[name] = str(value)
    return shown


def default_values(model: type[BaseModel]) -> dict[str, Any]:
    return {name: field.get_default(call_default_factory=True)
            for name, field in model.model_fields.items() if not field.is_required()}


def typed_values(model: type[BaseModel], form: FormData, prefix: str = "") -> dict[str, Any]:
    """What the user typed, as the form shows it again. A field the form does not show is left out
    (so an identity keeps its stored value); a checkbox is always read, as an unticked one sends nothing."""
    typed: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key, kind = prefix + name, field_kind(field)
        if kind == "checkbox":
            typed[name] = checkbox(form, key)
        elif kind == "choices":
            typed[name] = [str(value) for value in form.getlist(key)]
        elif key in form:
            typed[name] = text(form, key)
    return typed


def as_input(model: type[BaseModel], typed: Mapping[str, Any], problems: dict[str, str] | None = None,
             prefix: str = "") -> dict[str, Any]:
    """Form values as the schema's input: lists split at commas, counts read in the reader's locale
    ("12.500" in Spanish, "12,500" in English, "12,4K" and "1.2M" in both: crm.profiles.counts), and an
    empty number or date box taken as the field's default. A count that cannot be read stays as typed
    and its message goes into `problems` under `prefix` + its name (the schema's wording is vaguer)."""
    data: dict[str, Any] = {}
    for name, value in typed.items():
        field = model.model_fields[name]
        kind = field_kind(field)
        if kind == "text_list":
            value = [part for part in value.split(",") if part.strip()]
        elif kind in ("int", "float", "date") and value == "" and not field.is_required():
            value = field.get_default(call_default_factory=True)
        elif kind == "int" and name in COUNT_FIELDS:
            try:
                value = parse_count(value, current_locale.get())
            except BadCount as exc:
                if problems is not None:
                    problems[prefix + name] = str(exc)
        elif kind == "int":
            value = value.replace(",", "").replace("_", "")
        data[name] = value
    return data
