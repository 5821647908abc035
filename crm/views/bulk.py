"""Bulk actions on a selection of people: add or remove a tag, set the owner, set the status.

The selection is a list of ids or "everyone the list shows for these filters". Changes are made with
Core statements a batch at a time inside the caller's transaction (so an error leaves nothing half
changed), with one audit event per person changed holding the field's value before and after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic import Field as PydField
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlmodel import Session

from crm.accounts.models import User
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import InvalidInput
from crm.i18n import N_, gettext
from crm.profiles import stats
from crm.profiles.models import Profile, ProfileStatus, _clean_tag
from crm.profiles.search import ListQuery, matching_ids
from crm.schemas import DbId, InputModel
from crm.views.service import rebuild

BATCH = 500
MAX_SELECTED = 10_000  # ticked by hand; "all matching" has no limit
_profile = Profile.__table__  # type: ignore[attr-defined]
_audit = AuditEvent.__table__  # type: ignore[attr-defined]


class BulkAction(StrEnum):
    add_tag = "add_tag"
    remove_tag = "remove_tag"
    set_owner = "set_owner"
    set_status = "set_status"


ACTION_LABELS = {
    BulkAction.add_tag: N_("Add a tag"),
    BulkAction.remove_tag: N_("Remove a tag"),
    BulkAction.set_owner: N_("Set the owner"),
    BulkAction.set_status: N_("Set the status"),
}
# The field each action changes (and reads from the request).
FIELD = {BulkAction.add_tag: "tags", BulkAction.remove_tag: "tags", BulkAction.set_owner: "owner_id",
         BulkAction.set_status: "status"}
_VALUE_FIELD = {BulkAction.add_tag: "tag", BulkAction.remove_tag: "tag", BulkAction.set_owner: "owner_id",
                BulkAction.set_status: "status"}


class BulkChange(InputModel):
    """One change to make to every selected person. `tag` goes with add_tag / remove_tag, `owner_id`
    with set_owner, `status` with set_status."""

    action: BulkAction
    tag: Annotated[str, AfterValidator(_clean_tag)] = PydField(default="", max_length=50)
    owner_id: DbId | None = None
    status: ProfileStatus | None = None


class Selection(InputModel):
    """Who to change: the ids ticked, or (`all_matching`) everyone the list shows for `query`."""

    ids: list[DbId] = PydField(default_factory=list, max_length=MAX_SELECTED)
    all_matching: bool = False
    query: dict[str, Any] = PydField(default_factory=dict)


@dataclass(frozen=True)
class BulkPreview:
    selected: int  # people in the selection
    changing: int  # of them, those the change would alter


def check_change(change: BulkChange, *, session: Session) -> None:
    """Everything that can be wrong with a change is found before anything is written."""
    field = _VALUE_FIELD[change.action]
    if field == "tag" and not change.tag:
        raise InvalidInput(gettext("Type the tag."), field_errors={"tag": gettext("This field is required.")})
    if field == "status" and change.status is None:
        raise InvalidInput(gettext("Choose a status."), field_errors={"status": gettext("Choose one of the options.")})
    if field == "owner_id":
        owner = session.get(User, change.owner_id) if change.owner_id is not None else None
        if owner is None or not owner.is_active:
            raise InvalidInput(gettext("That owner does not exist."), field_errors={"owner_id": gettext("no such user")})


def selected_ids(selection: Selection, params: ListQuery | None, *, session: Session) -> list[int]:
    """The ids of the people selected that exist (and, for all_matching, everyone matching `params`)."""
    if selection.all_matching:
        if params is None:
            raise InvalidInput(gettext("Choose who to change."))
        return [int(pid) for pid in session.exec(matching_ids(params))]  # type: ignore[call-overload]
    if not selection.ids:
        raise InvalidInput(gettext("Tick at least one person first."), field_errors={"ids": gettext("Nobody is selected.")})
    found: set[int] = set()
    wanted = sorted(set(selection.ids))
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start:start + BATCH]
        found.update(int(pid) for pid in session.execute(select(_profile.c.id).where(_profile.c.id.in_(chunk))).scalars())
    return sorted(found)


def _new_value(change: BulkChange, current: Any) -> Any:
    if change.action == BulkAction.add_tag:
        return list(current or []) if change.tag in (current or []) else [*(current or []), change.tag]
    if change.action == BulkAction.remove_tag:
        return [t for t in (current or []) if t != change.tag]
    if change.action == BulkAction.set_owner:
        return change.owner_id
    return change.status.value if change.status else current


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _changes(conn: Connection, change: BulkChange, batch: list[int]) -> list[tuple[int, Any, Any]]:
    column = _profile.c[FIELD[change.action]]
    rows = conn.execute(select(_profile.c.id, column).where(_profile.c.id.in_(batch)))
    out = []
    for pid, current in rows:
        new = _new_value(change, current)
        if new != current:
            out.append((int(pid), current, new))
    return out


def preview(change: BulkChange, ids: list[int], *, session: Session) -> BulkPreview:
    check_change(change, session=session)
    conn = session.connection()
    changing = sum(len(_changes(conn, change, batch)) for batch in _batches(ids))
    return BulkPreview(selected=len(ids), changing=changing)


def apply(change: BulkChange, ids: list[int], *, session: Session, actor: Actor) -> int:
    """Make the change; returns how many people changed. Runs in the caller's transaction."""
    check_change(change, session=session)
    session.flush()
    conn = session.connection()
    field = FIELD[change.action]
    now = utcnow()
    changed = 0
    for batch in _batches(ids):
        changes = _changes(conn, change, batch)
        if not changes:
            continue
        conn.execute(
            update(_profile).where(_profile.c.id == bindparam("pid")).values({field: bindparam("value"), "updated_at": now})
            .execution_options(synchronize_session=False),
            [{"pid": pid, "value": new} for pid, _, new in changes],
        )
        conn.execute(insert(_audit), [
            {"created_at": now, "actor_id": actor.user_id, "subject": actor.label,
             "action": AuditAction.profile_bulk_update.value, "object_type": "profile", "object_id": pid,
             "before": {field: old}, "after": {field: new}, "ip": actor.ip}
            for pid, old, new in changes
        ])
        if field == "tags":  # the search text holds the tags
            stats.refresh_on_connection(conn, [pid for pid, _, _ in changes])
        changed += len(changes)
    session.expire_all()  # ORM objects loaded earlier no longer say what the rows hold
    return changed


def apply_selection(change: BulkChange, selection: Selection, *, session: Session, actor: Actor) -> tuple[int, int]:
    """The API's bulk change: `selection.query` (for all_matching) must be valid list parameters.
    Returns (changed, selected)."""
    params = None
    if selection.all_matching:
        rebuilt = rebuild(selection.query)
        if rebuilt.dropped:
            names = ", ".join(rebuilt.dropped)
            raise InvalidInput(gettext("Some list parameters are not valid: %(names)s.") % {"names": names},
                               field_errors={"query": gettext("not valid: %(names)s") % {"names": names}})
        params = rebuilt.params
    ids = selected_ids(selection, params, session=session)
    return apply(change, ids, session=session, actor=actor), len(ids)
