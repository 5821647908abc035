"""People: list, search, view, create, edit, delete (HTML)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import Enum
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.errors import Conflict, InvalidInput
from crm.i18n import gettext
from crm.profiles import service as profiles
from crm.profiles.models import (
    ConsentBasis,
    IdentityIn,
    ListQuery,
    Platform,
    ProfileFields,
    ProfileIn,
    ProfileRole,
    ProfileStatus,
)
from crm.schemas import MAX_ID
from crm.templating import is_fragment_request, render
from crm.web.common import Form, checkbox, field_errors, redirect, text

router = APIRouter(prefix="/people")

_IDENTITY_ROW = re.compile(r"^identities-(\d{1,3})-")
BLANK_IDENTITY_ROWS = 2
M = TypeVar("M", bound=BaseModel)


# ---- the list --------------------------------------------------------------------------------------


def people_url(params: ListQuery, **changes: Any) -> str:
    """The list's URL with some parameters changed (page, sort...), for links and htmx requests."""
    values = {
        "q": params.q, "status": params.status, "role": params.role, "topic": params.topic,
        "sort": params.sort.value, "dir": params.order.value, "page": params.page,
    }
    values.update(changes)
    if values["page"] == 1:
        del values["page"]
    return "/people?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})


def forgiving(model: type[M], raw: Mapping[str, str]) -> M:
    """`model` from query parameters, for a page: a bad value falls back to its default instead of
    failing the request (an old bookmark or a hand-edited URL still shows something)."""
    data = {name: raw[name] for name in model.model_fields if name in raw}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        return model.model_validate({name: value for name, value in data.items() if name not in bad})


def _list_query(request: Request) -> ListQuery:
    raw = dict(request.query_params)
    raw.pop("per_page", None)  # the page size is a setting here
    raw["order"] = raw.pop("dir", "")  # the page's URLs say dir=
    params = forgiving(ListQuery, raw)
    return params.model_copy(update={"per_page": get_settings(request).page_size})


@router.get("")
def people_list(request: Request, db: DB, user: CurrentUser) -> Response:
    params = _list_query(request)
    listing = profiles.list_profiles(params, session=db)
    if not listing.rows and listing.page > listing.pages:  # an old link past the end: show the last page
        params = params.model_copy(update={"page": listing.pages})
        listing = profiles.list_profiles(params, session=db)
    context = {
        "listing": listing, "params": params, "statuses": list(ProfileStatus), "roles": list(ProfileRole),
        "people_url": people_url,
    }
    return render(request, "profiles/list.html", context, block="results")


# ---- the form: read and written field by field, by each field's type in the schema ---------------


_SIMPLE_KINDS: dict[Any, str] = {bool: "checkbox", int: "int", float: "float", date: "date"}


def _kind(field: FieldInfo) -> str:
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


def _shown(model: type[BaseModel], source: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the form shows them: text for boxes, a boolean per checkbox, a list of choices."""
    shown: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value, kind = source.get(name), _kind(field)
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


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {name: field.get_default(call_default_factory=True)
            for name, field in model.model_fields.items() if not field.is_required()}


def _typed(model: type[BaseModel], form: FormData, prefix: str = "") -> dict[str, Any]:
    """What the user typed, as the form shows it again. A field the form does not show is left out
    (so an identity keeps its stored value); a checkbox is always read, as an unticked one sends nothing."""
    typed: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key, kind = prefix + name, _kind(field)
        if kind == "checkbox":
            typed[name] = checkbox(form, key)
        elif kind == "choices":
            typed[name] = [str(value) for value in form.getlist(key)]
        elif key in form:
            typed[name] = text(form, key)
    return typed


def _as_input(model: type[BaseModel], typed: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as the schema's input: lists split at commas, thousands separators out of whole
    numbers ("12,500"), and an empty number or date box taken as the field's default."""
    data: dict[str, Any] = {}
    for name, value in typed.items():
        field = model.model_fields[name]
        kind = _kind(field)
        if kind == "text_list":
            value = [part for part in value.split(",") if part.strip()]
        elif kind in ("int", "float", "date") and value == "" and not field.is_required():
            value = field.get_default(call_default_factory=True)
        elif kind == "int":
            value = value.replace(",", "").replace("_", "")
        data[name] = value
    return data


def _is_blank(row: Mapping[str, Any]) -> bool:
    """An identity row with nothing typed in (its platform select and checkbox aside) is ignored."""
    typed_in = ("text", "int", "float", "date")
    return not any(value for name, value in row.items() if _kind(IdentityIn.model_fields[name]) in typed_in)


def _blank_identity() -> dict[str, Any]:
    return _shown(IdentityIn, {})


def _form_context(db: Any, values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "roles": list(ProfileRole),
        "statuses": list(ProfileStatus),
        "platforms": list(Platform),
        "consent_bases": [c for c in ConsentBasis if c.value],
        "owners": profiles.owners(session=db),
        **extra,
    }


def _values_from_profile(detail: profiles.ProfileDetail) -> dict[str, Any]:
    identities = [_shown(IdentityIn, identity.model_dump()) for identity in detail.identities]
    return {
        **_shown(ProfileFields, detail.profile.model_dump()),
        "identities": identities + [_blank_identity() for _ in range(BLANK_IDENTITY_ROWS)],
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    rows = sorted({int(match.group(1)) for key in form if (match := _IDENTITY_ROW.match(key))})
    identities = [_typed(IdentityIn, form, prefix=f"identities-{row}-") for row in rows]
    return {**_typed(ProfileFields, form), "identities": identities}


def _parse(values: dict[str, Any], kept: list[int]) -> ProfileIn:
    """Build the request schema from the form, leaving out blank identity rows."""
    data = _as_input(ProfileFields, {name: value for name, value in values.items() if name != "identities"})
    data["identities"] = [_as_input(IdentityIn, values["identities"][i]) for i in kept]
    return ProfileIn.model_validate(data)


def _remap(errors: dict[str, str], kept: list[int]) -> dict[str, str]:
    """Errors name identity n of the schema; show them next to row kept[n] of the form."""
    remapped = {}
    for name, message in errors.items():
        parts = name.split(".")
        if parts[0] == "identities" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(kept):
            parts[1] = str(kept[int(parts[1])])
        remapped[".".join(parts)] = message
    return remapped


def _kept_indices(values: dict[str, Any]) -> list[int]:
    return [i for i, row in enumerate(values["identities"]) if not _is_blank(row)]


def _save(request: Request, db: Any, user: Any, form: FormData, profile_id: int | None) -> Response:
    values = _values_from_form(form)
    kept = _kept_indices(values)
    try:
        data = _parse(values, kept)
        actor = actor_for(request, user)
        if profile_id is None:
            profile = profiles.create_profile(data, session=db, actor=actor)
        else:
            profile = profiles.update_profile(profile_id, data, session=db, actor=actor)
        db.commit()
    except ValidationError as exc:
        errors = _remap(field_errors(exc), kept)
    except (InvalidInput, Conflict) as exc:  # a save lost to a concurrent one (409) reads like any clash
        db.rollback()
        errors = _remap(exc.field_errors, kept) or {"__all__": exc.message}
    else:
        message = gettext("%(name)s added.") if profile_id is None else gettext("%(name)s saved.")
        return redirect(request, f"/people/{profile.id}", flash=message % {"name": profile.display_name})
    values["identities"].append(_blank_identity())
    context = _form_context(db, values, errors, profile_id=profile_id)
    return render(request, "profiles/form.html", context, block="profile_form", status_code=422)


@router.get("/new")
def new_profile(request: Request, db: DB, user: WriterUser) -> Response:
    values = {**_shown(ProfileFields, _defaults(ProfileFields)), "identities": [_blank_identity() for _ in range(3)]}
    return render(request, "profiles/form.html", _form_context(db, values, {}, profile_id=None))


@router.get("/similar")
def similar_people(
    request: Request, db: DB, user: WriterUser, display_name: str = "", exclude: int | None = None
) -> Response:
    """While a name is typed into the form: people already in Altavoz with a similar name."""
    if not is_fragment_request(request):
        return redirect(request, "/people?" + urlencode({"q": display_name}))
    matches = profiles.similar_profiles(display_name[:200], session=db, exclude_id=exclude)
    return render(request, "profiles/_similar.html", {"matches": matches})


@router.get("/identity-row")
def identity_row(request: Request, user: WriterUser, index: int = 0) -> Response:
    """One more blank identity row for the form (htmx appends it); without htmx, the form itself."""
    if not is_fragment_request(request):
        return redirect(request, "/people/new")
    context = {"index": max(0, min(index, 99)), "row": _blank_identity(), "errors": {}, "platforms": list(Platform)}
    return render(request, "profiles/_new_identity_row.html", context)


@router.post("")
def create_profile(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{profile_id}")
def profile_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    detail = profiles.profile_detail(profile_id, session=db)
    return render(request, "profiles/detail.html", {"detail": detail})


@router.get("/{profile_id}/timeline")
def timeline_page(
    request: Request, db: DB, user: CurrentUser, profile_id: IdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,  # no one has more interactions than there are ids
) -> Response:
    """Older history for the profile page (htmx appends it); without htmx, the profile page itself."""
    if not is_fragment_request(request):
        return redirect(request, f"/people/{profile_id}#timeline")
    profiles.get_profile(profile_id, session=db)
    items = profiles.timeline(profile_id, session=db, offset=offset)
    context = {"items": items, "profile_id": profile_id, "shown": offset + len(items),
               "total": profiles.count_interactions(profile_id, session=db)}
    return render(request, "profiles/_timeline_page.html", context)


@router.get("/{profile_id}/edit")
def edit_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    detail = profiles.profile_detail(profile_id, session=db)
    values = _values_from_profile(detail)
    return render(request, "profiles/form.html", _form_context(db, values, {}, profile_id=profile_id, detail=detail))


@router.post("/{profile_id}")
def update_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath, form: Form) -> Response:
    return _save(request, db, user, form, profile_id)


@router.get("/{profile_id}/delete")
def confirm_delete(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    profile = profiles.get_profile(profile_id, session=db)
    impact = profiles.deletion_impact(profile_id, session=db)
    return render(request, "profiles/delete.html", {"profile": profile, "impact": impact})


@router.post("/{profile_id}/delete")
def delete_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    name = profiles.delete_profile(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/people", flash=gettext("%(name)s was deleted.") % {"name": name})
