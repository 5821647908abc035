"""The points ledger: rule grants for interactions (exactly once per interaction and rule version),
points by hand, reversals, balances and history. Entries are only ever added: a correction is a
reversal entry, and balances are sums over the ledger, never stored.

Grants work on a Connection (Core, in batches), so the interaction log, the importer and the re-scoring
all use the same path; a unique key (interaction, rule version) and ON CONFLICT DO NOTHING make a
repeat grant a no-op even when two run at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import serialize_writes, utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction
from crm.profiles.models import Profile
from crm.recognition import rules as pure
from crm.recognition.models import (
    LIFETIME_KINDS,
    AwardIn,
    EntryKind,
    FlagStatus,
    GamingFlag,
    HoldStatus,
    PointEntry,
    PointHold,
    PointRuleIn,
    PointRuleSet,
    PointRuleSetIn,
    Recognition,
    RecognitionKind,
)

E = cast(Table, PointEntry.__table__)  # type: ignore[attr-defined]
H = cast(Table, PointHold.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
RS = cast(Table, PointRuleSet.__table__)  # type: ignore[attr-defined]
F = cast(Table, GamingFlag.__table__)  # type: ignore[attr-defined]
REVERSAL = E.alias("reversal")
CORRECTION = "correction"  # the `rule` of a reversal made by a person: a decision re-scoring leaves alone
BATCH = 2000

# The first rule set: roughly the advocacy weights × 5, in whole points.
DEFAULT_RULES = (("post", 5), ("mention", 2), ("reply", 2), ("forum_answer", 10), ("review", 15), ("talk", 40),
                 ("article", 25), ("video", 25), ("referral", 20), ("feedback", 5), ("bug_report", 10),
                 ("event_attendance", 5))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---- rule sets ---------------------------------------------------------------------------------


def ensure_rules(conn: Connection) -> None:
    """Version 1 (the defaults, in force from the start of time) if there is no rule set yet."""
    if conn.execute(select(RS.c.id).limit(1)).first() is not None:
        return
    rules = [PointRuleIn(kind=kind, points=points).model_dump(mode="json") for kind, points in DEFAULT_RULES]
    try:
        with conn.begin_nested():
            conn.execute(RS.insert().values(version=1, starts_at=EPOCH, rules=rules, note="Defaults",
                                            created_at=utcnow()))
    except IntegrityError:
        pass  # created by someone else a moment ago


def rule_sets(conn: Connection) -> list[pure.RuleSetView]:
    views = []
    for row in conn.execute(select(RS.c.id, RS.c.version, RS.c.starts_at, RS.c.rules).order_by(RS.c.starts_at, RS.c.id)):
        rules = {}
        for data in row.rules or []:
            rule = PointRuleIn.model_validate(data)
            rules[rule.key] = (rule.points, rule.daily_cap)
        views.append(pure.RuleSetView(id=row.id, version=row.version, starts_at=row.starts_at, rules=rules))
    return views


def create_rule_set(data: PointRuleSetIn, *, session: Session, actor: Actor) -> PointRuleSet:
    """A new version, in force from its start (now if not given). Past interactions keep what they
    earned: re-scoring them is a separate, previewed action."""
    conn = session.connection()
    ensure_rules(conn)
    version = int(conn.execute(select(func.coalesce(func.max(RS.c.version), 0))).scalar_one()) + 1
    starts = data.starts_at.astimezone(UTC) if data.starts_at else utcnow()
    rule_set = PointRuleSet(version=version, starts_at=starts, note=data.note, created_by_id=actor.user_id,
                            rules=[r.model_dump(mode="json") for r in data.rules])
    try:
        with session.begin_nested():
            session.add(rule_set)
            session.flush()
    except IntegrityError:
        raise Conflict(gettext("Someone saved another version at the same moment; reload and try again.")) from None
    audit.record(session=session, actor=actor, action=AuditAction.points_rules, object_type="point_rule_set",
                 object_id=rule_set.id, after={"version": version, "starts_at": starts.isoformat(),
                                               "rules": rule_set.rules, "note": data.note})
    return rule_set


# ---- grants ------------------------------------------------------------------------------------


@dataclass
class GrantResult:
    granted: int = 0  # entries added
    held: int = 0  # held for review
    points: int = 0  # points granted


def _flagged(conn: Connection, people: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(people), 500):
        for pid, kind, detail in conn.execute(select(F.c.profile_id, F.c.kind, F.c.detail).where(
                F.c.profile_id.in_(people[start:start + 500]),
                F.c.status.in_((FlagStatus.open.value, FlagStatus.confirmed.value)))):
            found.setdefault(pid, f"{kind}: {detail}"[:500])
    return found


def _history(conn: Connection, people: Sequence[int], since: datetime) -> pure.History:
    """Caps and daily totals already used by these people since `since` (entries and holds)."""
    history = pure.History()
    daily: dict[int, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for start in range(0, len(people), 500):
        chunk = people[start:start + 500]
        for table, granted in ((E, True), (H, False)):
            where = [table.c.profile_id.in_(chunk), X.c.occurred_at >= since]
            if table is E:  # what stands: earned and not reversed
                where += [table.c.kind == EntryKind.earned.value, ~exists().where(REVERSAL.c.reverses_id == E.c.id)]
            else:  # held and undecided (a granted hold has its entry above)
                where.append(table.c.status == HoldStatus.pending.value)
            rows = conn.execute(select(table.c.profile_id, X.c.occurred_at, table.c.rule_set_id, table.c.rule,
                                       table.c.amount).join(X, X.c.id == table.c.interaction_id).where(*where))
            for pid, occurred, set_id, rule, amount in rows:
                key = (pid, occurred.date(), set_id, rule)
                history.used[key] = history.used.get(key, 0) + amount
                if granted:
                    daily[pid][occurred.date()] += amount
    history.daily = {pid: days for pid, days in daily.items()}
    return history


def _insert_ignoring_repeats(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(rows added, their points); rows whose (interaction, rule version) exists already are skipped."""
    if not rows:
        return 0, 0
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (dialect_insert(table).on_conflict_do_nothing(index_elements=["interaction_id", "rule_set_id", "generation"])
                 .returning(table.c.amount))
    added = points = 0
    for start in range(0, len(rows), BATCH):
        for (amount,) in conn.execute(statement, rows[start:start + BATCH]):
            added, points = added + 1, points + amount
    return added, points


def _grant_state(conn: Connection, ids: Sequence[int]) -> tuple[set[tuple[int, int]], dict[tuple[int, int], int]]:
    """(interaction, rule set) pairs that hold points now (an earned entry not reversed, or a hold that is
    pending or rejected: a rejection is a decision, not an invitation to grant again; a void hold, whose
    interaction changed, is not), and the next grant's `generation` for each pair."""
    live: set[tuple[int, int]] = set()
    generation: dict[tuple[int, int], int] = defaultdict(int)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        earned = conn.execute(select(E.c.id, E.c.interaction_id, E.c.rule_set_id).where(
            E.c.interaction_id.in_(chunk), E.c.kind == EntryKind.earned.value)).all()
        reversed_ = {rid for (rid,) in conn.execute(select(E.c.reverses_id).where(
            E.c.reverses_id.in_([row.id for row in earned])))} if earned else set()
        corrected = {rid for (rid,) in conn.execute(select(E.c.reverses_id).where(
            E.c.reverses_id.in_([row.id for row in earned]), E.c.rule == CORRECTION))} if earned else set()
        for entry_id, iid, sid in earned:
            generation[(iid, sid)] += 1
            if entry_id not in reversed_ or entry_id in corrected:  # a correction by hand is a decision
                live.add((iid, sid))
        holds: dict[tuple[int, int], int] = defaultdict(int)
        for iid, sid, status in conn.execute(select(H.c.interaction_id, H.c.rule_set_id, H.c.status).where(
                H.c.interaction_id.in_(chunk))):
            holds[(iid, sid)] += 1
            if status in (HoldStatus.pending.value, HoldStatus.rejected.value):  # undecided, or decided: no
                live.add((iid, sid))
        for pair, count in holds.items():  # the next grant's number is new in both tables
            generation[pair] = max(generation[pair], count)
    return live, generation


def revoke_for_interaction(conn: Connection, interaction_id: int, reason: str, *, actor_id: int | None = None) -> int:
    """The interaction was edited or deleted: its points are reversed (new entries) and its pending holds
    voided (nobody decided; what it is now is judged afresh). Points reversed."""
    earned = conn.execute(select(E.c.id, E.c.profile_id, E.c.amount).where(
        E.c.interaction_id == interaction_id, E.c.kind == EntryKind.earned.value)).all()
    reversed_ = {rid for (rid,) in conn.execute(select(E.c.reverses_id).where(
        E.c.reverses_id.in_([row.id for row in earned])))} if earned else set()
    now = utcnow()
    rows = [{"profile_id": pid, "amount": -amount, "kind": EntryKind.reversal.value, "reason": reason[:300],
             "reverses_id": entry_id, "created_by_id": actor_id, "created_at": now}
            for entry_id, pid, amount in earned if entry_id not in reversed_]
    if rows:
        conn.execute(E.insert(), rows)
    conn.execute(H.update().where(H.c.interaction_id == interaction_id, H.c.status == HoldStatus.pending.value)
                 .values(status=HoldStatus.void.value, decided_at=now, detail=func.substr(
                     H.c.detail + " · " + reason, 1, 500)))
    return -sum(r["amount"] for r in rows)


def grant_for_interactions(conn: Connection, interaction_ids: Iterable[int], *, actor_id: int | None = None
                           ) -> GrantResult:
    """Points for these interactions under the rules in force when each happened; held for review when
    the person is flagged or the day is a burst. Interactions that earned already earn nothing again."""
    ids = sorted(set(interaction_ids))
    result = GrantResult()
    if not ids:
        return result
    ensure_rules(conn)
    sets = rule_sets(conn)
    items: list[pure.Item] = []
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(X.c.id, X.c.profile_id, X.c.kind, X.c.channel, X.c.occurred_at)
                                .where(X.c.id.in_(ids[start:start + 500]))):
            items.append(pure.Item(interaction_id=row.id, profile_id=row.profile_id, kind=row.kind,
                                   channel=row.channel or "", occurred_at=row.occurred_at))
    if not items:
        return result
    people = sorted({i.profile_id for i in items})
    since = min(i.occurred_at for i in items) - timedelta(days=pure.HISTORY_DAYS + 1)
    history = _history(conn, people, since)
    live, generation = _grant_state(conn, ids)
    fresh = [i for i in items if (i.interaction_id, (pure.rule_set_for(i.occurred_at, sets) or _NO_SET).id) not in live]
    out = pure.grants(fresh, sets, history, _flagged(conn, people))
    now = utcnow()
    entries = [{"profile_id": g.profile_id, "amount": g.amount, "kind": EntryKind.earned.value,
                "reason": g.rule, "rule_set_id": g.rule_set_id, "rule": g.rule, "interaction_id": g.interaction_id,
                "generation": generation.get((g.interaction_id, g.rule_set_id), 0), "created_by_id": actor_id,
                "created_at": now} for g in out if not g.held]
    holds = [{"profile_id": g.profile_id, "amount": g.amount, "flag": g.held.split(":")[0], "detail": g.held[:500],
              "rule_set_id": g.rule_set_id, "rule": g.rule, "interaction_id": g.interaction_id,
              "generation": generation.get((g.interaction_id, g.rule_set_id), 0), "status": HoldStatus.pending.value,
              "created_at": now} for g in out if g.held]
    result.granted, result.points = _insert_ignoring_repeats(conn, E, entries)
    result.held, _ = _insert_ignoring_repeats(conn, H, holds)
    return result


_NO_SET = pure.RuleSetView(id=0, version=0, starts_at=EPOCH, rules={})


# ---- points by hand, reversals -----------------------------------------------------------------


def _people(profile_ids: Sequence[int], *, session: Session) -> list[Profile]:
    wanted = list(dict.fromkeys(profile_ids))
    found = {p.id: p for p in session.execute(select(Profile).where(col(Profile.id).in_(wanted))).scalars()}
    missing = [pid for pid in wanted if pid not in found]
    if missing:
        raise InvalidInput(gettext("There is no person with id %(ids)s.") % {"ids": ", ".join(map(str, missing[:10]))},
                           field_errors={"profile_ids": gettext("Unknown people: %(ids)s") % {
                               "ids": ", ".join(map(str, missing[:10]))}})
    return [found[pid] for pid in wanted]


def award(data: AwardIn, *, session: Session, actor: Actor) -> list[PointEntry]:
    """Points by hand to each person (recorded as recognition: they leave the "not yet thanked" queue)."""
    people = _people(data.profile_ids, session=session)
    entries = [PointEntry(profile_id=p.id or 0, amount=data.points, kind=EntryKind.awarded.value, reason=data.reason,
                          created_by_id=actor.user_id) for p in people]
    session.add_all(entries)
    session.add_all([Recognition(profile_id=p.id or 0, kind=RecognitionKind.points.value, note=data.reason,
                                 points=data.points, created_by_id=actor.user_id) for p in people])
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.points_award, object_type="points",
                 after={"profile_ids": [p.id for p in people], "points": data.points, "reason": data.reason})
    return entries


def reverse(entry_id: int, reason: str, *, session: Session, actor: Actor) -> PointEntry:
    """A correction: a new entry with the opposite amount. An entry is reversed at most once; spending
    and refunds are corrected through their redemption, not here."""
    entry = session.get(PointEntry, entry_id)
    if entry is None:
        raise NotFound(gettext("There is no ledger entry with id %(id)s.") % {"id": entry_id})
    if entry.kind not in (EntryKind.earned, EntryKind.awarded):
        raise InvalidInput(gettext("Only earned or awarded points can be reversed here."))
    if entry.amount > 0:
        serialize_writes(session, f"redeem-person-{entry.profile_id}")  # the lock a redemption takes
        left = balances([entry.profile_id], conn=session.connection())[entry.profile_id].current - entry.amount
        if left < 0:
            raise Conflict(gettext("Reversing these %(points)d points would leave %(left)d to spend: some of them were "
                                   "spent already. Reject the person's pending redemptions first, or reverse less.")
                           % {"points": entry.amount, "left": left})
    reversal = PointEntry(profile_id=entry.profile_id, amount=-entry.amount, kind=EntryKind.reversal.value,
                          reason=(reason or gettext("Correction"))[:300], reverses_id=entry.id, rule=CORRECTION,
                          created_by_id=actor.user_id)
    try:
        with session.begin_nested():
            session.add(reversal)
            session.flush()
    except IntegrityError:
        raise Conflict(gettext("This entry has been reversed already.")) from None
    audit.record(session=session, actor=actor, action=AuditAction.points_reverse, object_type="profile",
                 object_id=entry.profile_id, before={"entry": entry.id, "amount": entry.amount},
                 after={"reversal": reversal.id, "amount": reversal.amount, "reason": reversal.reason})
    return reversal


# ---- balances and history ----------------------------------------------------------------------


@dataclass
class Balance:
    current: int = 0
    lifetime: int = 0
    held: int = 0


def balances(profile_ids: Sequence[int], *, conn: Connection) -> dict[int, Balance]:
    """Derived from the ledger: current (spendable) = every entry; lifetime = earned + awarded − reversals."""
    out = {pid: Balance() for pid in profile_ids}
    lifetime = func.sum(func.coalesce(E.c.amount, 0)).filter(E.c.kind.in_([k.value for k in LIFETIME_KINDS]))
    for start in range(0, len(profile_ids), 500):
        chunk = list(profile_ids[start:start + 500])
        for pid, current, earned in conn.execute(select(E.c.profile_id, func.sum(E.c.amount), lifetime)
                                                 .where(E.c.profile_id.in_(chunk)).group_by(E.c.profile_id)):
            out[pid].current, out[pid].lifetime = int(current or 0), int(earned or 0)
        for pid, held in conn.execute(select(H.c.profile_id, func.sum(H.c.amount)).where(
                H.c.profile_id.in_(chunk), H.c.status == HoldStatus.pending.value).group_by(H.c.profile_id)):
            out[pid].held = int(held or 0)
    return out


def history(profile_id: int, *, session: Session, offset: int = 0, limit: int = 50) -> tuple[list[PointEntry], int]:
    """A person's entries, newest first, and how many there are."""
    conn = session.connection()
    total = int(conn.execute(select(func.count()).select_from(E).where(E.c.profile_id == profile_id)).scalar_one())
    ids = [row.id for row in conn.execute(select(E.c.id).where(E.c.profile_id == profile_id)
                                          .order_by(E.c.id.desc()).offset(offset).limit(limit))]
    entries = {e.id: e for e in session.execute(select(PointEntry).where(col(PointEntry.id).in_(ids))).scalars()}
    return [entries[i] for i in ids], total
