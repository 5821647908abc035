"""People: list, search, view, create, edit, delete (HTML)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.errors import InvalidInput
from crm.i18n import gettext
from crm.profiles import service as profiles
from crm.profiles.models import ConsentBasis, Platform, ProfileIn, ProfileRole, ProfileStatus
from crm.templating import is_fragment_request, render
from crm.web.common import Form, checkbox, field_errors, int_or_none, redirect, text

router = APIRouter(prefix="/people")

_IDENTITY_KEY = re.compile(r"^identities-(\d+)-(\w+)$")
BLANK_IDENTITY_ROWS = 2


def people_url(params: profiles.ListQuery, **changes: Any) -> str:
    """The list's URL with some parameters changed (page, sort...), for links and htmx requests."""
    values = {
        "q": params.q, "status": params.status, "role": params.role, "topic": params.topic,
        "sort": params.sort.value, "dir": "desc" if params.descending else "asc", "page": params.page,
    }
    values.update(changes)
    if values["page"] == 1:
        del values["page"]
    return "/people?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _list_query(
    request: Request, q: str, sort: str, dir: str, page: str, status: str, role: str, topic: str
) -> profiles.ListQuery:
    sort_key = profiles.SortKey(sort) if sort in profiles.SortKey.__members__ else profiles.SortKey.name
    return profiles.ListQuery(
        q=q.strip()[:200],
        sort=sort_key,
        descending=dir == "desc",
        page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        per_page=get_settings(request).page_size,
        status=status if status in ProfileStatus.__members__ else "",
        role=role if role in ProfileRole.__members__ else "",
        topic=" ".join(topic.split()).lower()[:50],
    )


@router.get("")
def people_list(
    request: Request, db: DB, user: CurrentUser,
    q: str = "", sort: str = "name", dir: str = "asc", page: str = "1", status: str = "", role: str = "", topic: str = "",
) -> Response:
    params = _list_query(request, q, sort, dir, page, status, role, topic)
    listing = profiles.list_profiles(params, session=db)
    if not listing.rows and listing.page > listing.pages:  # an old link past the end: show the last page
        params = replace(params, page=listing.pages)
        listing = profiles.list_profiles(params, session=db)
    context = {
        "listing": listing, "params": params, "statuses": list(ProfileStatus), "roles": list(ProfileRole),
        "people_url": people_url,
    }
    return render(request, "profiles/list.html", context, block="results")


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


def _blank_identity() -> dict[str, Any]:
    return {"platform": "x", "handle": "", "url": "", "followers": "", "verified": False}


def _values_from_profile(detail: profiles.ProfileDetail) -> dict[str, Any]:
    p = detail.profile
    return {
        "display_name": p.display_name, "roles": p.roles, "is_team_member": p.is_team_member, "bio": p.bio,
        "topics": ", ".join(p.topics), "language": p.language, "location": p.location, "status": p.status,
        "may_contact": p.may_contact, "may_feature": p.may_feature, "consent_basis": p.consent_basis,
        "consent_date": p.consent_date.isoformat() if p.consent_date else "",
        "owner_id": str(p.owner_id or ""),
        "identities": [
            {"platform": i.platform, "handle": i.handle, "url": i.url, "followers": str(i.followers), "verified": i.verified}
            for i in detail.identities
        ] + [_blank_identity() for _ in range(BLANK_IDENTITY_ROWS)],
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    """What the user typed, as the form shows it again (strings and booleans)."""
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        match = _IDENTITY_KEY.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(key)
    identities = []
    for index in sorted(rows):
        row = rows[index]
        identities.append({
            "platform": str(row.get("platform") or ""), "handle": str(row.get("handle") or "").strip(),
            "url": str(row.get("url") or "").strip(), "followers": str(row.get("followers") or "").strip(),
            "verified": row.get("verified") in ("on", "true"),
        })
    return {
        "display_name": text(form, "display_name"), "roles": form.getlist("roles"),
        "is_team_member": checkbox(form, "is_team_member"), "bio": text(form, "bio"), "topics": text(form, "topics"),
        "language": text(form, "language"), "location": text(form, "location"), "status": text(form, "status"),
        "may_contact": checkbox(form, "may_contact"), "may_feature": checkbox(form, "may_feature"),
        "consent_basis": text(form, "consent_basis"), "consent_date": text(form, "consent_date"),
        "owner_id": text(form, "owner_id"), "identities": identities,
    }


def _parse(values: dict[str, Any], kept: list[int]) -> ProfileIn:
    """Build the request schema from the form, leaving out blank identity rows."""
    data = {
        **{k: v for k, v in values.items() if k not in ("identities", "topics", "owner_id", "consent_date")},
        "topics": [t for t in values["topics"].split(",") if t.strip()],
        "owner_id": int_or_none(values["owner_id"]),
        "consent_date": values["consent_date"] or None,
        "identities": [
            {**values["identities"][i], "followers": int_or_none(values["identities"][i]["followers"]) or 0}
            for i in kept
        ],
    }
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
    return [i for i, row in enumerate(values["identities"]) if row["handle"] or row["url"] or row["followers"]]


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
    except InvalidInput as exc:
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
    blank_rows = [_blank_identity() for _ in range(3)]
    values: dict[str, Any] = {"status": "prospect", "roles": [], "topics": "", "identities": blank_rows}
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
def create_profile(request: Request, db: DB, user: CurrentUser, form: Form) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{profile_id}")
def profile_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    detail = profiles.profile_detail(profile_id, session=db)
    return render(request, "profiles/detail.html", {"detail": detail})


@router.get("/{profile_id}/timeline")
def timeline_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, offset: int = 0) -> Response:
    """Older history for the profile page (htmx appends it); without htmx, the profile page itself."""
    if not is_fragment_request(request):
        return redirect(request, f"/people/{profile_id}#timeline")
    profiles.get_profile(profile_id, session=db)
    items = profiles.timeline(profile_id, session=db, offset=offset)
    context = {"items": items, "profile_id": profile_id, "shown": max(0, offset) + len(items),
               "total": profiles.count_interactions(profile_id, session=db)}
    return render(request, "profiles/_timeline_page.html", context)


@router.get("/{profile_id}/edit")
def edit_profile(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    detail = profiles.profile_detail(profile_id, session=db)
    values = _values_from_profile(detail)
    return render(request, "profiles/form.html", _form_context(db, values, {}, profile_id=profile_id, detail=detail))


@router.post("/{profile_id}")
def update_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, form: Form) -> Response:
    return _save(request, db, user, form, profile_id)


@router.get("/{profile_id}/delete")
def confirm_delete(request: Request, db: DB, user: WriterUser, profile_id: IdPath) -> Response:
    profile = profiles.get_profile(profile_id, session=db)
    impact = profiles.deletion_impact(profile_id, session=db)
    return render(request, "profiles/delete.html", {"profile": profile, "impact": impact})


@router.post("/{profile_id}/delete")
def delete_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    name = profiles.delete_profile(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/people", flash=gettext("%(name)s was deleted.") % {"name": name})
