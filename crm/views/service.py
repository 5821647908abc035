"""Saved views: create, rename, share, update to new filters, delete, and rebuild a view's list query.

A view stores the people list's parameters as `ListQuery.model_dump(mode="json", exclude_defaults=True)`
(without the page) and the list's columns. Private views are seen by their owner only, shared views by
everyone signed in; only the owner or an admin changes them; only writers may share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.errors import InvalidInput, NotFound, PermissionDenied
from crm.i18n import gettext
from crm.profiles.search import COLUMNS as LIST_COLUMNS
from crm.profiles.search import ListQuery
from crm.views.models import SavedView, SavedViewIn, SavedViewPatch

# What a list URL carries that a view does not keep: where the reader is, not what they look at.
NOT_KEPT = frozenset({"page", "per_page", "cols"})


@dataclass
class RebuiltQuery:
    """A stored query made into list parameters again; `dropped` names what no longer validates."""

    params: ListQuery
    dropped: list[str] = field(default_factory=list)


def rebuild(query: Mapping[str, Any]) -> RebuiltQuery:
    """`ListQuery` from stored (or typed) parameters, forgivingly: a parameter this version does not
    know, or whose value no longer validates, is dropped and named, and the rest still applies."""
    known = {name: value for name, value in query.items() if name in ListQuery.model_fields and name not in NOT_KEPT}
    dropped = {name for name in query if name not in ListQuery.model_fields and name not in NOT_KEPT}
    try:
        return RebuiltQuery(ListQuery.model_validate(known), sorted(dropped))
    except ValidationError as exc:
        bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    kept = {name: value for name, value in known.items() if name not in bad}
    try:
        params = ListQuery.model_validate(kept)
    except ValidationError:  # a rule across fields (a range upside down): keep what validates, in order
        params, kept = ListQuery(), {}
        for name, value in known.items():
            if name in bad:
                continue
            try:
                params = ListQuery.model_validate({**kept, name: value})
                kept[name] = value
            except ValidationError:
                bad.add(name)
    return RebuiltQuery(params, sorted(dropped | bad))


def query_of(params: ListQuery) -> dict[str, Any]:
    """What a view keeps of list parameters: every filter and the order, not the page."""
    dumped = params.model_dump(mode="json", exclude_defaults=True)
    return {name: value for name, value in dumped.items() if name not in NOT_KEPT}


def columns_of(params: ListQuery) -> list[str]:
    """The columns the list was asked to show (none: its default set)."""
    return [c for c in params.cols.split(",") if c] if params.cols else []


def known_columns(columns: list[str]) -> list[str]:
    """The columns the people list knows, once each, in the order given (the rest left out)."""
    return [c for c in dict.fromkeys(c.strip() for c in columns) if c in LIST_COLUMNS]


def _clean_query(query: Mapping[str, Any]) -> dict[str, Any]:
    """A query sent to be saved must be valid as a whole: say which parameter is wrong."""
    rebuilt = rebuild(query)
    if rebuilt.dropped:
        raise InvalidInput(
            gettext("Some list parameters are not valid: %(names)s.") % {"names": ", ".join(rebuilt.dropped)},
            field_errors={"query": gettext("not valid: %(names)s") % {"names": ", ".join(rebuilt.dropped)}},
        )
    return query_of(rebuilt.params)


def _clean_columns(columns: list[str]) -> list[str]:
    unknown = [c for c in columns if c.strip() not in LIST_COLUMNS]
    if unknown:
        raise InvalidInput(gettext("Unknown columns: %(names)s.") % {"names": ", ".join(unknown[:5])},
                           field_errors={"columns": gettext("unknown: %(names)s") % {"names": ", ".join(unknown[:5])}})
    return known_columns(columns)


def snapshot(view: SavedView) -> dict[str, Any]:
    return {"name": view.name, "shared": view.shared, "query": dict(view.query), "columns": list(view.columns)}


# ---- reading -----------------------------------------------------------------------------------------


def visible_views(*, session: Session, user: User) -> list[SavedView]:
    """The user's own views and everyone's shared views, by name."""
    query = (
        select(SavedView)
        .where(or_(col(SavedView.owner_id) == user.id, col(SavedView.shared).is_(True)))
        .order_by(func.lower(SavedView.name), col(SavedView.id))
    )
    return list(session.exec(query))


def get_view(view_id: int, *, session: Session, user: User) -> SavedView:
    """A view the user may see; someone else's private view is "not found", not "forbidden"."""
    view = session.get(SavedView, view_id)
    if view is None or (view.owner_id != user.id and not view.shared):
        raise NotFound(gettext("There is no saved view with id %(id)d.") % {"id": view_id})
    return view


def owner_names(views: list[SavedView], *, session: Session) -> dict[int, str]:
    ids = {v.owner_id for v in views}
    if not ids:
        return {}
    return {uid: name for uid, name in session.exec(select(User.id, User.name).where(col(User.id).in_(ids)))  # type: ignore[call-overload]
            if uid is not None}


def can_change(view: SavedView, user: User) -> bool:
    return view.owner_id == user.id or user.is_admin


# ---- changing ----------------------------------------------------------------------------------------


def _changeable(view_id: int, *, session: Session, user: User) -> SavedView:
    view = get_view(view_id, session=session, user=user)
    if not can_change(view, user):
        raise PermissionDenied(gettext("Only the owner of a view or an administrator can change it."))
    return view


def _check_share(shared: bool, user: User) -> None:
    if shared and not user.can_write:
        raise InvalidInput(gettext("Your role can save private views only."),
                           field_errors={"shared": gettext("Only managers and administrators can share a view.")})


def _check_name(name: str, owner_id: int, *, session: Session, exclude_id: int | None = None) -> None:
    query = select(SavedView.id).where(SavedView.owner_id == owner_id, func.lower(SavedView.name) == name.lower())
    if exclude_id is not None:
        query = query.where(col(SavedView.id) != exclude_id)
    if session.exec(query).first() is not None:
        raise InvalidInput(gettext("You already have a view with that name."),
                           field_errors={"name": gettext("You already have a view called “%(name)s”.") % {"name": name}})


def create_view(data: SavedViewIn, *, session: Session, user: User, actor: Actor) -> SavedView:
    _check_share(data.shared, user)
    owner_id = user.id or 0
    _check_name(data.name, owner_id, session=session)
    view = SavedView(name=data.name, owner_id=owner_id, shared=data.shared, query=_clean_query(data.query),
                     columns=_clean_columns(data.columns))
    session.add(view)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.view_create, object_type="saved_view",
                 object_id=view.id, after=snapshot(view))
    return view


def update_view(view_id: int, data: SavedViewPatch, *, session: Session, user: User, actor: Actor) -> SavedView:
    view = _changeable(view_id, session=session, user=user)
    before = snapshot(view)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        _check_name(data.name, view.owner_id, session=session, exclude_id=view.id)
        view.name = data.name
    if "shared" in sent and data.shared is not None:
        if data.shared != view.shared:
            _check_share(data.shared, user)
        view.shared = data.shared
    if "query" in sent and data.query is not None:
        view.query = _clean_query(data.query)
    if "columns" in sent and data.columns is not None:
        view.columns = _clean_columns(data.columns)
    after = snapshot(view)
    if after != before:
        session.add(view)
        session.flush()
        audit.record(session=session, actor=actor, action=AuditAction.view_update, object_type="saved_view",
                     object_id=view.id, before=before, after=after)
    return view


def delete_view(view_id: int, *, session: Session, user: User, actor: Actor) -> str:
    view = _changeable(view_id, session=session, user=user)
    before = snapshot(view)
    session.delete(view)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.view_delete, object_type="saved_view",
                 object_id=view_id, before=before)
    return before["name"]
