"""The points ledger on a real database: grants once per interaction, corrections as reversals,
balances derived from the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.accounts.models import User
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.errors import Conflict
from crm.interactions import log
from crm.interactions.models import InteractionIn, InteractionPatch
from crm.recognition import ledger
from crm.recognition.models import AwardIn, EntryKind, PointEntry, PointRuleIn, PointRuleSetIn, Recognition
from tests.factories import make_profile

MANAGER = User(email="m@example.org", name="M", role="manager", password_hash="-")


def _entries(engine, pid):
    with session_scope(engine) as s:
        return [(e.kind, e.amount) for e in s.execute(select(PointEntry).where(PointEntry.profile_id == pid)
                                                      .order_by(PointEntry.id)).scalars()]


def _balance(engine, pid):
    with session_scope(engine) as s:
        return ledger.balances([pid], conn=s.connection())[pid]


def test_a_logged_contribution_earns_once_and_edits_and_deletes_reverse(engine):
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        talk = log.log_interaction(pid, InteractionIn(kind="talk", title="Keynote"), session=s, actor=SYSTEM).id
        log.log_interaction(pid, InteractionIn(kind="note", title="Met at the booth"), session=s, actor=SYSTEM)
    assert _entries(engine, pid) == [("earned", 40)]
    with session_scope(engine, write=True) as s:  # granting again (a re-import, a retry) adds nothing
        assert ledger.grant_for_interactions(s.connection(), [talk]).granted == 0
        log.update_interaction(talk, InteractionPatch(title="Keynote, day 2"), session=s, actor=SYSTEM, user=MANAGER)
    assert _entries(engine, pid) == [("earned", 40)]  # the title does not change the points
    with session_scope(engine, write=True) as s:
        log.update_interaction(talk, InteractionPatch(kind="post"), session=s, actor=SYSTEM, user=MANAGER)
    assert _entries(engine, pid) == [("earned", 40), ("reversal", -40), ("earned", 5)]
    with session_scope(engine, write=True) as s:
        log.update_interaction(talk, InteractionPatch(kind="talk"), session=s, actor=SYSTEM, user=MANAGER)
    assert _entries(engine, pid)[-2:] == [("reversal", -5), ("earned", 40)]  # back again: earns again
    with session_scope(engine, write=True) as s:
        log.delete_interaction(talk, session=s, actor=SYSTEM, user=MANAGER)
    assert _entries(engine, pid)[-1] == ("reversal", -40)
    balance = _balance(engine, pid)
    assert (balance.current, balance.lifetime) == (0, 0)


def test_new_rules_apply_from_their_start(engine):
    pid = make_profile(engine).id
    now = utcnow()
    with session_scope(engine, write=True) as s:
        ledger.ensure_rules(s.connection())
        ledger.create_rule_set(PointRuleSetIn(starts_at=now - timedelta(days=1), rules=[
            PointRuleIn(kind="post", points=9), PointRuleIn(kind="post", channel="X", points=1)]), session=s, actor=SYSTEM)
        for days, channel in ((3, ""), (0, ""), (0, "x")):
            log.log_interaction(pid, InteractionIn(kind="post", channel=channel, occurred_at=now - timedelta(days=days)),
                                session=s, actor=SYSTEM)
        log.log_interaction(pid, InteractionIn(kind="talk"), session=s, actor=SYSTEM)  # v2 has no talk rule
    assert [amount for _, amount in _entries(engine, pid)] == [5, 9, 1]


def test_points_by_hand_are_recognition_and_a_reversal_happens_once(engine):
    a, b = make_profile(engine, "Ana").id, make_profile(engine, "Bruno").id
    with session_scope(engine, write=True) as s:
        entries = ledger.award(AwardIn(profile_ids=[a, b, a], points=25, reason="Great talk"), session=s, actor=SYSTEM)
        assert len(entries) == 2  # a person listed twice is awarded once
        assert len(s.execute(select(Recognition)).scalars().all()) == 2
        first = entries[0].id
    with session_scope(engine, write=True) as s:
        ledger.reverse(first, "Wrong person", session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):
        ledger.reverse(first, "Again", session=s, actor=SYSTEM)
    assert _entries(engine, a) == [(EntryKind.awarded, 25), (EntryKind.reversal, -25)]
    assert _balance(engine, b).lifetime == 25


def test_rule_sets_refuse_two_rules_for_the_same_kind_and_channel():
    with pytest.raises(ValueError, match="appear twice"):
        PointRuleSetIn(rules=[PointRuleIn(kind="post", points=1), PointRuleIn(kind="post", points=2)])
    with pytest.raises(ValueError):
        PointRuleIn(kind="post", points=0)
    with pytest.raises(ValueError):
        PointRuleIn(kind="post", points=10**6)


def test_reversed_points_do_not_use_up_a_daily_cap(engine):
    """An edit reverses the old grant: what was reversed no longer counts against the day's cap."""
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        ledger.ensure_rules(s.connection())
        ledger.create_rule_set(PointRuleSetIn(starts_at=utcnow() - timedelta(days=30), rules=[
            PointRuleIn(kind="post", points=5, daily_cap=5), PointRuleIn(kind="talk", points=40)]), session=s, actor=SYSTEM)
        post = log.log_interaction(pid, InteractionIn(kind="post"), session=s, actor=SYSTEM).id
        log.update_interaction(post, InteractionPatch(kind="talk"), session=s, actor=SYSTEM, user=MANAGER)
        log.update_interaction(post, InteractionPatch(kind="post"), session=s, actor=SYSTEM, user=MANAGER)
    assert _entries(engine, pid) == [("earned", 5), ("reversal", -5), ("earned", 40), ("reversal", -40), ("earned", 5)]


def test_editing_a_held_interaction_judges_it_afresh(engine):
    from crm.recognition.models import GamingFlag, HoldStatus, PointHold

    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        s.add(GamingFlag(profile_id=pid, kind="ring", detail="test"))
        s.flush()
        post = log.log_interaction(pid, InteractionIn(kind="post"), session=s, actor=SYSTEM).id
        log.update_interaction(post, InteractionPatch(kind="talk"), session=s, actor=SYSTEM, user=MANAGER)
    with session_scope(engine) as s:
        holds = [(h.rule, h.amount, h.status) for h in s.execute(select(PointHold).order_by(PointHold.id)).scalars()]
    assert holds == [("post", 5, HoldStatus.void), ("talk", 40, HoldStatus.pending)]  # held again, as what it is now
    assert _entries(engine, pid) == []
