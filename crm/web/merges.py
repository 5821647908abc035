"""HTML routes: the duplicates queue, the merge screen, recent merges and undo, the per-person export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, InvalidInput, NotFound
from crm.exports.person import export_person
from crm.i18n import gettext
from crm.merges import duplicates
from crm.merges import service as merges
from crm.profiles import service as profiles
from crm.schemas import MAX_ID
from crm.templating import render
from crm.web.common import Form, field_errors, redirect, text

router = APIRouter()

PER_PAGE = 25


def _page(value: int) -> int:
    return max(1, min(value, 100_000))


@router.get("/people/duplicates")
def duplicates_page(request: Request, db: DB, user: CurrentUser, page: int = 1) -> Response:
    listing = duplicates.suggestions(session=db, page=_page(page), per_page=PER_PAGE)
    return render(request, "merges/duplicates.html", {"listing": listing}, block="duplicates")


@router.post("/people/duplicates/dismiss")
def dismiss_duplicate(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    try:
        first, second = int(text(form, "a")), int(text(form, "b"))
        if not (1 <= first <= MAX_ID and 1 <= second <= MAX_ID):
            raise ValueError
    except ValueError:
        raise InvalidInput(gettext("Choose two people.")) from None
    duplicates.dismiss(first, second, session=db, actor=actor_for(request, user))
    db.commit()
    page = text(form, "page") or "1"
    return redirect(request, f"/people/duplicates?page={int(page) if page.isdigit() else 1}",
                    flash=gettext("Noted: they are not the same person."))


def _choices(form: Any) -> dict[str, str]:
    return {name: value for name in merges.MERGE_FIELDS if isinstance(value := form.get(f"choice-{name}"), str) and value}


def _merge_context(db: Any, profile_id: int, other: int | None, errors: dict[str, str],
                   choices: dict[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = {"profile_id": profile_id, "other": other, "errors": errors, "choices": choices,
                               "preview": None, "similar": [],
                               "owner_names": {u.id: u.name for u in profiles.owners(session=db)}}
    if other is None:
        survivor = profiles.get_profile(profile_id, session=db)
        context["survivor"] = survivor
        context["similar"] = duplicates.similar_profiles(survivor.display_name, session=db, exclude_id=profile_id, limit=8,
                                                         cutoff=70)
    else:
        context["preview"] = merges.preview(profile_id, other, session=db)
        context["survivor"] = context["preview"].survivor
    return context


@router.get("/people/{profile_id}/merge")
def merge_screen(request: Request, db: DB, user: WriterUser, profile_id: IdPath, other: str = "") -> Response:
    """Both people side by side; without `other`, a choice of whom to merge into this person."""
    errors: dict[str, str] = {}
    other_id: int | None = None
    if other.strip():
        if other.strip().isdigit() and 1 <= int(other) <= MAX_ID:
            other_id = int(other)
        else:
            errors["other"] = gettext("Enter the number (id) of the other person.")
    try:
        context = _merge_context(db, profile_id, other_id, errors, {})
    except (NotFound, InvalidInput) as exc:
        if other_id is None:
            raise
        errors["other"] = exc.message
        context = _merge_context(db, profile_id, None, errors, {})
        return render(request, "merges/merge.html", context, block="merge", status_code=422)
    return render(request, "merges/merge.html", context, block="merge", status_code=422 if errors else 200)


@router.post("/people/{profile_id}/merge")
def merge_people(request: Request, db: DB, user: WriterUser, profile_id: IdPath, form: Form) -> Response:
    other = text(form, "other")
    choices = _choices(form)
    try:
        data = merges.MergeIn.model_validate({"survivor_id": profile_id, "merged_id": other, "choices": choices})
        record = merges.merge(data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = {"__all__": exc.message, **exc.field_errors}
    else:
        message = gettext("%(name)s was merged into this person. You can undo it from Recent merges.") % {
            "name": record.merged_name}
        return redirect(request, f"/people/{profile_id}", flash=message)
    other_id = int(other) if other.isdigit() and 1 <= int(other) <= MAX_ID else None
    try:
        context = _merge_context(db, profile_id, other_id, errors, choices)
    except (NotFound, InvalidInput):
        context = _merge_context(db, profile_id, None, errors, choices)
    return render(request, "merges/merge.html", context, block="merge", status_code=422)


@router.get("/merges")
def recent_merges(request: Request, db: DB, user: WriterUser, page: int = 1) -> Response:
    listing = merges.recent_merges(session=db, page=_page(page), per_page=PER_PAGE)
    return render(request, "merges/list.html", {"listing": listing}, block="merges")


@router.post("/merges/{merge_id}/undo")
def undo_merge(request: Request, db: DB, user: WriterUser, merge_id: IdPath) -> Response:
    try:
        record = merges.undo(merge_id, session=db, actor=actor_for(request, user))
    except Conflict as exc:
        db.rollback()
        return redirect(request, "/merges", flash=exc.message, kind="error")
    db.commit()
    return redirect(request, f"/people/{record.merged_id}",
                    flash=gettext("The merge was undone: %(name)s is back.") % {"name": record.merged_name})


@router.get("/people/{profile_id}/export")
def export_profile(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    """Everything held about one person, as a JSON download (a data-access request); audited."""
    data = export_person(profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    filename = f"person-{profile_id}.json"
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
