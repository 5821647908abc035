"""HTML routes: saved views (/people/views), list exports (/people/export) and bulk actions (/people/bulk)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from crm.accounts.models import User
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.downloads import audited_export
from crm.errors import InvalidInput
from crm.exports import lists as exports
from crm.i18n import gettext, ngettext
from crm.profiles import service as profiles
from crm.profiles.models import ProfileStatus
from crm.profiles.search import ListQuery
from crm.templating import is_fragment_request, render
from crm.views import bulk
from crm.views import service as views
from crm.views.models import SavedView, SavedViewIn, SavedViewPatch
from crm.web.common import Form, checkbox, field_errors, input_errors, redirect, text

router = APIRouter(prefix="/people")

# The people page's URLs say dir= for the order; `view` names the saved view that was opened.
_URL_ONLY = frozenset({"view", "page", "per_page", "cols", "csrf_token"})


# ---- the list's URL <-> list parameters --------------------------------------------------------------


def _raw_list_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query pairs as ListQuery input: dir= becomes order=, a repeated parameter becomes a list."""
    raw: dict[str, Any] = {}
    for key, value in pairs:
        key = "order" if key == "dir" else key
        if key in _URL_ONLY or key not in ListQuery.model_fields or value == "":
            continue
        if key in raw:
            raw[key] = [*raw[key], value] if isinstance(raw[key], list) else [raw[key], value]
        else:
            raw[key] = value
    return raw


def _columns(pairs: list[tuple[str, str]]) -> list[str]:
    """The columns asked for (cols=a,b), as given."""
    return [part.strip() for key, value in pairs if key == "cols" for part in value.split(",") if part.strip()]


def list_from_pairs(pairs: list[tuple[str, str]]) -> tuple[ListQuery, list[str]]:
    """The list parameters and columns of a people-list URL, read forgivingly (as the list page does)."""
    return views.rebuild(_raw_list_params(pairs)).params, _columns(pairs)


def list_from_string(query_string: str) -> tuple[ListQuery, list[str]]:
    return list_from_pairs(parse_qsl(query_string.lstrip("?"), keep_blank_values=False)[:200])


def view_from_string(query_string: str) -> tuple[ListQuery, list[str]]:
    """What a view keeps of a list URL: its parameters and the columns the list knows."""
    params, columns = list_from_string(query_string)
    return params, views.known_columns(columns)


def list_url(query: Mapping[str, Any], columns: list[str], view_id: int | None = None) -> str:
    """The people page showing `query` (a view's stored parameters) with `columns`."""
    pairs: list[tuple[str, Any]] = []
    for key, value in query.items():
        key = "dir" if key == "order" else key
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, ("true" if item else "false") if isinstance(item, bool) else item))
    if columns:
        pairs.append(("cols", ",".join(columns)))
    if view_id is not None:
        pairs.append(("view", view_id))
    return "/people" + ("?" + urlencode(pairs) if pairs else "")


def _query_string(params: ListQuery, columns: list[str]) -> str:
    return list_url(views.query_of(params), columns).partition("?")[2]


def _open_view_id(pairs: list[tuple[str, str]]) -> int | None:
    value = dict(pairs).get("view", "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


# ---- saved views ---------------------------------------------------------------------------------


def _views_context(db: Session, user: User) -> dict[str, Any]:
    found = views.visible_views(session=db, user=user)
    return {"views": found, "owners": views.owner_names(found, session=db), "list_url": list_url,
            "can_change": lambda v: views.can_change(v, user)}


@router.get("/views")
def views_page(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "views/index.html", _views_context(db, user), block="views_list")


@router.get("/views/bar")
def views_bar(request: Request, db: DB, user: CurrentUser) -> Response:
    """The saved-views bar above the people list (loaded by htmx with the list's own parameters)."""
    if not is_fragment_request(request):
        return redirect(request, "/people/views")
    pairs = list(request.query_params.multi_items())
    params, columns = list_from_pairs(pairs)
    columns = views.known_columns(columns)
    open_id = _open_view_id(pairs)
    context = _views_context(db, user)
    context.update(open_view=next((v for v in context["views"] if v.id == open_id), None),
                   list_query=_query_string(params, columns))
    return render(request, "views/bar.html", context)


def _save_form_values(form: FormData) -> dict[str, Any]:
    return {"name": text(form, "name"), "shared": checkbox(form, "shared"), "list_query": text(form, "list_query")}


@router.post("/views")
def create_view(request: Request, db: DB, user: CurrentUser, form: Form) -> Response:
    values = _save_form_values(form)
    params, columns = view_from_string(values["list_query"])
    try:
        data = SavedViewIn(name=values["name"], shared=values["shared"], query=views.query_of(params), columns=columns)
        view = views.create_view(data, session=db, user=user, actor=actor_for(request, user))
        db.commit()
    except (ValidationError, InvalidInput) as exc:
        db.rollback()
        errors = input_errors(exc)
    else:
        return redirect(request, list_url(view.query, view.columns, view.id),
                        flash=gettext("View “%(name)s” saved.") % {"name": view.name})
    context = {"values": values, "errors": errors, "list_url": list_url(views.query_of(params), columns)}
    return render(request, "views/save.html", context, block="save_form", status_code=422)


@router.get("/views/{view_id}")
def open_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    """Open a view: the people list with its filters, sort and columns."""
    view = views.get_view(view_id, session=db, user=user)
    rebuilt = views.rebuild(view.query)
    url = list_url(views.query_of(rebuilt.params), view.columns, view.id)
    if rebuilt.dropped:
        notice = gettext("Some of this view's filters no longer apply and were left out: %(names)s.") % {
            "names": ", ".join(rebuilt.dropped)}
        return redirect(request, url, flash=notice, kind="error")
    return redirect(request, url)


def _edit_values(view: SavedView) -> dict[str, Any]:
    return {"name": view.name, "shared": view.shared}


@router.get("/views/{view_id}/edit")
def edit_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    view = views.get_view(view_id, session=db, user=user)
    context = {"view": view, "values": _edit_values(view), "errors": {}, "can_change": views.can_change(view, user),
               "list_url": list_url(view.query, view.columns, view.id)}
    return render(request, "views/edit.html", context, block="edit_form")


@router.post("/views/{view_id}")
def update_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath, form: Form) -> Response:
    """Rename a view, or share it or make it private."""
    values = {"name": text(form, "name"), "shared": checkbox(form, "shared")}
    try:
        patch = SavedViewPatch(name=values["name"], shared=values["shared"])
        view = views.update_view(view_id, patch, session=db, user=user, actor=actor_for(request, user))
        db.commit()
    except (ValidationError, InvalidInput) as exc:
        db.rollback()
        errors = input_errors(exc)
    else:
        return redirect(request, "/people/views", flash=gettext("View “%(name)s” saved.") % {"name": view.name})
    view = views.get_view(view_id, session=db, user=user)
    context = {"view": view, "values": values, "errors": errors, "can_change": True,
               "list_url": list_url(view.query, view.columns, view.id)}
    return render(request, "views/edit.html", context, block="edit_form", status_code=422)


@router.post("/views/{view_id}/query")
def update_view_query(request: Request, db: DB, user: CurrentUser, view_id: IdPath, form: Form) -> Response:
    """Update a view to the list's current filters, sort and columns."""
    params, columns = view_from_string(text(form, "list_query"))
    patch = SavedViewPatch(query=views.query_of(params), columns=columns)
    view = views.update_view(view_id, patch, session=db, user=user, actor=actor_for(request, user))
    db.commit()
    return redirect(request, list_url(view.query, view.columns, view.id),
                    flash=gettext("View “%(name)s” now shows these filters.") % {"name": view.name})


@router.get("/views/{view_id}/delete")
def confirm_delete_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    view = views.get_view(view_id, session=db, user=user)
    return render(request, "views/delete.html", {"view": view, "can_change": views.can_change(view, user)},
                  block="confirm")


@router.post("/views/{view_id}/delete")
def delete_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    name = views.delete_view(view_id, session=db, user=user, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/people/views", flash=gettext("View “%(name)s” deleted.") % {"name": name})


# ---- exports -------------------------------------------------------------------------------------


def _export_format(value: str | None) -> exports.ExportFormat:
    try:
        return exports.ExportFormat(value or "csv")
    except ValueError as exc:
        raise InvalidInput(gettext("Export as csv or json."), field_errors={"format": gettext("csv or json")}) from exc


def _ids(values: list[str]) -> list[int] | None:
    ids = [int(v) for raw in values for v in raw.split(",") if v.strip().isdigit() and 0 < int(v) < 2**31]
    return ids or None


def _export(request: Request, user: User, fmt_value: str | None, params: ListQuery, requested: list[str],
            ids: list[int] | None) -> Response:
    return audited_export(request, user, _export_format(fmt_value), params, exports.export_columns(requested), ids=ids)


@router.get("/export")
def export_list(request: Request, user: CurrentUser) -> Response:
    """The people list, every page, as CSV or JSON: ?format=csv|json&<the list's own parameters>."""
    params, requested = list_from_pairs(list(request.query_params.multi_items()))
    return _export(request, user, request.query_params.get("format"), params, requested, None)


@router.post("/export")
def export_selection(request: Request, user: CurrentUser, form: Form) -> Response:
    """From the bulk bar: the people ticked (scope=selected, ids=…) or all matching (scope=all)."""
    params, requested = list_from_string(text(form, "list_query"))
    ids: list[int] | None = None
    if form.get("scope") != "all":
        ids = _ids([v for v in form.getlist("ids") if isinstance(v, str)])
        if not ids:  # back to the same list, filters kept, with the reason
            query = text(form, "list_query")
            return redirect(request, "/people" + (f"?{query}" if query else ""), flash=gettext(
                "Tick at least one person first, or choose “All matching”."), kind="error")
    return _export(request, user, text(form, "format"), params, requested, ids)


@router.get("/views/{view_id}/export")
def export_view(request: Request, db: DB, user: CurrentUser, view_id: IdPath) -> Response:
    fmt = _export_format(request.query_params.get("format"))
    view = views.get_view(view_id, session=db, user=user)
    params = views.rebuild(view.query).params
    return audited_export(request, user, fmt, params, exports.export_columns(view.columns), view_id=view.id, stem=view.name)


# ---- bulk actions --------------------------------------------------------------------------------


def _selection(form: FormData) -> tuple[bulk.Selection, ListQuery, list[str], str]:
    """Who the bulk form selected: the ticked ids, or everyone matching the list's filters."""
    list_query = text(form, "list_query")
    params, columns = list_from_string(list_query)
    all_matching = form.get("scope") == "all"
    raw_ids = [v for v in form.getlist("ids") if isinstance(v, str)]
    try:
        selection = bulk.Selection(ids=_ids(raw_ids) or [], all_matching=all_matching)
    except ValidationError as exc:
        message = gettext("Select at most %(n)d people, or choose everyone matching.") % {"n": bulk.MAX_SELECTED}
        raise InvalidInput(message) from exc
    return selection, params, columns, list_query


def _bulk_context(db: Session, form: FormData, errors: dict[str, str] | None = None) -> dict[str, Any]:
    selection, params, columns, list_query = _selection(form)
    ids = bulk.selected_ids(selection, params, session=db)
    values = {"action": text(form, "action"), "tag": text(form, "tag"), "owner_id": text(form, "owner_id"),
              "status": text(form, "status")}
    return {
        "selection": selection, "ids": ids, "list_query": list_query, "back": list_url(views.query_of(params), columns),
        "values": values, "errors": errors or {}, "actions": list(bulk.BulkAction), "action_labels": bulk.ACTION_LABELS,
        "statuses": list(ProfileStatus), "owners": profiles.owners(session=db),
    }


def _change(form: FormData) -> bulk.BulkChange:
    data: dict[str, Any] = {"action": text(form, "action")}
    for name in ("tag", "owner_id", "status"):
        if text(form, name):
            data[name] = text(form, name)
    return bulk.BulkChange.model_validate(data)


@router.post("/bulk")
def bulk_start(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """Step 1: the people selected and the change to make to them."""
    context = _bulk_context(db, form)
    return render(request, "views/bulk.html", context, block="bulk")


@router.post("/bulk/review")
def bulk_review(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """Step 2: how many people the change will alter, to confirm."""
    context = _bulk_context(db, form)
    try:
        change = _change(form)
        context["preview"] = bulk.preview(change, context["ids"], session=db)
        context["change"] = change
    except ValidationError as exc:
        context["errors"] = field_errors(exc)
    except InvalidInput as exc:
        context["errors"] = exc.field_errors or {"__all__": exc.message}
    if context["errors"]:
        return render(request, "views/bulk.html", context, block="bulk", status_code=422)
    return render(request, "views/bulk_confirm.html", context, block="bulk")


@router.post("/bulk/apply")
def bulk_apply(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """Step 3: make the change, all of it or (on any error) none of it."""
    context = _bulk_context(db, form)
    try:
        change = _change(form)
        changed = bulk.apply(change, context["ids"], session=db, actor=actor_for(request, user))
        db.commit()
    except (ValidationError, InvalidInput) as exc:
        db.rollback()
        context["errors"] = input_errors(exc)
    else:
        message = ngettext("%(num)d of %(total)d selected person changed.", "%(num)d of %(total)d selected people changed.",
                           len(context["ids"])) % {"num": changed, "total": len(context["ids"])}
        return redirect(request, context["back"], flash=message)
    return render(request, "views/bulk.html", context, block="bulk", status_code=422)
