"""Anti-gaming: rings on a constructed graph (pure), the scan on a real database (rings and duplicates
flagged, a broad community not), a flagged person's grants held, and the review of holds and flags."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM, Actor
from crm.db import session_scope, utcnow
from crm.errors import Conflict
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition import gaming, ledger
from crm.recognition.models import EntryKind, FlagStatus, GamingFlag, HoldStatus, PointEntry, PointHold
from tests.factories import make_profile

REVIEWER = Actor(user_id=None, label="reviewer@example.com")


# ---- pure: find_rings -----------------------------------------------------------------------------


def _all_to_all(people, sends, earned, count=2, points=4):
    for a in people:
        for b in people:
            if a != b:
                sends[(a, b)] = count
                earned[(a, b)] = points


def test_a_small_ring_is_found_and_a_broad_community_is_not():
    sends: dict[tuple[int, int], int] = {}
    earned: dict[tuple[int, int], int] = {}
    ring = [100, 101, 102, 103]
    _all_to_all(ring, sends, earned, count=5, points=25)
    for member in ring:
        sends[(member, 1)] = 2  # a little outside: 15 of 17 (88 %) still inside
    _all_to_all(list(range(200, 212)), sends, earned)  # twelve people all talking to all: a community
    lattice = list(range(300, 312))  # twelve, each to the next seven: dense, but no small closed group
    for i, a in enumerate(lattice):
        for k in range(1, 8):
            sends[(a, lattice[(i + k) % 12])] = 3
            earned[(a, lattice[(i + k) % 12])] = 3
    rings = gaming.find_rings(sends, earned)
    assert [r.members for r in rings] == [(100, 101, 102, 103)]
    found = rings[0]
    assert found.sent[100] == 17 and found.inside[100] == 15 and found.points[100] == 75
    assert round(found.share(100), 2) == 0.88


def test_a_ring_needs_the_share_strong_ties_and_points():
    sends: dict[tuple[int, int], int] = {}
    earned: dict[tuple[int, int], int] = {}
    _all_to_all([1, 2, 3], sends, earned, count=2)
    for member in (1, 2, 3):
        sends[(member, 50 + member)] = 2  # 4 of 6 inside: 67 %, below the share
    assert gaming.find_rings(sends, earned) == []
    assert [r.members for r in gaming.find_rings(sends, earned, share=0.6)] == [(1, 2, 3)]
    # A closed group that earned nothing for it is not farming points.
    quiet: dict[tuple[int, int], int] = {}
    _all_to_all([7, 8, 9, 10], quiet, {})
    assert gaming.find_rings(quiet, {}) == []
    # One member earned nothing: still the group (the scan flags the three who earned); one earner is not enough.
    sends, earned = {}, {}
    _all_to_all([1, 2, 3, 4], sends, earned, count=3)
    for b in (1, 2, 3):
        earned[(4, b)] = 0
    rings = gaming.find_rings(sends, earned)
    assert [(r.members, r.points[4], r.points[1]) for r in rings] == [((1, 2, 3, 4), 0, 12)]
    for a in (2, 3):
        for b in (1, 2, 3, 4):
            earned[(a, b)] = 0
    assert gaming.find_rings(sends, earned) == []


def test_groups_above_the_size_limit_are_split_or_left():
    sends: dict[tuple[int, int], int] = {}
    earned: dict[tuple[int, int], int] = {}
    # Two rings of four joined by a single thin tie: found as two rings, not one group of eight+.
    _all_to_all([1, 2, 3, 4], sends, earned, count=6)
    _all_to_all([5, 6, 7, 8], sends, earned, count=6)
    _all_to_all([9, 10, 11], sends, earned, count=6)
    sends[(4, 5)] = 1
    sends[(5, 4)] = 1
    sends[(8, 9)] = 1
    sends[(9, 8)] = 1
    assert [r.members for r in gaming.find_rings(sends, earned)] == [(1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11)]
    assert [r.members for r in gaming.find_rings(sends, earned, max_size=3)] == [(9, 10, 11)]


# ---- the scan on a database ----------------------------------------------------------------------


def _talk(engine: Engine, pairs, *, days_ago: int = 5, kind: str = "reply") -> None:
    now = utcnow()
    with session_scope(engine, write=True) as s:
        for i, (a, b) in enumerate(pairs):
            log.log_interaction(a, InteractionIn(kind=kind, counterpart_id=b, title=f"r{i}",
                                                 occurred_at=now - timedelta(days=days_ago, minutes=i)),
                                session=s, actor=SYSTEM)


def _flags(engine: Engine) -> list[GamingFlag]:
    with session_scope(engine) as s:
        return list(s.execute(select(GamingFlag).order_by(GamingFlag.profile_id, GamingFlag.id)).scalars())


def _ring_and_community(engine: Engine) -> tuple[list[int], list[int]]:
    ring = [make_profile(engine, f"Ringer {n}").id for n in "ABCD"]
    crowd = [make_profile(engine, f"Member {n}").id for n in range(10)]
    # The ring replies to each other (3 rounds) and once to someone in the crowd.
    _talk(engine, [(a, b) for _ in range(3) for a in ring for b in ring if a != b])
    _talk(engine, [(a, crowd[0]) for a in ring])
    # The crowd talks to many: each to every other once.
    _talk(engine, [(a, b) for a in crowd for b in crowd if a != b])
    return ring, crowd


def test_the_scan_flags_a_ring_with_who_and_the_share_once(engine: Engine) -> None:
    ring, crowd = _ring_and_community(engine)
    with session_scope(engine, write=True) as s:
        result = gaming.scan(session=s, actor=SYSTEM)
    assert (result.rings, result.flagged) == (1, 4)
    flags = _flags(engine)
    assert [f.profile_id for f in flags] == ring
    assert {f.kind for f in flags} == {"ring"} and {f.status for f in flags} == {"open"}
    first = flags[0]
    assert sorted(first.related) == ring[1:]
    assert "9 of 10" in first.detail and "(90 %)" in first.detail and "points earned" in first.detail
    with session_scope(engine) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.gaming_scan)).scalars().all()
        assert sorted(e.object_id for e in events) == ring
        assert gaming.open_flags(ring + crowd, conn=s.connection()).keys() == set(ring)
    with session_scope(engine, write=True) as s:  # again: nothing new while the flags are open
        assert gaming.scan(session=s, actor=SYSTEM).flagged == 0
    assert len(_flags(engine)) == 4
    with session_scope(engine, write=True) as s:  # cleared: the same group is not flagged again
        for flag in flags:
            gaming.decide_flag(flag.id, FlagStatus.cleared, session=s, actor=REVIEWER)
    with session_scope(engine, write=True) as s:
        assert gaming.scan(session=s, actor=SYSTEM).flagged == 0
        assert gaming.open_flags(ring, conn=s.connection()) == {}


def test_old_interactions_do_not_make_a_ring(engine: Engine) -> None:
    ring = [make_profile(engine, f"Ringer {n}").id for n in "ABC"]
    _talk(engine, [(a, b) for _ in range(3) for a in ring for b in ring if a != b], days_ago=120)
    with session_scope(engine, write=True) as s:
        assert gaming.scan(session=s, actor=SYSTEM).rings == 0


def _earn(engine: Engine, pid: int) -> None:
    with session_scope(engine, write=True) as s:
        log.log_interaction(pid, InteractionIn(kind="post", title="Something"), session=s, actor=SYSTEM)


def test_duplicates_earning_separately_are_flagged_in_pairs(engine: Engine) -> None:
    site = "https://ana.example.com/"
    a = make_profile(engine, "Ana López", identities=[{"platform": "blog", "handle": "anablog", "url": site}]).id
    b = make_profile(engine, "Ana L.", identities=[{"platform": "other", "handle": "ana-site", "url": site + "?ref=x"}]).id
    c = make_profile(engine, "Carla Ruiz", identities=[{"platform": "x", "handle": "carlaruiz"}]).id
    d = make_profile(engine, "Carla Ruiz", identities=[{"platform": "github", "handle": "carlaruiz"}]).id
    e = make_profile(engine, "Eva Sanz", identities=[{"platform": "x", "handle": "evas"}]).id
    f = make_profile(engine, "Eva Sanz").id  # a similar name alone is not enough
    for pid in (a, b, c, e, f):  # d earns nothing: c and d are not "both earning"
        _earn(engine, pid)
    with session_scope(engine, write=True) as s:
        result = gaming.scan(session=s, actor=SYSTEM)
    assert (result.duplicates, result.flagged) == (1, 2)
    flags = _flags(engine)
    assert [(fl.profile_id, fl.kind, fl.related) for fl in flags] == [(a, "duplicate", [b]), (b, "duplicate", [a])]
    assert "same profile URL" in flags[0].detail and f"#{b}" in flags[0].detail
    _earn(engine, d)  # now both earn
    with session_scope(engine, write=True) as s:
        assert gaming.scan(session=s, actor=SYSTEM).flagged == 2
    assert {(fl.profile_id, tuple(fl.related)) for fl in _flags(engine)} >= {(c, (d,)), (d, (c,))}


def test_a_flagged_persons_grants_are_held_until_cleared(engine: Engine) -> None:
    pid = make_profile(engine, "Flagged Person").id
    other = make_profile(engine, "Someone Else").id
    with session_scope(engine, write=True) as s:
        s.add(GamingFlag(profile_id=pid, kind="ring", detail="ring of 3", related=[other]))
    with session_scope(engine, write=True) as s:
        talk = log.log_interaction(pid, InteractionIn(kind="talk", title="Keynote"), session=s, actor=SYSTEM).id
        log.log_interaction(other, InteractionIn(kind="talk", title="Keynote"), session=s, actor=SYSTEM)
        again = ledger.grant_for_interactions(s.connection(), [talk])
        assert (again.granted, again.held) == (0, 0)  # held once, not twice
    with session_scope(engine) as s:
        assert s.execute(select(PointEntry).where(PointEntry.profile_id == pid)).scalars().all() == []
        hold = s.execute(select(PointHold).where(PointHold.profile_id == pid)).scalar_one()
        assert (hold.amount, hold.flag, hold.status, hold.interaction_id) == (40, "ring", "pending", talk)
        assert ledger.balances([pid], conn=s.connection())[pid].held == 40
        assert len(s.execute(select(PointEntry).where(PointEntry.profile_id == other)).scalars().all()) == 1
        flag_id = s.execute(select(GamingFlag.id)).scalar_one()
    with session_scope(engine, write=True) as s:
        gaming.decide_flag(flag_id, FlagStatus.confirmed, session=s, actor=REVIEWER)
        log.log_interaction(pid, InteractionIn(kind="post", title="Still held"), session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        assert len(s.execute(select(PointHold).where(PointHold.profile_id == pid)).scalars().all()) == 2
        assert gaming.open_flags([pid, other], conn=s.connection()) == {pid: "ring: ring of 3"}  # confirmed counts
        gaming.decide_flag(flag_id, FlagStatus.cleared, session=s, actor=REVIEWER)
        assert gaming.open_flags([pid], conn=s.connection()) == {}
        log.log_interaction(pid, InteractionIn(kind="post", title="Flows again"), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        assert [e.amount for e in s.execute(select(PointEntry).where(PointEntry.profile_id == pid)).scalars()] == [5]
        decisions = s.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.gaming_flag)
                              .order_by(AuditEvent.id)).scalars().all()
        assert [(e.before["status"], e.after["status"]) for e in decisions] == [("open", "confirmed"),
                                                                                 ("confirmed", "cleared")]


def _held(engine: Engine) -> tuple[int, list[int]]:
    pid = make_profile(engine, "Held Person").id
    with session_scope(engine, write=True) as s:
        s.add(GamingFlag(profile_id=pid, kind="duplicate", detail="same e-mail"))
    with session_scope(engine, write=True) as s:
        for kind in ("talk", "post", "review"):
            log.log_interaction(pid, InteractionIn(kind=kind, title=kind), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        return pid, [h.id for h in s.execute(select(PointHold).order_by(PointHold.id)).scalars()]


def test_granting_a_hold_writes_the_entry_and_rejecting_writes_nothing(engine: Engine) -> None:
    pid, (talk, post, review) = _held(engine)
    with session_scope(engine, write=True) as s:
        granted = gaming.grant_holds([talk, review, talk], session=s, actor=REVIEWER)
        assert [h.id for h in granted] == [talk, review]
        assert gaming.reject_holds([post, talk], session=s, actor=REVIEWER)[0].id == post  # talk: decided already
    with session_scope(engine, write=True) as s:
        assert gaming.grant_holds([talk, post], session=s, actor=REVIEWER) == []  # a double click: nothing
        entries = s.execute(select(PointEntry).where(PointEntry.profile_id == pid).order_by(PointEntry.id)).scalars().all()
        assert [(e.kind, e.amount, e.rule) for e in entries] == [(EntryKind.earned, 40, "talk"), (EntryKind.earned, 15, "review")]
        holds = {h.id: h for h in s.execute(select(PointHold)).scalars()}
        assert holds[talk].status == HoldStatus.granted and holds[talk].entry_id == entries[0].id
        assert holds[talk].decided_at is not None
        assert entries[0].interaction_id == holds[talk].interaction_id
        assert entries[0].rule_set_id == holds[talk].rule_set_id and entries[0].generation == holds[talk].generation
        assert holds[post].status == HoldStatus.rejected and holds[post].entry_id is None
        balance = ledger.balances([pid], conn=s.connection())[pid]
        assert (balance.current, balance.lifetime, balance.held) == (55, 55, 0)
        audits = s.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.points_hold)
                           .order_by(AuditEvent.id)).scalars().all()
        assert [(e.object_id, e.after["hold"], e.after["status"]) for e in audits] == [
            (pid, talk, "granted"), (pid, review, "granted"), (pid, post, "rejected")]
        assert audits[0].after["entry"] == entries[0].id


def test_one_hold_decided_twice_is_a_conflict(engine: Engine) -> None:
    _, (talk, _, _) = _held(engine)
    with session_scope(engine, write=True) as s:
        assert gaming.decide_hold(talk, HoldStatus.rejected, session=s, actor=REVIEWER).status == "rejected"
    with session_scope(engine, write=True) as s:
        try:
            gaming.decide_hold(talk, HoldStatus.granted, session=s, actor=REVIEWER)
        except Conflict as exc:
            assert "reviewed already" in exc.message
        else:
            raise AssertionError("a decided hold was decided again")
        assert s.execute(select(PointEntry)).scalars().all() == []


def test_listings_name_people_and_interactions(engine: Engine) -> None:
    pid, holds = _held(engine)
    with session_scope(engine) as s:
        listing = gaming.holds(session=s, per_page=2)
        assert (listing.total, listing.pages, len(listing.rows)) == (3, 2, 2)
        row = listing.rows[0]
        assert (row.name, row.interaction_kind, row.interaction_title, row.hold.id) == ("Held Person", "talk", "talk", holds[0])
        assert len(row.flag_ids) == 1
        flags = gaming.flags(session=s)
        assert flags.total == 1 and flags.rows[0].held == 40 + 5 + 15 and flags.rows[0].name == "Held Person"
        assert gaming.holds(session=s, status="granted").total == 0
