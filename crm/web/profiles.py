"""People: view, create, edit, delete (HTML). The list is crm/web/people_list.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, InvalidInput
from crm.i18n import gettext
from crm.profiles import service as profiles
from crm.profiles.detail import ProfileDetail, profile_detail
from crm.profiles.models import (
    ConsentBasis,
    IdentityIn,
    Platform,
    ProfileFields,
    ProfileIn,
    ProfileRole,
    ProfileStatus,
)
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect
from crm.web.forms import as_input, default_values, field_kind, shown_values, typed_values

router = APIRouter(prefix="/people")

_IDENTITY_ROW = re.compile(r"^identities-(\d{1,3})-")
BLANK_IDENTITY_ROWS = 2


# ---- the form: read and written field by field, by each field's type (crm.web.forms) --------------


def _is_blank(row: Mapping[str, Any]) -> bool:
    """An identity row with nothing typed in (its platform select and checkbox aside) is ignored."""
    typed_in = ("text", "int", "float", "date")
    return not any(value for name, value in row.items() if field_kind(IdentityIn.model_fields[name]) in typed_in)


def _blank_identity() -> dict[str, Any]:
    return shown_values(IdentityIn, {})


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


def _values_from_profile(detail: ProfileDetail) -> dict[str, Any]:
    identities = [shown_values(IdentityIn, identity.model_dump()) for identity in detail.identities]
    return {
        **shown_values(ProfileFields, detail.profile.model_dump()),
        "identities": identities + [_blank_identity() for _ in range(BLANK_IDENTITY_ROWS)],
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    rows = sorted({int(match.group(1)) for key in form if (match := _IDENTITY_ROW.match(key))})
    identities = [typed_values(IdentityIn, form, prefix=f"identities-{row}-") for row in rows]
    return {**typed_values(ProfileFields, form), "identities": identities}


def _parse(values: dict[str, Any], kept: list[int]) -> ProfileIn:
    """Build the request schema from the form, leaving out blank identity rows."""
    data = as_input(ProfileFields, {name: value for name, value in values.items() if name != "identities"})
    data["identities"] = [as_input(IdentityIn, values["identities"][i]) for i in kept]
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
    values = {**shown_values(ProfileFields, default_values(ProfileFields)), "identities": [_blank_identity() for _ in range(3)]}
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
    detail = profile_detail(profile_id, session=db)
    return render(request, "profiles/detail.html", {"detail": detail})


@router.get("/{profile_id}/edit")
def edit_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    detail = profile_detail(profile_id, session=db)
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
