"""The profile page's history and connections (HTML): the timeline with filters and older pages,
logging, editing and deleting interactions, the person picker, and relationships by hand."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.accounts.models import User
from crm.campaigns.pages import campaign_choices
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.errors import Conflict, InvalidInput
from crm.i18n import gettext
from crm.interactions import log
from crm.interactions.models import (
    InteractionIn,
    InteractionKind,
    RelationshipKind,
    TimelineFilter,
)
from crm.interactions.timeline import timeline_page
from crm.profiles import service as profiles
from crm.profiles.detail import blank_log_values, log_form, profile_detail
from crm.relationships import service as relationships
from crm.relationships.models import Direction, RelationshipIn
from crm.schemas import MAX_ID
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect
from crm.web.forms import as_input, forgiving, shown_values, typed_values

router = APIRouter(prefix="/people")

CONNECTIONS_PER_PAGE = 25
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


def _zone(request: Request) -> tzinfo:
    return ZoneInfo(get_settings(request).time_zone)


def _filters(request: Request) -> TimelineFilter:
    return forgiving(TimelineFilter, dict(request.query_params))


def _filter_query(filters: TimelineFilter) -> str:
    data = {name: value for name, value in filters.model_dump(mode="json").items() if value}
    return urlencode(data)


# ---- the log form ------------------------------------------------------------------------------


def _blank_values() -> dict[str, Any]:
    return blank_log_values()


def _values_from_item(item: Any, zone: tzinfo) -> dict[str, Any]:
    values = shown_values(InteractionIn, item.model_dump())
    values["occurred_at"] = item.occurred_at.astimezone(zone).strftime(LOCAL_FORMAT)
    values["contact_anyway"] = False
    return values


def _values_from_form(form: FormData) -> dict[str, Any]:
    return typed_values(InteractionIn, form)


def _parse(values: dict[str, Any], zone: tzinfo) -> InteractionIn:
    data = as_input(InteractionIn, values)
    typed = str(values.get("occurred_at") or "").strip()
    if not typed:
        data["occurred_at"] = None
    else:
        try:
            moment = datetime.fromisoformat(typed)
        except ValueError:
            data["occurred_at"] = typed  # the schema says what is wrong with it
        else:
            data["occurred_at"] = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return InteractionIn.model_validate(data)


def _form_errors(exc: ValidationError) -> dict[str, str]:
    errors = field_errors(exc)
    if "occurred_at" in errors:
        errors["occurred_at"] = gettext("Enter a date and time like 2026-03-31 14:30.")
    return errors


def _form_context(db: Any, profile_id: int, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    counterpart = str(values.get("counterpart_id") or "")
    chosen = log.people_named([int(counterpart)], session=db) if counterpart.isdigit() and len(counterpart) < 10 else {}
    linked = str(values.get("campaign_id") or "")
    campaigns = campaign_choices(session=db, keep=int(linked) if linked.isdigit() and len(linked) < 10 else None)
    return log_form(profile_id, values, errors, list(chosen.items()), campaigns)


def _panel(request: Request, db: Any, user: User, profile_id: int, *, values: dict[str, Any] | None = None,
           errors: dict[str, str] | None = None, undo: int | None = None, status_code: int = 200,
           open_form: bool = False) -> Response:
    """The timeline panel of the profile page (htmx) or the whole page."""
    detail = profile_detail(profile_id, session=db, zone=_zone(request))
    context = {
        "detail": detail, "p": detail.profile,
        "log": _form_context(db, profile_id, values or _blank_values(), errors or {}),
        "log_open": open_form or bool(errors), "undo_event": undo,
    }
    return render(request, "interactions/panel.html", context, block="timeline_panel", status_code=status_code)


@router.get("/{profile_id}/timeline")
def timeline_more(
    request: Request, db: DB, user: CurrentUser, profile_id: IdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,  # no one has more interactions than there are ids
) -> Response:
    """The timeline, filtered (kind, channel, since, until): older pages are appended by htmx, a new
    filter replaces the list; without htmx, the profile page with the filtered timeline."""
    filters = _filters(request)
    zone = _zone(request)
    if not is_fragment_request(request):
        detail = profile_detail(profile_id, session=db, filters=filters, zone=zone)
        context = {"detail": detail, "p": detail.profile, "log": _form_context(db, profile_id, _blank_values(), {}),
                   "log_open": False, "undo_event": None}
        return render(request, "interactions/panel.html", context)
    profiles.get_profile(profile_id, session=db)
    page = timeline_page(profile_id, session=db, offset=offset, filters=filters, zone=zone)
    context = {"page": page, "items": page.entries, "profile_id": profile_id, "shown": page.shown,
               "total": page.total, "query": _filter_query(filters), "filtered": filters.active}
    return render(request, "profiles/_timeline_page.html", context)


@router.get("/{profile_id}/interactions/new")
def new_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, kind: str = "") -> Response:
    profile = profiles.get_profile(profile_id, session=db)
    values = _blank_values()
    if kind in InteractionKind.__members__:
        values["kind"] = kind
    context = {"p": profile, "log": _form_context(db, profile_id, values, {}),
               "warning": log.contact_refusal(profile)}
    return render(request, "interactions/form.html", context, block="log_form")


@router.post("/{profile_id}/interactions")
def create_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, form: Form) -> Response:
    values = _values_from_form(form)
    try:
        data = _parse(values, _zone(request))
        log.log_interaction(profile_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = _form_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if is_fragment_request(request):
            return _panel(request, db, user, profile_id)
        return redirect(request, f"/people/{profile_id}#timeline", flash=gettext("Logged."))
    if is_fragment_request(request):
        return _panel(request, db, user, profile_id, values=values, errors=errors, status_code=422)
    profile = profiles.get_profile(profile_id, session=db)
    context = {"p": profile, "log": _form_context(db, profile_id, values, errors), "warning": log.contact_refusal(profile)}
    return render(request, "interactions/form.html", context, status_code=422)


def _item_response(request: Request, db: Any, user: User, profile_id: int, item: Any) -> Response:
    context = {"it": item, "profile_id": profile_id, "names": log.people_named([item.counterpart_id or 0], session=db)}
    return render(request, "interactions/item.html", context, block="item")


@router.get("/{profile_id}/interactions/{interaction_id}")
def show_interaction(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, interaction_id: IdPath) -> Response:
    """One entry: what "cancel" on an edit puts back (htmx), or a page of its own."""
    profiles.get_profile(profile_id, session=db)
    item = log.get_interaction(interaction_id, session=db, profile_id=profile_id)
    return _item_response(request, db, user, profile_id, item)


@router.get("/{profile_id}/interactions/{interaction_id}/edit")
def edit_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, interaction_id: IdPath) -> Response:
    profile = profiles.get_profile(profile_id, session=db)
    item = log.get_interaction(interaction_id, session=db, profile_id=profile_id)
    log.check_may_edit(item, user)
    context = {"p": profile, "item": item, "log": _form_context(db, profile_id, _values_from_item(item, _zone(request)), {}),
               "warning": log.contact_refusal(profile)}
    return render(request, "interactions/edit.html", context, block="edit_form")


@router.post("/{profile_id}/interactions/{interaction_id}")
def update_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, interaction_id: IdPath,
                       form: Form) -> Response:
    values = _values_from_form(form)
    try:
        data = _parse(values, _zone(request))
        item = log.update_interaction(interaction_id, data, session=db, actor=actor_for(request, user), user=user,
                                      profile_id=profile_id)
        db.commit()
    except ValidationError as exc:
        errors = _form_errors(exc)
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if is_fragment_request(request):
            return _item_response(request, db, user, profile_id, item)
        return redirect(request, f"/people/{profile_id}#timeline", flash=gettext("Saved."))
    profile = profiles.get_profile(profile_id, session=db)
    item = log.get_interaction(interaction_id, session=db, profile_id=profile_id)
    context = {"p": profile, "item": item, "log": _form_context(db, profile_id, values, errors),
               "warning": log.contact_refusal(profile)}
    return render(request, "interactions/edit.html", context, block="edit_form", status_code=422)


@router.get("/{profile_id}/interactions/{interaction_id}/delete")
def confirm_delete_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath,
                               interaction_id: IdPath) -> Response:
    profile = profiles.get_profile(profile_id, session=db)
    item = log.get_interaction(interaction_id, session=db, profile_id=profile_id)
    log.check_may_edit(item, user)
    return render(request, "interactions/delete.html", {"p": profile, "it": item}, block="confirm")


@router.post("/{profile_id}/interactions/{interaction_id}/delete")
def delete_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, interaction_id: IdPath) -> Response:
    event = log.delete_interaction(interaction_id, session=db, actor=actor_for(request, user), user=user,
                                   profile_id=profile_id)
    db.commit()
    if is_fragment_request(request):
        return _panel(request, db, user, profile_id, undo=event.id)
    return redirect(request, f"/people/{profile_id}?undo={event.id}#timeline", flash=gettext("Deleted."))


@router.post("/{profile_id}/interactions/undo/{event_id}")
def undo_delete_interaction(request: Request, db: DB, user: WriterUser, profile_id: IdPath, event_id: IdPath) -> Response:
    log.undo_delete(event_id, session=db, actor=actor_for(request, user), profile_id=profile_id)
    db.commit()
    if is_fragment_request(request):
        return _panel(request, db, user, profile_id)
    return redirect(request, f"/people/{profile_id}#timeline", flash=gettext("Put back."))


@router.get("/{profile_id}/picker")
def person_picker(request: Request, db: DB, user: CurrentUser, profile_id: IdPath,
                  q: Annotated[str, Query(max_length=200)] = "", field: str = "counterpart_id") -> Response:
    """People whose name matches what is typed, as choices for a form (htmx); else the people list."""
    if not is_fragment_request(request):
        return redirect(request, "/people?" + urlencode({"q": q}))
    field = field if field in ("counterpart_id", "other_id") else "counterpart_id"
    matches = log.find_people(q, session=db, exclude_id=profile_id)
    return render(request, "interactions/_picker.html", {"matches": matches, "q": q, "field": field})


# ---- connections ---------------------------------------------------------------------------------


def _rel_context(db: Any, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    other = str(values.get("other_id") or "")
    chosen = log.people_named([int(other)], session=db) if other.isdigit() and len(other) < 10 else {}
    return {"values": values, "errors": errors, "kinds": [k.value for k in RelationshipKind],
            "directions": [d.value for d in Direction], "chosen": list(chosen.items())}


def _rel_blank() -> dict[str, Any]:
    return {"other_id": "", "kind": "knows", "direction": "outgoing", "strength": "0.5"}


@router.get("/{profile_id}/connections")
def connections_page(
    request: Request, db: DB, user: CurrentUser, profile_id: IdPath,
    sort: str = "strength", dir: str = "desc", page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
) -> Response:
    """Everyone connected to this person, one row each, sortable and paginated."""
    profile = profiles.get_profile(profile_id, session=db)
    listing = relationships.person_connections(profile_id, session=db, sort=sort, descending=dir != "asc", page=page,
                                               per_page=CONNECTIONS_PER_PAGE)
    context = {"p": profile, "listing": listing, "rel": _rel_context(db, _rel_blank(), {})}
    return render(request, "relationships/list.html", context, block="connections_list")


@router.post("/{profile_id}/relationships")
def add_relationship(request: Request, db: DB, user: WriterUser, profile_id: IdPath, form: Form) -> Response:
    values = {name: (form.get(name) or "") for name in ("other_id", "kind", "direction", "strength")}
    values = {name: value.strip() if isinstance(value, str) else "" for name, value in values.items()}
    try:
        data = RelationshipIn.model_validate({k: v for k, v in values.items() if v != ""})
        relationships.add_relationship(profile_id, data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
        if "other_id" in errors:
            errors["other_id"] = gettext("Choose the other person.")
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if is_fragment_request(request):
            return _connections_panel(request, db, profile_id)
        return redirect(request, f"/people/{profile_id}/connections", flash=gettext("Connection added."))
    if is_fragment_request(request):
        return _connections_panel(request, db, profile_id, values=values, errors=errors, status_code=422)
    profile = profiles.get_profile(profile_id, session=db)
    listing = relationships.person_connections(profile_id, session=db, per_page=CONNECTIONS_PER_PAGE)
    context = {"p": profile, "listing": listing, "rel": _rel_context(db, values, errors)}
    return render(request, "relationships/list.html", context, status_code=422)


def _connections_panel(request: Request, db: Any, profile_id: int, *, values: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    detail = profile_detail(profile_id, session=db, zone=_zone(request))
    context = {"detail": detail, "p": detail.profile, "rel": _rel_context(db, values or _rel_blank(), errors or {}),
               "rel_open": bool(errors)}
    return render(request, "relationships/panel.html", context, block="connections_panel", status_code=status_code)


@router.post("/{profile_id}/relationships/{relationship_id}/delete")
def remove_relationship(request: Request, db: DB, user: WriterUser, profile_id: IdPath,
                        relationship_id: IdPath) -> Response:
    relationships.remove_relationship(relationship_id, session=db, actor=actor_for(request, user),
                                      profile_id=profile_id)
    db.commit()
    back = f"/people/{profile_id}/connections"
    return redirect(request, back, flash=gettext("Connection removed."))
