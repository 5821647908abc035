"""Anti-gaming: person-level flags (rings, likely duplicates) and the review of held points.

Bursts are caught while points are granted (crm.recognition.rules holds them). This module adds flags
on people; while a flag is open (or confirmed) every new grant of that person is held for review
(crm.recognition.ledger reads them), and a redemption by them needs approval (`open_flags`).

- **Rings**: small groups (3–8 people) whose members send most (≥ 80 %) of their interactions with a
  counterpart in the last 90 days to each other, and earned points for them. Found by pruning people who
  cannot be in such a group (the few people they address most must take ≥ 80 % of what they send), then
  peeling: anyone sending less than 80 % inside what is left is removed, until nothing changes; what
  remains is split into strongly connected parts (and, above 8 people, into Louvain communities) and
  peeled again. A broad community, where people talk to many others, never survives the pruning.
- **Duplicates**: the duplicate suggestions of crm.merges (same e-mail, same profile URL, or a similar
  name together with the same handle on another platform) where both people earn points.
- **Review**: granting a hold appends the ledger entry it would have been; rejecting appends nothing.
  Clearing a flag lets future grants flow; confirming keeps them held. All of it audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from heapq import nlargest
from typing import Any, cast

import networkx as nx
from pydantic import Field as PydField
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import serialize_writes, utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import N_, gettext
from crm.interactions.models import OUR_KINDS, Interaction, Relationship, RelationshipKind, RelationshipOrigin
from crm.merges import duplicates
from crm.profiles.models import Profile
from crm.recognition.models import (
    EntryKind,
    FlagKind,
    FlagStatus,
    GamingFlag,
    HoldStatus,
    PointEntry,
    PointHold,
)
from crm.schemas import DbId, InputModel

E = cast(Table, PointEntry.__table__)  # type: ignore[attr-defined]
H = cast(Table, PointHold.__table__)  # type: ignore[attr-defined]
F = cast(Table, GamingFlag.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
PR = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
R = cast(Table, Relationship.__table__)  # type: ignore[attr-defined]

RING_DAYS = 90
RING_MIN, RING_MAX = 3, 8
RING_SHARE = 0.8  # of a member's interactions with a counterpart that go to the group
RING_MIN_SENT = 3  # a member sent at least this many: two replies say nothing
MAX_PEOPLE = 100_000  # the scan looks at the most recently active people up to this many
# Imported or hand-made edges of these kinds count as one interaction each (they are interactions
# that were not logged one by one); "knows", "follows" and "colleague" are ties, not activity.
RING_EDGE_KINDS = (RelationshipKind.mentions.value, RelationshipKind.replies_to.value,
                   RelationshipKind.referred.value, RelationshipKind.collaborates.value)
ACTIVE = (FlagStatus.open.value, FlagStatus.confirmed.value)

# Words for the enum values shown through the |label filter (extracted for translation here).
_LABELS = (N_("Ring"), N_("Duplicate"), N_("Burst"), N_("Open"), N_("Cleared"), N_("Confirmed"), N_("Pending"),
           N_("Granted"), N_("Rejected"))


# ---- rings: pure ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ring:
    members: tuple[int, ...]  # sorted
    sent: dict[int, int]  # member -> interactions with a counterpart sent (anyone)
    inside: dict[int, int]  # member -> of those, to the group
    points: dict[int, int]  # member -> points earned for the ones to the group

    def share(self, member: int) -> float:
        return self.inside[member] / self.sent[member] if self.sent[member] else 0.0


def find_rings(sends: Mapping[tuple[int, int], int], earned: Mapping[tuple[int, int], int], *,
               min_size: int = RING_MIN, max_size: int = RING_MAX, share: float = RING_SHARE,
               min_sent: int = RING_MIN_SENT) -> list[Ring]:
    """Groups of `min_size`..`max_size` people each sending at least `share` of their interactions with
    a counterpart (`sends`: (author, counterpart) -> count) to the others, strongly connected, at least two
    of whom earned points (`earned`: (author, counterpart) -> points) for what they sent inside. The scan
    flags the members who earned."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    total: dict[int, int] = defaultdict(int)
    for (a, b), n in sends.items():
        if a != b and n > 0:
            out[a][b] = out[a].get(b, 0) + n
            total[a] += n
    # Who could be in a small group at all: what they send to the (max_size - 1) people they address
    # most must reach the share.
    candidates = {a for a, n in total.items()
                  if n >= min_sent and sum(nlargest(max_size - 1, out[a].values())) >= share * n}
    rings: list[Ring] = []

    into: dict[int, dict[int, int]] = defaultdict(dict)
    for a, targets in out.items():
        for b, n in targets.items():
            into[b][a] = n

    def peel(group: set[int]) -> set[int]:
        """Remove whoever sends less than the share inside the group, until nobody does."""
        group = set(group)
        inside = {a: sum(n for b, n in out[a].items() if b in group) for a in group}
        queue = [a for a in group if inside[a] < share * total[a]]
        while queue:
            a = queue.pop()
            if a not in group:
                continue
            group.discard(a)
            for source, n in into[a].items():
                if source in group:
                    inside[source] -= n
                    if inside[source] < share * total[source]:
                        queue.append(source)
        return group

    def graph(group: set[int]) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(group)
        g.add_weighted_edges_from((a, b, n) for a in group for b, n in out[a].items() if b in group)
        return g

    def check(group: set[int], depth: int) -> None:
        group = peel(group)
        if len(group) < min_size or depth > 8:
            return
        g = graph(group)
        parts = [set(c) for c in nx.strongly_connected_components(g) if len(c) >= min_size]
        if len(parts) != 1 or parts[0] != group:
            for part in parts:
                check(part, depth + 1)
            return
        if len(group) > max_size:
            communities = nx.community.louvain_communities(g.to_undirected(), weight="weight", seed=7)
            if len(communities) > 1:
                for community in communities:
                    check(set(community), depth + 1)
            return
        inside = {a: sum(n for b, n in out[a].items() if b in group) for a in group}
        points = {a: sum(earned.get((a, b), 0) for b in group if b != a) for a in group}
        if sum(1 for a in group if points[a] > 0) < 2:
            return  # nobody (or one person) earned anything for it: not farming points
        rings.append(Ring(members=tuple(sorted(group)), sent={a: total[a] for a in group}, inside=inside,
                          points=points))

    # Weakly connected parts of the candidates' graph are independent problems.
    kept = peel(candidates)
    for part in nx.weakly_connected_components(graph(kept)):
        check(set(part), 0)
    rings.sort(key=lambda r: r.members)
    return rings


# ---- flags: reading -----------------------------------------------------------------------------------


def open_flags(profile_ids: Iterable[int], *, conn: Connection) -> dict[int, str]:
    """People with an open or confirmed flag -> "kind: detail" (the first one found); others are left out.
    A flagged person's points are held and their redemptions need approval."""
    people = sorted(set(profile_ids))
    found: dict[int, str] = {}
    for start in range(0, len(people), 500):
        for pid, kind, detail in conn.execute(select(F.c.profile_id, F.c.kind, F.c.detail).where(
                F.c.profile_id.in_(people[start:start + 500]), F.c.status.in_(ACTIVE)).order_by(F.c.id)):
            found.setdefault(pid, f"{kind}: {detail}"[:500])
    return found


# ---- the scan -----------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    people: int = 0  # people whose interactions were looked at
    rings: int = 0  # rings found (flagged now or before)
    duplicates: int = 0  # duplicate pairs found where both earn
    flagged: int = 0  # flags added now
    flag_ids: list[int] = field(default_factory=list)


def _ring_data(conn: Connection, since: datetime) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int], int]:
    """(sends, earned, people) over the window, for the MAX_PEOPLE most recently active authors."""
    ours = [k.value for k in OUR_KINDS]
    active = select(X.c.profile_id).where(X.c.occurred_at >= since, X.c.counterpart_id.is_not(None),
                                          X.c.kind.not_in(ours)).group_by(X.c.profile_id)
    people_count = int(conn.execute(select(func.count()).select_from(active.subquery())).scalar_one())
    limit_to: set[int] | None = None
    if people_count > MAX_PEOPLE:
        limit_to = {pid for (pid,) in conn.execute(
            active.order_by(func.max(X.c.occurred_at).desc()).limit(MAX_PEOPLE))}
    sends: dict[tuple[int, int], int] = defaultdict(int)
    rows = conn.execute(select(X.c.profile_id, X.c.counterpart_id, func.count()).where(
        X.c.occurred_at >= since, X.c.counterpart_id.is_not(None), X.c.kind.not_in(ours),
        X.c.profile_id != X.c.counterpart_id).group_by(X.c.profile_id, X.c.counterpart_id))
    for a, b, n in rows:
        if limit_to is None or a in limit_to:
            sends[(a, b)] += int(n)
    seen = func.coalesce(R.c.last_seen, R.c.created_at)
    for a, b, n in conn.execute(select(R.c.source_id, R.c.target_id, func.count()).where(
            R.c.kind.in_(RING_EDGE_KINDS), R.c.origin != RelationshipOrigin.interaction.value, seen >= since,
            R.c.source_id != R.c.target_id).group_by(R.c.source_id, R.c.target_id)):
        if limit_to is None or a in limit_to:
            sends[(a, b)] += int(n)
    earned: dict[tuple[int, int], int] = defaultdict(int)
    for table, where in ((E, E.c.kind == EntryKind.earned.value), (H, H.c.status == HoldStatus.pending.value)):
        for a, b, n in conn.execute(select(X.c.profile_id, X.c.counterpart_id, func.sum(table.c.amount))
                                    .join(X, X.c.id == table.c.interaction_id)
                                    .where(where, X.c.occurred_at >= since, X.c.counterpart_id.is_not(None))
                                    .group_by(X.c.profile_id, X.c.counterpart_id)):
            if limit_to is None or a in limit_to:
                earned[(a, b)] += int(n or 0)
    return dict(sends), dict(earned), min(people_count, MAX_PEOPLE)


def _earners(conn: Connection, people: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(people), 500):
        chunk = people[start:start + 500]
        found |= {pid for (pid,) in conn.execute(select(E.c.profile_id).where(
            E.c.profile_id.in_(chunk), E.c.kind.in_((EntryKind.earned.value, EntryKind.awarded.value)))
            .group_by(E.c.profile_id).having(func.sum(E.c.amount) > 0))}
        found |= {pid for (pid,) in conn.execute(select(H.c.profile_id).where(
            H.c.profile_id.in_(chunk), H.c.status == HoldStatus.pending.value).group_by(H.c.profile_id))}
    return found


STRONG_REASONS = {duplicates.REASON_EMAIL, duplicates.REASON_URL}


def duplicate_pairs(*, session: Session) -> list[tuple[int, int, list[str]]]:
    """Likely the same person, both earning points: (low id, high id, reasons). A pair someone marked
    "not the same person" on the duplicates page is left out."""
    strong = [(a, b, reasons) for a, b, _, reasons in duplicates.suggestion_pairs(session=session)
              if STRONG_REASONS & set(reasons)
              or {duplicates.REASON_NAME, duplicates.REASON_HANDLE} <= set(reasons)]
    earners = _earners(session.connection(), sorted({pid for a, b, _ in strong for pid in (a, b)}))
    return [(a, b, reasons) for a, b, reasons in strong if a in earners and b in earners]


def scan(*, session: Session, actor: Actor, now: datetime | None = None) -> ScanResult:
    """Look for rings and duplicates and flag the people found. A person gets no second flag of a kind
    while one is open or confirmed, nor again for the same group after a reviewer cleared it."""
    now = now or utcnow()
    conn = session.connection()
    result = ScanResult()
    sends, earned, result.people = _ring_data(conn, now - timedelta(days=RING_DAYS))
    rings = find_rings(sends, earned)
    result.rings = len(rings)
    pairs = duplicate_pairs(session=session)
    result.duplicates = len(pairs)

    wanted: list[dict[str, Any]] = []  # the flags the findings call for
    for ring in rings:
        for member in (m for m in ring.members if ring.points[m] > 0):
            wanted.append({"profile_id": member, "kind": FlagKind.ring.value,
                           "related": [m for m in ring.members if m != member],
                           "detail": (f"ring of {len(ring.members)}: {ring.inside[member]} of {ring.sent[member]} "
                                      f"interactions with a counterpart in {RING_DAYS} days "
                                      f"({100 * ring.share(member):.0f} %) went to the group; "
                                      f"{ring.points[member]} points earned for them")})
    partners: dict[int, dict[int, list[str]]] = defaultdict(dict)
    for a, b, reasons in pairs:
        partners[a][b] = reasons
        partners[b][a] = reasons
    for pid, others in partners.items():
        why = "; ".join(f"#{other}: {', '.join(reasons)}" for other, reasons in sorted(others.items()))
        wanted.append({"profile_id": pid, "kind": FlagKind.duplicate.value, "related": sorted(others),
                       "detail": f"likely the same person as {why}; both earn points"[:500]})
    if not wanted:
        return result

    serialize_writes(session, "gaming_flag")  # two scans at once: one flag per person and kind
    people = sorted({w["profile_id"] for w in wanted})
    existing: dict[tuple[int, str], list[tuple[str, list[int]]]] = defaultdict(list)
    for start in range(0, len(people), 500):
        for pid, kind, status, related in conn.execute(select(F.c.profile_id, F.c.kind, F.c.status, F.c.related)
                                                       .where(F.c.profile_id.in_(people[start:start + 500]))):
            existing[(pid, kind)].append((status, sorted(related or [])))
    stamp = utcnow()
    for want in wanted:
        before = existing[(want["profile_id"], want["kind"])]
        if any(status in ACTIVE or related == want["related"] for status, related in before):
            continue
        flag_id = conn.execute(F.insert().values(status=FlagStatus.open.value, created_at=stamp, **want)
                               .returning(F.c.id)).scalar_one()
        before.append((FlagStatus.open.value, want["related"]))
        result.flag_ids.append(int(flag_id))
        audit.record(session=session, actor=actor, action=AuditAction.gaming_scan, object_type="profile",
                     object_id=want["profile_id"], after={"flag": int(flag_id), "kind": want["kind"],
                                                          "status": FlagStatus.open.value, "detail": want["detail"],
                                                          "related": want["related"]})
    result.flagged = len(result.flag_ids)
    session.flush()
    return result


# ---- review: holds ------------------------------------------------------------------------------------

MAX_BULK = 500


class HoldDecisionIn(InputModel):
    """Several held grants decided at once."""

    hold_ids: list[DbId] = PydField(min_length=1, max_length=MAX_BULK, description="The holds to decide")


@dataclass(frozen=True)
class HoldRow:
    hold: PointHold
    name: str
    interaction_kind: str
    interaction_title: str
    occurred_at: datetime | None
    flag_ids: list[int]  # open or confirmed flags of the person (their ids), for the link to the flag


@dataclass
class Listing:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _names(people: Iterable[int], *, session: Session) -> dict[int, str]:
    wanted = sorted(set(people))
    names: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        names.update({int(pid): str(name) for pid, name in session.execute(select(PR.c.id, PR.c.display_name).where(
            PR.c.id.in_(wanted[start:start + 500])))})
    return names


def get_hold(hold_id: int, *, session: Session) -> PointHold:
    hold = session.get(PointHold, hold_id)
    if hold is None:
        raise NotFound(gettext("There are no held points with id %(id)s.") % {"id": hold_id})
    return hold


def holds(*, session: Session, status: str = HoldStatus.pending.value, profile_id: int | None = None,
          page: int = 1, per_page: int = 50) -> Listing:
    """Held grants with their person and interaction, oldest first (pending) or newest decision first."""
    if status not in {s.value for s in HoldStatus}:
        raise InvalidInput(gettext("Choose pending, granted or rejected."), field_errors={"status": gettext(
            "Choose one of the options.")})
    where = [col(PointHold.status) == status]
    if profile_id is not None:
        where.append(col(PointHold.profile_id) == profile_id)
    total = int(session.execute(select(func.count()).select_from(PointHold).where(*where)).scalar_one())
    page = max(1, min(page, max(1, -(-total // per_page))))
    order = ([col(PointHold.created_at), col(PointHold.id)] if status == HoldStatus.pending.value
             else [col(PointHold.decided_at).desc(), col(PointHold.id).desc()])
    found = list(session.execute(select(PointHold).where(*where).order_by(*order)
                                 .offset((page - 1) * per_page).limit(per_page)).scalars())
    people = {h.profile_id for h in found}
    names = _names(people, session=session)
    items = {h.interaction_id for h in found if h.interaction_id}
    what = {row.id: row for row in session.execute(select(X.c.id, X.c.kind, X.c.title, X.c.occurred_at)
                                                   .where(X.c.id.in_(items)))} if items else {}
    flagged: dict[int, list[int]] = defaultdict(list)
    if people:
        for fid, pid in session.execute(select(F.c.id, F.c.profile_id).where(F.c.profile_id.in_(people),
                                                                             F.c.status.in_(ACTIVE))):
            flagged[pid].append(fid)
    rows = []
    for h in found:
        item = what.get(h.interaction_id or 0)
        rows.append(HoldRow(hold=h, name=names.get(h.profile_id, ""), interaction_kind=item.kind if item else "",
                            interaction_title=item.title if item else "",
                            occurred_at=item.occurred_at if item else None, flag_ids=sorted(flagged.get(h.profile_id, []))))
    return Listing(rows=rows, total=total, page=page, per_page=per_page)


def _decide_holds(hold_ids: Sequence[int], status: HoldStatus, *, session: Session, actor: Actor) -> list[PointHold]:
    ids = sorted(set(hold_ids))
    if not ids:
        return []
    conn = session.connection()
    now = utcnow()
    # Only pending holds change, in one conditional UPDATE: a double click or two reviewers at once decide
    # each hold once (the second finds it decided and does nothing).
    decided = conn.execute(H.update().where(H.c.id.in_(ids), H.c.status == HoldStatus.pending.value)
                           .values(status=status.value, decided_by_id=actor.user_id, decided_at=now)
                           .returning(H.c.id, H.c.profile_id, H.c.amount, H.c.rule_set_id, H.c.rule,
                                      H.c.interaction_id, H.c.generation, H.c.flag)).all()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for row in sorted(decided, key=lambda r: r.id):
        entry_id = None
        if status == HoldStatus.granted:
            entry_id = conn.execute(dialect_insert(E).values(
                profile_id=row.profile_id, amount=row.amount, kind=EntryKind.earned.value,
                reason=f"{row.rule} (granted after review)"[:300], rule_set_id=row.rule_set_id, rule=row.rule,
                interaction_id=row.interaction_id, generation=row.generation, created_by_id=actor.user_id,
                created_at=now).on_conflict_do_nothing(index_elements=["interaction_id", "rule_set_id", "generation"])
                .returning(E.c.id)).scalar()
            if entry_id is None:  # the same grant is in the ledger already: nothing is added twice
                entry_id = conn.execute(select(E.c.id).where(
                    E.c.interaction_id == row.interaction_id, E.c.rule_set_id == row.rule_set_id,
                    E.c.generation == row.generation)).scalar()
            conn.execute(H.update().where(H.c.id == row.id).values(entry_id=entry_id))
        audit.record(session=session, actor=actor, action=AuditAction.points_hold, object_type="profile",
                     object_id=row.profile_id, before={"hold": row.id, "status": HoldStatus.pending.value},
                     after={"hold": row.id, "status": status.value, "points": row.amount, "rule": row.rule,
                            "flag": row.flag, "interaction": row.interaction_id, "entry": entry_id})
    session.flush()
    if not decided:
        return []
    return list(session.execute(select(PointHold).where(col(PointHold.id).in_([r.id for r in decided]))
                                .order_by(col(PointHold.id)).execution_options(populate_existing=True)).scalars())


def grant_holds(hold_ids: Sequence[int], *, session: Session, actor: Actor) -> list[PointHold]:
    """Grant these pending holds: each becomes the earned entry it was held from. Holds decided already
    are skipped. Returns the holds granted now."""
    return _decide_holds(hold_ids, HoldStatus.granted, session=session, actor=actor)


def reject_holds(hold_ids: Sequence[int], *, session: Session, actor: Actor) -> list[PointHold]:
    """Reject these pending holds: nothing is added to the ledger. Returns the holds rejected now."""
    return _decide_holds(hold_ids, HoldStatus.rejected, session=session, actor=actor)


def decide_hold(hold_id: int, status: HoldStatus, *, session: Session, actor: Actor) -> PointHold:
    """One hold (the API): 404 if there is none, 409 if it was decided already."""
    hold = get_hold(hold_id, session=session)
    done = _decide_holds([hold_id], status, session=session, actor=actor)
    if not done:
        session.refresh(hold)
        raise Conflict(gettext("These points were reviewed already (%(status)s).") % {"status": gettext(
            hold.status.capitalize())})
    return done[0]


# ---- review: flags ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagRow:
    flag: GamingFlag
    name: str
    related: list[tuple[int, str]]  # (id, name); a person deleted since shows with an empty name
    held: int  # points held for review for this person


def get_flag(flag_id: int, *, session: Session) -> GamingFlag:
    flag = session.get(GamingFlag, flag_id)
    if flag is None:
        raise NotFound(gettext("There is no flag with id %(id)s.") % {"id": flag_id})
    return flag


def flags(*, session: Session, statuses: Sequence[str] = ACTIVE, page: int = 1, per_page: int = 50) -> Listing:
    """Flags in these statuses, newest first, with the people they name."""
    bad = [s for s in statuses if s not in {f.value for f in FlagStatus}]
    if bad:
        raise InvalidInput(gettext("Choose open, cleared or confirmed."), field_errors={"status": gettext(
            "Choose one of the options.")})
    where = [col(GamingFlag.status).in_(list(statuses))]
    total = int(session.execute(select(func.count()).select_from(GamingFlag).where(*where)).scalar_one())
    page = max(1, min(page, max(1, -(-total // per_page))))
    found = list(session.execute(select(GamingFlag).where(*where).order_by(col(GamingFlag.id).desc())
                                 .offset((page - 1) * per_page).limit(per_page)).scalars())
    people = {f.profile_id for f in found} | {pid for f in found for pid in (f.related or [])}
    names = _names(people, session=session)
    held: dict[int, int] = {}
    if people:
        held = {pid: int(n or 0) for pid, n in session.execute(
            select(H.c.profile_id, func.sum(H.c.amount)).where(H.c.profile_id.in_({f.profile_id for f in found}),
                                                               H.c.status == HoldStatus.pending.value)
            .group_by(H.c.profile_id))}
    rows = [FlagRow(flag=f, name=names.get(f.profile_id, ""), related=[(pid, names.get(pid, "")) for pid in f.related or []],
                    held=held.get(f.profile_id, 0)) for f in found]
    return Listing(rows=rows, total=total, page=page, per_page=per_page)


def decide_flag(flag_id: int, status: FlagStatus, *, session: Session, actor: Actor) -> GamingFlag:
    """Clear (nothing wrong: the person's future grants flow again) or confirm (gaming: they stay held).
    Deciding what is decided that way already changes nothing (a double click)."""
    if status == FlagStatus.open:
        raise InvalidInput(gettext("A flag can be cleared or confirmed."))
    flag = get_flag(flag_id, session=session)
    conn = session.connection()
    before = flag.status
    changed = conn.execute(F.update().where(F.c.id == flag_id, F.c.status != status.value)
                           .values(status=status.value, reviewed_by_id=actor.user_id, reviewed_at=utcnow())
                           .returning(F.c.id)).first()
    if changed is not None:
        audit.record(session=session, actor=actor, action=AuditAction.gaming_flag, object_type="profile",
                     object_id=flag.profile_id, before={"flag": flag_id, "status": before},
                     after={"flag": flag_id, "kind": flag.kind, "status": status.value})
    session.flush()
    session.refresh(flag)
    return flag
