"""Badge pages (HTML): the list, the form (new and edit), a badge's page with its holders, awards by
hand, revoking (with confirmation) and "evaluate everyone". The person page's recognition panel is
built by crm.recognition.badges.panel (called from crm/web/profiles.py)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.interactions import log
from crm.interactions.models import CONTRIBUTION_KINDS, InteractionKind
from crm.recognition import badges
from crm.recognition.badges import BadgeIn
from crm.schemas import MAX_ID
from crm.templating import is_fragment_request, render
from crm.web.common import Form, checkbox, field_errors, redirect, text

router = APIRouter(prefix="/recognition/badges")

CRITERIA_FIELDS = ("kind", "count", "window_days", "min_sentiment", "topic", "campaign_id")
HOLDERS_PER_PAGE = 25
MAX_IDS_TEXT = 5000


# ---- the form ----------------------------------------------------------------------------------


def _kinds() -> list[str]:
    """Kinds a badge can count: contributions first, then the other kinds people do (which may earn points)."""
    others = [k.value for k in InteractionKind if k not in CONTRIBUTION_KINDS and k.value not in (
        "outreach_email", "outreach_dm", "outreach_meeting", "note")]
    return [k.value for k in InteractionKind if k in CONTRIBUTION_KINDS] + others


def _form_context(db: Any, values: dict[str, Any], errors: dict[str, str], badge: Any = None) -> dict[str, Any]:
    return {"values": values, "errors": errors, "badge": badge, "kinds": _kinds(),
            "campaigns": list(badges.campaign_names(session=db).items()), "tab": "badges"}


def _blank_values() -> dict[str, Any]:
    return {"name": "", "description": "", "symbol": "★", "earned": "criteria", "active": True, "kind": "",
            "count": "10", "window_days": "90", "min_sentiment": "", "topic": "", "campaign_id": ""}


def _badge_values(badge: Any) -> dict[str, Any]:
    c = badge.criteria or {}
    shown = {name: "" if c.get(name) is None else str(c.get(name)) for name in CRITERIA_FIELDS}
    if c.get("min_sentiment") is not None:
        shown["min_sentiment"] = f"{c['min_sentiment']:g}"
    return {"name": badge.name, "description": badge.description, "symbol": badge.symbol,
            "earned": "manual" if badge.manual else "criteria", "active": badge.active, **shown}


def _typed(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name) for name in ("name", "description", "symbol", *CRITERIA_FIELDS)}
    values["earned"] = "manual" if text(form, "earned") == "manual" else "criteria"
    values["active"] = checkbox(form, "active")
    return values


def _parse(values: dict[str, Any]) -> BadgeIn:
    """The form as the schema the API uses; errors named as the form's fields."""
    problems: dict[str, str] = {}
    data: dict[str, Any] = {name: values[name] for name in ("name", "description", "symbol")}
    data["manual"] = values["earned"] == "manual"
    data["active"] = values["active"]
    if not data["manual"]:
        criteria: dict[str, Any] = {"kind": values["kind"] or None, "topic": values["topic"]}
        for name in ("count", "window_days", "campaign_id"):
            typed = values[name].replace(",", "").replace(".", "").replace(" ", "")
            criteria[name] = typed or None
        if not values["count"]:
            problems["count"] = gettext("Say how many it takes, like 10.")
        sentiment = values["min_sentiment"].replace(",", ".")
        criteria["min_sentiment"] = sentiment or None
        data["criteria"] = criteria
    try:
        parsed = BadgeIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(gettext("Please correct the fields marked below."),
                           field_errors={**_form_names(field_errors(exc)), **problems}) from None
    if problems:
        raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=problems)
    return parsed


def _form_names(errors: dict[str, str]) -> dict[str, str]:
    """"criteria.count" -> "count": the form shows the criteria's fields on their own; an error about the
    criteria as a whole goes next to the choice between criteria and manual."""
    shown: dict[str, str] = {}
    for name, message in errors.items():
        if name == "criteria":
            name = "earned"
        elif name.startswith("criteria."):
            name = name.removeprefix("criteria.").split(".")[0]
        shown.setdefault(name, message)
    return shown


def _save(request: Request, db: Any, user: Any, form: FormData, badge_id: int | None) -> Response:
    values = _typed(form)
    try:
        data = _parse(values)
        actor = actor_for(request, user)
        if badge_id is None:
            saved = badges.create_badge(data, session=db, actor=actor)
        else:
            saved = badges.update_badge(badge_id, data, session=db, actor=actor)
        db.commit()
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = _form_names(exc.field_errors) if exc.field_errors else {"__all__": exc.message}
        if exc.field_errors:
            errors["__all__"] = exc.message
    else:
        message = gettext("Badge “%(name)s” created.") if badge_id is None else gettext("Badge “%(name)s” saved.")
        message = message % {"name": saved.badge.name}
        if saved.awarded:
            message += " " + ngettext("%(num)d person earned it.", "%(num)d people earned it.", saved.awarded) % {
                "num": saved.awarded}
        return redirect(request, f"/recognition/badges/{saved.badge.id}", flash=message)
    existing = badges.get_badge(badge_id, session=db) if badge_id else None
    return render(request, "recognition/badge_form.html", _form_context(db, values, errors, existing),
                  block="badge_form", status_code=422)


# ---- the list, new, edit -----------------------------------------------------------------------


@router.get("")
def badge_list(request: Request, db: DB, user: CurrentUser) -> Response:
    rows = badges.list_badges(session=db)
    return render(request, "recognition/badges.html", {"rows": rows, "tab": "badges"})


@router.get("/new")
def new_badge(request: Request, db: DB, user: WriterUser) -> Response:
    return render(request, "recognition/badge_form.html", _form_context(db, _blank_values(), {}))


@router.post("")
def create_badge(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{badge_id}/edit")
def edit_badge(request: Request, db: DB, user: WriterUser, badge_id: IdPath) -> Response:
    badge = badges.get_badge(badge_id, session=db)
    return render(request, "recognition/badge_form.html", _form_context(db, _badge_values(badge), {}, badge))


@router.post("/{badge_id}/edit")
def update_badge(request: Request, db: DB, user: WriterUser, badge_id: IdPath, form: Form) -> Response:
    return _save(request, db, user, form, badge_id)


# ---- one badge: holders, awards by hand, revoking ----------------------------------------------


def _blank_award() -> dict[str, Any]:
    return {"values": {"ids": "", "reason": ""}, "errors": {}, "chosen": []}


def _badge_page(request: Request, db: Any, badge_id: int, *, page: int = 1, award: dict[str, Any] | None = None,
                status_code: int = 200, block: str = "holders") -> Response:
    badge = badges.get_badge(badge_id, session=db)
    listing = badges.holders(badge_id, session=db, page=page, per_page=HOLDERS_PER_PAGE)
    names = badges.campaign_names(session=db) if badge.criteria.get("campaign_id") else {}
    context = {"badge": badge, "listing": listing, "words": badges.describe(badge.criteria, names), "tab": "badges",
               "award": award or _blank_award()}
    return render(request, "recognition/badge.html", context, block=block, status_code=status_code)


@router.get("/{badge_id}")
def badge_page(request: Request, db: DB, user: CurrentUser, badge_id: IdPath,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    return _badge_page(request, db, badge_id, page=page)


@router.get("/{badge_id}/picker")
def person_picker(request: Request, db: DB, user: CurrentUser, badge_id: IdPath,
                  q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """People whose name matches what is typed, as check boxes of the award form (htmx); else the people list."""
    if not is_fragment_request(request):
        return redirect(request, "/people?" + urlencode({"q": q}))
    matches = log.find_people(q, session=db)
    return render(request, "recognition/_badge_picker.html", {"matches": matches, "q": q, "chosen": []})


def _ids(form: FormData) -> tuple[list[int], list[str]]:
    """Ids ticked in the picker and typed in the ids box (separated by commas or spaces); what could not be read."""
    chosen = [value for value in form.getlist("profile_ids") if isinstance(value, str)]
    typed = text(form, "ids")[:MAX_IDS_TEXT].replace(",", " ").split()
    ids, bad = [], []
    for value in [*chosen, *typed]:
        value = value.strip().lstrip("#")
        if value.isdigit() and 0 < int(value) <= MAX_ID:
            ids.append(int(value))
        else:
            bad.append(value[:20])
    return list(dict.fromkeys(ids)), bad


@router.post("/{badge_id}/award")
def award(request: Request, db: DB, user: WriterUser, badge_id: IdPath, form: Form) -> Response:
    ids, bad = _ids(form)
    reason = text(form, "reason")
    values = {"ids": text(form, "ids")[:MAX_IDS_TEXT], "reason": reason}
    try:
        if bad:
            message = gettext("These are not person ids: %(values)s.") % {"values": ", ".join(bad[:10])}
            raise InvalidInput(message, field_errors={"ids": message})
        if len(reason) > 300:
            raise InvalidInput(gettext("Use at most %(n)s characters.") % {"n": 300},
                               field_errors={"reason": gettext("Use at most %(n)s characters.") % {"n": 300}})
        awards = badges.award_badge(badge_id, ids, session=db, actor=actor_for(request, user), reason=reason)
        db.commit()
    except InvalidInput as exc:
        db.rollback()
        errors = {"ids" if name == "profile_ids" else name: message for name, message in exc.field_errors.items()}
        errors = errors or {"__all__": exc.message}
    else:
        skipped = len(ids) - len(awards)
        if not awards:
            flash = ngettext("They hold this badge already.", "They all hold this badge already.", skipped)
        else:
            flash = ngettext("Awarded to %(num)d person.", "Awarded to %(num)d people.", len(awards)) % {
                "num": len(awards)}
            if skipped:
                flash += " " + ngettext("%(num)d had it already.", "%(num)d had it already.", skipped) % {"num": skipped}
        return redirect(request, f"/recognition/badges/{badge_id}", flash=flash)
    chosen = list(log.people_named(ids[:50], session=db).items())
    return _badge_page(request, db, badge_id, award={"values": values, "errors": errors, "chosen": chosen},
                       status_code=422, block="award_form")


@router.get("/{badge_id}/revoke")
def confirm_revoke(request: Request, db: DB, user: WriterUser, badge_id: IdPath,
                   profile_id: Annotated[int, Query(ge=1, le=MAX_ID)]) -> Response:
    badge = badges.get_badge(badge_id, session=db)
    held = badges.holds(badge_id, profile_id, session=db)
    if held is None:
        raise NotFound(gettext("This person does not hold “%(name)s”.") % {"name": badge.name})
    name = log.people_named([profile_id], session=db).get(profile_id, "")
    return render(request, "recognition/badge_revoke.html", {"badge": badge, "award": held, "name": name,
                                                              "tab": "badges"})


@router.post("/{badge_id}/revoke")
def revoke(request: Request, db: DB, user: WriterUser, badge_id: IdPath, form: Form) -> Response:
    raw = text(form, "profile_id")
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise InvalidInput(gettext("Say whose badge to take back."),
                           field_errors={"profile_id": gettext("Choose someone first.")})
    profile_id = int(raw)
    name = log.people_named([profile_id], session=db).get(profile_id, "")
    badges.revoke_badge(badge_id, profile_id, session=db, actor=actor_for(request, user), reason=text(form, "reason")[:300])
    db.commit()
    back = f"/people/{profile_id}" if text(form, "back") == "person" else f"/recognition/badges/{badge_id}"
    return redirect(request, back, flash=gettext("Badge taken back from %(name)s.") % {"name": name})


@router.post("/{badge_id}/evaluate")
def evaluate(request: Request, db: DB, user: WriterUser, badge_id: IdPath) -> Response:
    try:
        added = badges.evaluate_everyone(badge_id, session=db)
        db.commit()
    except InvalidInput as exc:
        db.rollback()
        return redirect(request, f"/recognition/badges/{badge_id}", flash=exc.message, kind="error")
    flash = (ngettext("%(num)d more person earned it.", "%(num)d more people earned it.", added) % {"num": added}
             if added else gettext("Nobody else meets the criteria yet."))
    return redirect(request, f"/recognition/badges/{badge_id}", flash=flash)
