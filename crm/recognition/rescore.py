"""Re-scoring past interactions under the point rules: explicit, previewed, audited, idempotent.

For every interaction since a date, what the rules in force at its date would grant now (the same pure
functions as the automatic grants: crm.recognition.rules, with daily caps, bursts and flagged people
held) against what it holds now (a live earned entry, or a pending hold). Where they differ, applying
reverses what it has (crm.recognition.ledger.revoke_for_interaction: reversal entries, pending holds
rejected) and writes the new grant or hold, in batches. A preview is the same computation without the
writes, so the preview is exactly the effect; applying twice changes nothing the second time (after an
apply, what it holds is what the rules would grant).

Not re-opened: an interaction whose hold under the rule version in force was rejected by a reviewer
and that holds nothing now (a rejection is a decision, not a gap to fill)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from pydantic import Field as PydField
from pydantic import field_validator
from sqlalchemy import Connection, Table, func, select
from sqlmodel import Session

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.i18n import gettext
from crm.profiles.models import Profile
from crm.recognition import ledger
from crm.recognition import rules as pure
from crm.recognition.ledger import E, H, X
from crm.recognition.models import EntryKind, HoldStatus
from crm.schemas import InputModel

P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
CHUNK = 500
BATCH = 1000  # interactions revoked and granted again per round


class RescoreIn(InputModel):
    since: date = PydField(description="Re-score the interactions on or after this day (UTC)")

    @field_validator("since")
    @classmethod
    def _sane(cls, value: date) -> date:
        if not 1900 <= value.year <= 2200:
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        return value


# What an interaction holds: ("entry" | "hold", rule set id, rule, points), or None.
State = tuple[str, int, str, int] | None


@dataclass
class Change:
    interaction_id: int
    profile_id: int
    before: State
    after: State

    @property
    def delta(self) -> int:
        """The change of the person's spendable points."""
        return _points(self.after) - _points(self.before)

    @property
    def held_delta(self) -> int:
        return _held(self.after) - _held(self.before)


@dataclass
class PersonChange:
    profile_id: int
    name: str
    interactions: int = 0
    delta: int = 0  # points granted
    held_delta: int = 0  # points held for review


@dataclass
class Rescore:
    since: datetime
    scanned: int = 0  # interactions looked at
    changes: list[Change] = field(default_factory=list)
    people: list[PersonChange] = field(default_factory=list)  # most changed first
    applied: bool = False
    held_why: dict[int, str] = field(default_factory=dict)  # interaction -> why its new grant is held

    @property
    def added(self) -> int:
        return sum(c.delta for c in self.changes if c.delta > 0)

    @property
    def removed(self) -> int:
        return -sum(c.delta for c in self.changes if c.delta < 0)

    @property
    def delta(self) -> int:
        return sum(c.delta for c in self.changes)

    @property
    def held_delta(self) -> int:
        return sum(c.held_delta for c in self.changes)

    def summary(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "scanned": self.scanned, "interactions": len(self.changes),
                "people": len(self.people), "added": self.added, "removed": self.removed, "delta": self.delta,
                "held_delta": self.held_delta}


def _points(state: State) -> int:
    return state[3] if state and state[0] == "entry" else 0


def _held(state: State) -> int:
    return state[3] if state and state[0] == "hold" else 0


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# ---- reading what there is --------------------------------------------------------------------


def _same(before: State, after: State) -> bool:
    """Held or granted alike, by the same rule, for the same amount (the rule version may differ)."""
    if before is None or after is None:
        return before is after
    return (before[0], before[2], before[3]) == (after[0], after[2], after[3])


def _items(conn: Connection, since: datetime) -> list[pure.Item]:
    rows = conn.execute(select(X.c.id, X.c.profile_id, X.c.kind, X.c.channel, X.c.occurred_at)
                        .where(X.c.occurred_at >= since).order_by(X.c.occurred_at, X.c.id))
    return [pure.Item(interaction_id=r.id, profile_id=r.profile_id, kind=r.kind, channel=r.channel or "",
                      occurred_at=r.occurred_at) for r in rows]


def _live_entries(conn: Connection, where: list[Any]) -> Sequence[Any]:
    """Earned entries not reversed, with their interaction's date."""
    reversal = E.alias("rev")
    return conn.execute(select(E.c.id, E.c.interaction_id, E.c.profile_id, E.c.rule_set_id, E.c.rule, E.c.amount,
                               X.c.occurred_at)
                        .select_from(E.join(X, X.c.id == E.c.interaction_id)
                                     .outerjoin(reversal, reversal.c.reverses_id == E.c.id))
                        .where(E.c.kind == EntryKind.earned.value, reversal.c.id.is_(None), *where)).all()


def _current(conn: Connection, ids: Sequence[int]) -> tuple[dict[int, list[State]], dict[int, set[int]]]:
    """Per interaction: what it holds now (live entries and pending holds), and the rule sets under
    which a hold of it was rejected."""
    states: dict[int, list[State]] = defaultdict(list)
    rejected: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        for row in _live_entries(conn, [E.c.interaction_id.in_(chunk)]):
            states[row.interaction_id].append(("entry", row.rule_set_id or 0, row.rule, row.amount))
        corrections = E.alias("correction")
        for iid, sid in conn.execute(select(E.c.interaction_id, E.c.rule_set_id).select_from(
                E.join(corrections, corrections.c.reverses_id == E.c.id)).where(
                E.c.interaction_id.in_(chunk), corrections.c.rule == ledger.CORRECTION)):
            rejected[iid].add(sid or 0)  # corrected by hand: a decision, like a rejected hold
        for iid, sid, rule, amount, status in conn.execute(
                select(H.c.interaction_id, H.c.rule_set_id, H.c.rule, H.c.amount, H.c.status)
                .where(H.c.interaction_id.in_(chunk), H.c.status != HoldStatus.granted.value)):
            if status == HoldStatus.pending.value:
                states[iid].append(("hold", sid or 0, rule, amount))
            elif status == HoldStatus.rejected.value:  # void holds (the interaction changed) decided nothing
                rejected[iid].add(sid or 0)
    return states, rejected


def _history_before(conn: Connection, people: Sequence[int], since: datetime) -> pure.History:
    """Caps and daily totals of what these people hold from interactions before `since` (reversed
    entries do not count: what the rules would grant is computed from what stands)."""
    history = pure.History()
    daily: dict[int, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    window = since - timedelta(days=pure.HISTORY_DAYS + 1)
    for start in range(0, len(people), CHUNK):
        chunk = list(people[start:start + CHUNK])
        period = [X.c.occurred_at >= window, X.c.occurred_at < since]
        for row in _live_entries(conn, [E.c.profile_id.in_(chunk), *period]):
            key = (row.profile_id, row.occurred_at.date(), row.rule_set_id, row.rule)
            history.used[key] = history.used.get(key, 0) + row.amount
            daily[row.profile_id][row.occurred_at.date()] += row.amount
        for pid, occurred, sid, rule, amount in conn.execute(
                select(H.c.profile_id, X.c.occurred_at, H.c.rule_set_id, H.c.rule, H.c.amount)
                .join(X, X.c.id == H.c.interaction_id)
                .where(H.c.profile_id.in_(chunk), H.c.status == HoldStatus.pending.value, *period)):
            key = (pid, occurred.date(), sid, rule)
            history.used[key] = history.used.get(key, 0) + amount
    history.daily = {pid: dict(days) for pid, days in daily.items()}
    return history


# ---- the computation -------------------------------------------------------------------------


def compute(since: date | datetime, *, conn: Connection) -> Rescore:
    """What re-scoring would change (nothing is written)."""
    start = since if isinstance(since, datetime) else start_of(since)
    result = Rescore(since=start)
    ledger.ensure_rules(conn)
    sets = ledger.rule_sets(conn)
    items = _items(conn, start)
    result.scanned = len(items)
    if not items:
        return result
    people = sorted({i.profile_id for i in items})
    target: dict[int, State] = {}
    for grant in pure.grants(items, sets, _history_before(conn, people, start), ledger._flagged(conn, people)):
        target[grant.interaction_id] = ("hold" if grant.held else "entry", grant.rule_set_id, grant.rule, grant.amount)
        if grant.held:
            result.held_why[grant.interaction_id] = grant.held
    states, rejected = _current(conn, [i.interaction_id for i in items])
    for item in items:
        now_held = states.get(item.interaction_id, [])
        before: State = now_held[0] if len(now_held) == 1 else None
        after = target.get(item.interaction_id)
        if len(now_held) <= 1 and _same(before, after):
            continue  # the same points under the same rule (another version with the same amount changes nothing)
        if not now_held and after is not None and rejected.get(item.interaction_id):
            continue  # a reviewer rejected its hold, or a person corrected its points by hand: decisions stand
        if len(now_held) > 1:  # more than one live grant: all of it goes, the rules' grant comes back
            before = ("entry", 0, "", sum(_points(s) for s in now_held))
        result.changes.append(Change(item.interaction_id, item.profile_id, before, after))
    by_person: dict[int, PersonChange] = {}
    for change in result.changes:
        person = by_person.setdefault(change.profile_id, PersonChange(change.profile_id, ""))
        person.interactions += 1
        person.delta += change.delta
        person.held_delta += change.held_delta
    names = _names(conn, list(by_person))
    for pid, person in by_person.items():
        person.name = names.get(pid, f"#{pid}")
    result.people = sorted(by_person.values(), key=lambda p: (-abs(p.delta), -abs(p.held_delta), p.name, p.profile_id))
    return result


def _names(conn: Connection, ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        names.update({pid: name for pid, name in conn.execute(
            select(P.c.id, P.c.display_name).where(P.c.id.in_(ids[start:start + CHUNK])))})
    return names


def _next_generation(conn: Connection, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For (interaction, rule set): one past every generation used by an entry or a hold."""
    found: dict[tuple[int, int], int] = {}
    ids = sorted({iid for iid, _ in pairs})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for table in (E, H):
            for iid, sid, gen in conn.execute(select(table.c.interaction_id, table.c.rule_set_id,
                                                     func.max(table.c.generation))
                                              .where(table.c.interaction_id.in_(chunk))
                                              .group_by(table.c.interaction_id, table.c.rule_set_id)):
                if (iid, sid) in pairs:
                    found[(iid, sid)] = max(found.get((iid, sid), 0), int(gen) + 1)
    return found


def preview(data: RescoreIn, *, session: Session) -> Rescore:
    return compute(data.since, conn=session.connection())


def apply(data: RescoreIn, *, session: Session, actor: Actor) -> Rescore:
    """Re-score: reversals for what differs and the new grants, in batches; audited (points_rescore)."""
    conn = session.connection()
    result = compute(data.since, conn=conn)
    sets = {s.id: s.version for s in ledger.rule_sets(conn)}
    reason = gettext("Re-scored from %(date)s") % {"date": data.since.isoformat()}
    now = utcnow()
    for start in range(0, len(result.changes), BATCH):
        batch = result.changes[start:start + BATCH]
        for change in batch:
            ledger.revoke_for_interaction(conn, change.interaction_id, reason, actor_id=actor.user_id)
        wanted = [c for c in batch if c.after is not None]
        generations = _next_generation(conn, {(c.interaction_id, c.after[1]) for c in wanted if c.after})
        entries, holds = [], []
        for change in wanted:
            assert change.after is not None
            kind, sid, rule, amount = change.after
            row = {"profile_id": change.profile_id, "amount": amount, "rule_set_id": sid, "rule": rule,
                   "interaction_id": change.interaction_id,
                   "generation": generations.get((change.interaction_id, sid), 0), "created_at": now}
            if kind == "entry":
                entries.append({**row, "kind": EntryKind.earned.value, "reason": rule, "created_by_id": actor.user_id})
            else:
                why = result.held_why.get(change.interaction_id, "")
                holds.append({**row, "flag": why.split(":")[0][:20] or "rescore", "status": HoldStatus.pending.value,
                              "detail": why[:500]})
        ledger._insert_ignoring_repeats(conn, E, entries)
        ledger._insert_ignoring_repeats(conn, H, holds)
    result.applied = True
    audit.record(session=session, actor=actor, action=AuditAction.points_rescore, object_type="points",
                 after={**result.summary(), "rule_versions": sorted(sets.values())})
    return result
