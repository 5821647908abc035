"""People: view, create, edit, delete (HTML). The list is crm/web/people_list.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, InvalidInput
from crm.i18n import gettext
from crm.merges.duplicates import similar_profiles
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
from crm.recognition import badges
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect
from crm.web.forms import as_input, default_values, shown_values, typed_values
from crm.web.identities import (
    MAX_LINKS_TEXT,
    blank_identity,
    fill_row,
    is_blank,
    rows_for_links,
    rows_from_form,
    unread_links_message,
)

router = APIRouter(prefix="/people")

BLANK_IDENTITY_ROWS = 2


# ---- the form: read and written field by field, by each field's type (crm.web.forms) --------------


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
        "identities": identities + [blank_identity() for _ in range(BLANK_IDENTITY_ROWS)],
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    """What was typed. Links pasted into the links box (and not yet turned into rows by htmx) are
    saved too, as rows after the typed ones; if the save fails the form comes back as it was typed,
    the links still in their box with what stopped each (see _links_errors)."""
    rows = rows_from_form(form)
    links = form.get("links")
    links = links.strip() if isinstance(links, str) else ""
    added, sources, unread = rows_for_links(rows, links[:MAX_LINKS_TEXT]) if links else ([], [], [])
    return {**typed_values(ProfileFields, form), "identities": rows + added, "links": links,
            "typed_rows": len(rows), "link_sources": sources, "unread_links": unread}


def _links_errors(values: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Errors about rows that came from the links box, said once, on the box, line by line."""
    typed, sources = values["typed_rows"], values["link_sources"]
    lines = [f"{line}: {unread_links_message()}" for line in values["unread_links"]]
    shown: dict[str, str] = {}
    for name, message in errors.items():
        parts = name.split(".")
        if parts[0] == "identities" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= typed:
            lines.append(f"{sources[int(parts[1]) - typed]}: {message}")
        else:
            shown[name] = message
    if lines:
        shown["links"] = " · ".join(lines)
    return shown


class _FormProblems(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


def _parse(values: dict[str, Any], kept: list[int]) -> ProfileIn:
    """Build the request schema from the form, leaving out blank identity rows. Counts are read in
    the reader's locale; one that cannot be read keeps its own message beside the schema's others."""
    problems: dict[str, str] = {"links": unread_links_message()} if values["unread_links"] else {}
    data = as_input(ProfileFields, {name: value for name, value in values.items() if name in ProfileFields.model_fields},
                    problems)
    data["identities"] = [as_input(IdentityIn, values["identities"][i], problems, prefix=f"identities.{n}.")
                          for n, i in enumerate(kept)]
    try:
        profile = ProfileIn.model_validate(data)
    except ValidationError as exc:
        raise _FormProblems({**field_errors(exc), **problems}) from None
    if problems:
        raise _FormProblems(problems)
    return profile


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
    return [i for i, row in enumerate(values["identities"]) if not is_blank(row)]


def _shown_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the form shows them again: what a link implies filled in, as saving would."""
    return [fill_row(row)[0] if not is_blank(row) else row for row in rows]


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
    except _FormProblems as exc:
        errors = _remap(exc.errors, kept)
    except (InvalidInput, Conflict) as exc:  # a save lost to a concurrent one (409) reads like any clash
        db.rollback()
        errors = _remap(exc.field_errors, kept) or {"__all__": exc.message}
    else:
        message = gettext("%(name)s added.") if profile_id is None else gettext("%(name)s saved.")
        return redirect(request, f"/people/{profile.id}", flash=message % {"name": profile.display_name})
    errors = _links_errors(values, errors)
    values["identities"] = [*_shown_rows(values["identities"][:values["typed_rows"]]), blank_identity()]
    context = _form_context(db, values, errors, profile_id=profile_id)
    return render(request, "profiles/form.html", context, block="profile_form", status_code=422)


@router.get("/new")
def new_profile(request: Request, db: DB, user: WriterUser) -> Response:
    values = {**shown_values(ProfileFields, default_values(ProfileFields)), "identities": [blank_identity() for _ in range(3)]}
    values["owner_id"] = str(user.id)  # the person adding someone looks after them unless they choose otherwise
    return render(request, "profiles/form.html", _form_context(db, values, {}, profile_id=None))


@router.get("/similar")
def similar_people(
    request: Request, db: DB, user: WriterUser, display_name: str = "", exclude: int | None = None
) -> Response:
    """While a name is typed into the form: people already in Altavoz with a similar name."""
    if not is_fragment_request(request):
        return redirect(request, "/people?" + urlencode({"q": display_name}))
    matches = similar_profiles(display_name[:200], session=db, exclude_id=exclude)
    return render(request, "profiles/_similar.html", {"matches": matches})


@router.get("/identity-row")
def identity_row(request: Request, user: WriterUser, index: int = 0) -> Response:
    """One more blank identity row for the form (htmx appends it); without htmx, the form itself."""
    if not is_fragment_request(request):
        return redirect(request, "/people/new")
    context = {"index": max(0, min(index, 99)), "row": blank_identity(), "errors": {}, "platforms": list(Platform)}
    return render(request, "profiles/_new_identity_row.html", context)


@router.post("")
def create_profile(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{profile_id}")
def profile_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    detail = profile_detail(profile_id, session=db)
    return render(request, "profiles/detail.html", {"detail": detail, "recognition": badges.panel(profile_id, session=db)})


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
