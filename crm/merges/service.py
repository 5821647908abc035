"""Merging two people into one, and undoing a merge exactly.

A merge moves the merged person's identities, interactions (as author and as counterpart) and
relationships (both directions) and import keys (so re-importing finds the survivor) to the survivor,
sets the survivor's fields to the chosen values,
deletes the merged person and keeps a MergeRecord with everything needed to put it all back: the
merged person's row (same id), which rows moved, the edges that were removed (self-loops and
duplicates of an existing edge, whose strength and dates the survivor's edge absorbs) or changed,
and the survivor's fields before. Undo refuses, saying why, when something changed since the merge
that would make it inexact (a moved identity deleted, the survivor edited...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field as PydField
from pydantic import model_validator
from sqlalchemy import DateTime, Table, bindparam, delete, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.types import Date
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.exports.person import row_dict
from crm.i18n import gettext, ngettext
from crm.imports.models import ImportKey
from crm.interactions.models import Interaction, Relationship
from crm.merges.models import MergeRecord
from crm.profiles import stats
from crm.profiles.models import Identity, Profile, ProfileFields
from crm.profiles.service import get_profile, identities_of
from crm.schemas import DbId, InputModel

SNAPSHOT_FORMAT = 1
# The fields a merge chooses between, in the order the merge screen shows them.
MERGE_FIELDS: tuple[str, ...] = tuple(ProfileFields.model_fields)
LIST_FIELDS = frozenset({"roles", "topics", "tags"})

_profile: Table = Profile.__table__  # type: ignore[attr-defined]
_identity: Table = Identity.__table__  # type: ignore[attr-defined]
_interaction: Table = Interaction.__table__  # type: ignore[attr-defined]
_relationship: Table = Relationship.__table__  # type: ignore[attr-defined]
_merge: Table = MergeRecord.__table__  # type: ignore[attr-defined]
_import_key: Table = ImportKey.__table__  # type: ignore[attr-defined]

# Rows of other domains that belong to a person (points, badges, redemptions, campaigns...): re-pointed to
# the survivor and put back by an undo. Where a row is unique per (partner, person) and the survivor has
# one already (the same badge, the same campaign), the merged person's row is removed and kept in the
# snapshot. Without this, deleting the merged person would cascade away their ledger.
PERSON_ROWS = (("point_entry", None), ("point_hold", None), ("gaming_flag", None), ("recognition", None),
               ("redemption", None), ("badge_award", "badge_id"), ("campaign_member", "campaign_id"),
               ("campaign_task", None), ("campaign_quote", None), ("mention", None), ("signal", None))


def _person_table(name: str) -> Table:
    return Profile.metadata.tables[name]


def _move_person_rows(survivor_id: int, merged_id: int, *, session: Session) -> dict[str, Any]:
    moved: dict[str, list[int]] = {}
    removed: dict[str, list[dict[str, Any]]] = {}
    for name, partner in PERSON_ROWS:
        table = _person_table(name)
        rows = session.execute(sa_select(table).where(table.c.profile_id == merged_id).order_by(table.c.id)).mappings().all()
        if not rows:
            continue
        clash: set[Any] = set()
        if partner:
            clash = set(session.execute(sa_select(table.c[partner]).where(table.c.profile_id == survivor_id)).scalars())
        gone = [dict(r) for r in rows if partner and r[partner] in clash]
        if gone:
            session.execute(delete(table).where(table.c.id.in_([r["id"] for r in gone])))
            removed[name] = [{k: _json(v) for k, v in r.items()} for r in gone]
        ids = [int(r["id"]) for r in rows if not (partner and r[partner] in clash)]
        if ids:
            session.execute(update(table).where(table.c.id.in_(ids)).values(profile_id=survivor_id))
            moved[name] = ids
    return {"moved": moved, "removed": removed}


def _restore_person_rows(snap: dict[str, Any], survivor_id: int, merged_id: int, *, session: Session) -> None:
    rows = snap.get("person_rows") or {"moved": {}, "removed": {}}
    for name, ids in rows["moved"].items():
        table = _person_table(name)
        session.execute(update(table).where(table.c.id.in_(ids), table.c.profile_id == survivor_id)
                        .values(profile_id=merged_id))
    for name, removed in rows["removed"].items():
        table = _person_table(name)
        for row in removed:
            session.execute(insert(table).values(**_from_json(table, row)))


class Choice(StrEnum):
    survivor = "survivor"  # keep the survivor's value
    merged = "merged"  # take the merged person's value
    union = "union"  # lists only: both, survivor's first


class MergeIn(InputModel):
    """Merge `merged_id` into `survivor_id`. `choices` names, per field, whose value survives
    (the survivor's when a field is left out); `union` joins lists (roles, topics, tags)."""

    survivor_id: DbId
    merged_id: DbId
    choices: dict[str, Choice] = PydField(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> MergeIn:
        if self.survivor_id == self.merged_id:
            raise ValueError(gettext("Choose two different people."))
        for name, choice in self.choices.items():
            if name not in MERGE_FIELDS:
                raise ValueError(gettext("%(field)s is not a field that can be merged.") % {"field": name})
            if choice == Choice.union and name not in LIST_FIELDS:
                raise ValueError(gettext("Only lists (roles, topics, tags) can be joined: %(field)s is not one.")
                                 % {"field": name})
        return self


# ---- preview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChoice:
    name: str
    survivor_value: Any
    merged_value: Any
    is_list: bool

    @property
    def differs(self) -> bool:
        return bool(self.survivor_value != self.merged_value)


@dataclass
class EdgePlan:
    moved: list[Relationship] = field(default_factory=list)  # re-pointed to the survivor
    self_loops: list[Relationship] = field(default_factory=list)  # would join the survivor to itself: removed
    duplicates: list[tuple[Relationship, Relationship]] = field(default_factory=list)  # (removed, absorbed into)


@dataclass
class MergePreview:
    survivor: Profile
    merged: Profile
    survivor_identities: list[Identity]
    merged_identities: list[Identity]
    fields: list[FieldChoice]
    interactions_as_author: int
    interactions_as_counterpart: int
    edges: EdgePlan


def _interaction_ids(column: Any, profile_id: int, *, session: Session) -> list[int]:
    query = select(Interaction.id).where(column == profile_id).order_by(col(Interaction.id))
    return [int(i or 0) for i in session.exec(query)]


def _plan_edges(survivor_id: int, merged_id: int, *, session: Session) -> EdgePlan:
    """What happens to each edge of the merged person once it points at the survivor instead."""
    touching = list(session.exec(
        select(Relationship)
        .where(or_(col(Relationship.source_id) == merged_id, col(Relationship.target_id) == merged_id))
        .order_by(col(Relationship.id))
    ))
    survivors_edges = {
        (r.source_id, r.target_id, r.kind): r
        for r in session.exec(select(Relationship).where(
            or_(col(Relationship.source_id) == survivor_id, col(Relationship.target_id) == survivor_id)))
        if merged_id not in (r.source_id, r.target_id)
    }
    plan = EdgePlan()
    for edge in touching:
        source = survivor_id if edge.source_id == merged_id else edge.source_id
        target = survivor_id if edge.target_id == merged_id else edge.target_id
        if source == target:
            plan.self_loops.append(edge)
        elif (existing := survivors_edges.get((source, target, edge.kind))) is not None:
            plan.duplicates.append((edge, existing))
        else:
            plan.moved.append(edge)
    return plan


def preview(survivor_id: int, merged_id: int, *, session: Session) -> MergePreview:
    if survivor_id == merged_id:
        raise InvalidInput(gettext("Choose two different people."), field_errors={"other": gettext("the same person")})
    survivor = get_profile(survivor_id, session=session)
    merged = get_profile(merged_id, session=session)
    fields = [FieldChoice(name, getattr(survivor, name), getattr(merged, name), name in LIST_FIELDS) for name in MERGE_FIELDS]
    return MergePreview(
        survivor=survivor,
        merged=merged,
        survivor_identities=identities_of(survivor_id, session=session),
        merged_identities=identities_of(merged_id, session=session),
        fields=fields,
        interactions_as_author=len(_interaction_ids(Interaction.profile_id, merged_id, session=session)),
        interactions_as_counterpart=len(_interaction_ids(Interaction.counterpart_id, merged_id, session=session)),
        edges=_plan_edges(survivor_id, merged_id, session=session),
    )


# ---- merge --------------------------------------------------------------------------------------


def _chosen(name: str, choice: Choice, survivor: Profile, merged: Profile) -> Any:
    mine, theirs = getattr(survivor, name), getattr(merged, name)
    if choice == Choice.merged:
        return list(theirs) if isinstance(theirs, list) else theirs
    if choice == Choice.union:
        return list(dict.fromkeys([*mine, *theirs]))
    return list(mine) if isinstance(mine, list) else mine


def _editable(profile: Profile) -> dict[str, Any]:
    return {name: _json(getattr(profile, name)) for name in MERGE_FIELDS}


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _from_json(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """A row_dict back to column values (ISO text back to dates and datetimes)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in data:
            continue
        value = data[column.name]
        kind = column.type.impl if hasattr(column.type, "impl") else column.type
        if value is not None and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        values[column.name] = value
    return values


def merge(data: MergeIn, *, session: Session, actor: Actor) -> MergeRecord:
    survivor_id, merged_id = data.survivor_id, data.merged_id
    for pid in sorted((survivor_id, merged_id)):  # lock both rows, always in the same order
        get_profile(pid, session=session, for_update=True)
    survivor = get_profile(survivor_id, session=session)
    merged = get_profile(merged_id, session=session)
    survivor_before = row_dict(survivor)
    merged_row = row_dict(merged)

    identity_ids = [int(i.id or 0) for i in session.exec(
        select(Identity).where(Identity.profile_id == merged_id).order_by(col(Identity.id)))]
    authored = _interaction_ids(Interaction.profile_id, merged_id, session=session)
    countered = _interaction_ids(Interaction.counterpart_id, merged_id, session=session)
    plan = _plan_edges(survivor_id, merged_id, session=session)
    import_key_ids = [int(k or 0) for k in session.exec(
        select(ImportKey.id).where(ImportKey.profile_id == merged_id).order_by(col(ImportKey.id)))]
    survivor_of = [int(r or 0) for r in session.exec(select(MergeRecord.id).where(MergeRecord.survivor_id == merged_id))]

    # The survivor's fields.
    for name in MERGE_FIELDS:
        setattr(survivor, name, _chosen(name, data.choices.get(name, Choice.survivor), survivor, merged))
    survivor.updated_at = utcnow()
    session.add(survivor)

    # Edges first: removed ones go before anything is re-pointed, so no unique index ever clashes.
    removed = [row_dict(e) for e in plan.self_loops] + [row_dict(e) for e, _ in plan.duplicates]
    changed = []
    for _, kept in plan.duplicates:
        changed.append({"id": kept.id, "strength": kept.strength, "first_seen": _json(kept.first_seen),
                        "last_seen": _json(kept.last_seen), "updated_at": _json(kept.updated_at)})
    moved_edges = [{"id": e.id, "source_id": e.source_id, "target_id": e.target_id} for e in plan.moved]
    if removed:
        session.execute(delete(_relationship).where(_relationship.c.id.in_([r["id"] for r in removed])))
    now = utcnow()
    for edge, kept in plan.duplicates:
        seen_first = [d for d in (kept.first_seen, edge.first_seen) if d is not None]
        seen_last = [d for d in (kept.last_seen, edge.last_seen) if d is not None]
        session.execute(update(_relationship).where(_relationship.c.id == kept.id).values(
            strength=max(kept.strength, edge.strength), first_seen=min(seen_first) if seen_first else None,
            last_seen=max(seen_last) if seen_last else None, updated_at=now))
    if plan.moved:
        session.execute(update(_relationship).where(_relationship.c.id.in_([e["id"] for e in moved_edges]),
                                                    _relationship.c.source_id == merged_id).values(source_id=survivor_id))
        session.execute(update(_relationship).where(_relationship.c.id.in_([e["id"] for e in moved_edges]),
                                                    _relationship.c.target_id == merged_id).values(target_id=survivor_id))
    # Identities keep their own updated_at: moving them is not an edit of the identity.
    if identity_ids:
        session.execute(update(_identity).where(_identity.c.id.in_(identity_ids))
                        .values(profile_id=survivor_id, updated_at=_identity.c.updated_at))
    if authored:
        session.execute(update(_interaction).where(_interaction.c.id.in_(authored)).values(profile_id=survivor_id))
    if countered:
        session.execute(update(_interaction).where(_interaction.c.id.in_(countered)).values(counterpart_id=survivor_id))
    # Import keys would otherwise go with the merged person (ON DELETE CASCADE) and a re-import recreate them.
    if import_key_ids:
        session.execute(update(_import_key).where(_import_key.c.id.in_(import_key_ids)).values(profile_id=survivor_id))
    if survivor_of:
        session.execute(update(_merge).where(_merge.c.id.in_(survivor_of)).values(survivor_id=None))
    person_rows = _move_person_rows(survivor_id, merged_id, session=session)
    session.flush()
    session.delete(merged)
    session.flush()
    stats.refresh([survivor_id], session=session)

    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "merged_profile": merged_row,
        "survivor_before": survivor_before,
        "survivor_after": _editable(survivor),
        "choices": {k: v.value for k, v in data.choices.items()},
        "identity_ids": identity_ids,
        "interaction_ids_as_author": authored,
        "interaction_ids_as_counterpart": countered,
        "relationships_moved": moved_edges,
        "relationships_removed": removed,
        "relationships_changed": changed,
        "import_key_ids": import_key_ids,
        "merge_records_survived_by_merged": survivor_of,
        "person_rows": person_rows,
    }
    record = MergeRecord(survivor_id=survivor_id, merged_id=merged_id, merged_name=merged.display_name[:200],
                         snapshot=snapshot, created_by_id=actor.user_id)
    session.add(record)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.merge_create, object_type="profile",
                 object_id=survivor_id,
                 before={"survivor": {k: _json(v) for k, v in survivor_before.items() if k in MERGE_FIELDS},
                         "merged": {k: v for k, v in merged_row.items() if k in MERGE_FIELDS or k == "id"}},
                 after={"merge_id": record.id, "merged_id": merged_id, "fields": snapshot["survivor_after"],
                        "moved": {"identities": len(identity_ids), "interactions": len(authored),
                                  "interactions_as_counterpart": len(countered), "relationships": len(moved_edges),
                                  "relationships_removed": len(removed), "import_keys": len(import_key_ids)}})
    return record


# ---- undo ---------------------------------------------------------------------------------------


def get_merge(merge_id: int, *, session: Session, for_update: bool = False) -> MergeRecord:
    record = session.get(MergeRecord, merge_id, with_for_update=for_update, populate_existing=for_update)
    if record is None:
        raise NotFound(gettext("There is no merge with id %(id)d.") % {"id": merge_id})
    return record


def _missing(table: Table, ids: list[int], column: str, value: int, *, session: Session) -> int:
    """How many of these rows are gone, or no longer belong where the merge put them."""
    if not ids:
        return 0
    found = session.execute(
        select(func.count()).select_from(table).where(table.c.id.in_(ids), table.c[column] == value)
    ).scalar_one()
    return len(ids) - int(found)


def undo_problems(record: MergeRecord, *, session: Session) -> list[str]:
    """Why an exact undo is impossible now (empty when it is possible)."""
    snap = record.snapshot
    if record.undone_at is not None:
        return [gettext("This merge was already undone.")]
    survivor = session.get(Profile, record.survivor_id) if record.survivor_id else None
    if survivor is None:
        return [gettext("The person who survived the merge has since been deleted (or merged into someone else).")]
    problems = []
    if session.get(Profile, record.merged_id) is not None:
        problems.append(gettext("A person with the merged person's id exists again."))
    edited = [name for name, value in snap["survivor_after"].items() if _json(getattr(survivor, name)) != value]
    if edited:
        problems.append(gettext("%(name)s was edited after the merge (%(fields)s); undoing would lose those edits.")
                        % {"name": survivor.display_name, "fields": ", ".join(edited)})
    sid = survivor.id or 0
    gone = _missing(_identity, snap["identity_ids"], "profile_id", sid, session=session)
    if gone:
        problems.append(ngettext("%(num)d identity moved by the merge was deleted or moved since.",
                                 "%(num)d identities moved by the merge were deleted or moved since.", gone) % {"num": gone})
    gone = (_missing(_interaction, snap["interaction_ids_as_author"], "profile_id", sid, session=session)
            + _missing(_interaction, snap["interaction_ids_as_counterpart"], "counterpart_id", sid, session=session))
    if gone:
        problems.append(ngettext("%(num)d interaction moved by the merge was deleted or changed since.",
                                 "%(num)d interactions moved by the merge were deleted or changed since.", gone)
                        % {"num": gone})
    gone = _missing(_import_key, snap.get("import_key_ids", []), "profile_id", sid, session=session)
    if gone:
        problems.append(ngettext("%(num)d import key moved by the merge was deleted or moved since.",
                                 "%(num)d import keys moved by the merge were deleted or moved since.", gone)
                        % {"num": gone})
    moved = snap["relationships_moved"]
    kept = {int(r) for r in session.execute(select(_relationship.c.id).where(
        _relationship.c.id.in_([e["id"] for e in moved] + [e["id"] for e in snap["relationships_changed"]]))).scalars()}
    gone = sum(1 for e in moved + snap["relationships_changed"] if e["id"] not in kept)
    if gone:
        problems.append(ngettext("%(num)d connection changed by the merge was deleted since.",
                                 "%(num)d connections changed by the merge were deleted since.", gone) % {"num": gone})
    removed_ids = [e["id"] for e in snap["relationships_removed"]]
    if removed_ids and session.execute(select(func.count()).select_from(_relationship)
                                       .where(_relationship.c.id.in_(removed_ids))).scalar_one():
        problems.append(gettext("A connection removed by the merge cannot get its id back: a new one has it."))
    return problems


def undo(merge_id: int, *, session: Session, actor: Actor) -> MergeRecord:
    record = get_merge(merge_id, session=session, for_update=True)
    if record.survivor_id is not None and session.get(Profile, record.survivor_id) is not None:
        get_profile(record.survivor_id, session=session, for_update=True)
    problems = undo_problems(record, session=session)
    if problems:
        raise Conflict(gettext("This merge cannot be undone exactly:") + " " + " ".join(problems))
    snap = record.snapshot
    survivor_id, merged_id = int(record.survivor_id or 0), record.merged_id

    session.execute(insert(_profile).values(**_from_json(_profile, snap["merged_profile"])))
    if snap["identity_ids"]:
        session.execute(update(_identity).where(_identity.c.id.in_(snap["identity_ids"]))
                        .values(profile_id=merged_id, updated_at=_identity.c.updated_at))
    if snap["interaction_ids_as_author"]:
        session.execute(update(_interaction).where(_interaction.c.id.in_(snap["interaction_ids_as_author"]))
                        .values(profile_id=merged_id))
    if snap["interaction_ids_as_counterpart"]:
        session.execute(update(_interaction).where(_interaction.c.id.in_(snap["interaction_ids_as_counterpart"]))
                        .values(counterpart_id=merged_id))
    if snap["relationships_moved"]:
        statement = update(_relationship).where(_relationship.c.id == bindparam("rid")).values(
            source_id=bindparam("src"), target_id=bindparam("dst"), updated_at=_relationship.c.updated_at)
        session.execute(statement.execution_options(synchronize_session=False),
                        [{"rid": e["id"], "src": e["source_id"], "dst": e["target_id"]} for e in snap["relationships_moved"]])
    for before in snap["relationships_changed"]:
        values = _from_json(_relationship, before)
        session.execute(update(_relationship).where(_relationship.c.id == values.pop("id")).values(**values))
    for row in snap["relationships_removed"]:
        session.execute(insert(_relationship).values(**_from_json(_relationship, row)))
    if snap.get("import_key_ids"):
        session.execute(update(_import_key).where(_import_key.c.id.in_(snap["import_key_ids"])).values(profile_id=merged_id))
    if snap["merge_records_survived_by_merged"]:
        session.execute(update(_merge).where(_merge.c.id.in_(snap["merge_records_survived_by_merged"]))
                        .values(survivor_id=merged_id))
    _restore_person_rows(snap, survivor_id, merged_id, session=session)
    before = _from_json(_profile, snap["survivor_before"])
    restore = {name: before[name] for name in MERGE_FIELDS}
    session.execute(update(_profile).where(_profile.c.id == survivor_id).values(**restore))
    stats.refresh([survivor_id, merged_id], session=session)
    # The derived columns are recomputed; the stored edit times go back to what they were.
    for pid, stamp in ((survivor_id, before["updated_at"]),
                       (merged_id, _from_json(_profile, snap["merged_profile"])["updated_at"])):
        session.execute(update(_profile).where(_profile.c.id == pid).values(updated_at=stamp))
    record.undone_at = utcnow()
    record.undone_by_id = actor.user_id
    session.add(record)
    session.flush()
    session.expire_all()
    audit.record(session=session, actor=actor, action=AuditAction.merge_undo, object_type="profile", object_id=survivor_id,
                 after={"merge_id": record.id, "merged_id": merged_id, "restored": True})
    return record


# ---- listing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeRow:
    record: MergeRecord
    survivor_name: str | None

    @property
    def moved(self) -> dict[str, int]:
        snap = self.record.snapshot
        return {
            "identities": len(snap.get("identity_ids", [])),
            "interactions": len(snap.get("interaction_ids_as_author", [])) + len(snap.get("interaction_ids_as_counterpart", [])),
            "relationships": len(snap.get("relationships_moved", [])) + len(snap.get("relationships_removed", [])),
        }


@dataclass
class MergePage:
    rows: list[MergeRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def recent_merges(*, session: Session, page: int = 1, per_page: int = 25) -> MergePage:
    page = max(1, page)
    total = int(session.exec(select(func.count()).select_from(MergeRecord)).one())
    rows = session.exec(
        select(MergeRecord, Profile.display_name)
        .join(Profile, col(Profile.id) == MergeRecord.survivor_id, isouter=True)
        .order_by(col(MergeRecord.id).desc())
        .offset((page - 1) * per_page).limit(per_page)
    )
    return MergePage([MergeRow(r, name) for r, name in rows], total, page, per_page)
