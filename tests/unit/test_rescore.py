"""Re-scoring past interactions under new point rules: the preview is the effect, applying is audited,
and applying twice changes nothing the second time (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition import ledger, rescore
from crm.recognition.models import GamingFlag, HoldStatus, PointEntry, PointHold, PointRuleIn, PointRuleSetIn
from tests.factories import make_profile


def _log(engine, pid, kind, days_ago, channel=""):
    with session_scope(engine, write=True) as s:
        return log.log_interaction(pid, InteractionIn(kind=kind, channel=channel,
                                                      occurred_at=utcnow() - timedelta(days=days_ago, hours=1)),
                                   session=s, actor=SYSTEM).id


def _rules(engine, days_ago, *rules):
    with session_scope(engine, write=True) as s:
        ledger.ensure_rules(s.connection())
        ledger.create_rule_set(PointRuleSetIn(starts_at=utcnow() - timedelta(days=days_ago), rules=list(rules)),
                               session=s, actor=SYSTEM)


def _balances(engine, *ids):
    with session_scope(engine) as s:
        found = ledger.balances(list(ids), conn=s.connection())
        return {pid: (b.current, b.held) for pid, b in found.items()}


def _preview(engine, days_ago):
    with session_scope(engine) as s:
        return rescore.preview(rescore.RescoreIn(since=(utcnow() - timedelta(days=days_ago)).date()), session=s)


def _apply(engine, days_ago):
    with session_scope(engine, write=True) as s:
        return rescore.apply(rescore.RescoreIn(since=(utcnow() - timedelta(days=days_ago)).date()), session=s,
                             actor=SYSTEM)


def _entry_count(engine):
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(PointEntry)).scalar_one()


def test_preview_equals_the_effect_and_applying_twice_changes_nothing(engine):
    ana, ben = make_profile(engine, "Ana").id, make_profile(engine, "Ben").id
    _log(engine, ana, "post", 10)  # before the new rules start: keeps 5
    _log(engine, ana, "post", 1)  # 5 now, 9 under the new rules
    _log(engine, ben, "talk", 1)  # 40 now; the new rules have no talk rule
    _log(engine, ben, "review", 1, channel="g2")  # 15 now; 30 under the new channel rule
    _rules(engine, 3, PointRuleIn(kind="post", points=9), PointRuleIn(kind="review", channel="g2", points=30))
    before = _balances(engine, ana, ben)
    assert before == {ana: (10, 0), ben: (55, 0)}

    preview = _preview(engine, 20)
    assert preview.scanned == 4 and len(preview.changes) == 3
    per_person = {p.profile_id: p.delta for p in preview.people}
    assert per_person == {ana: 4, ben: -40 + 15}
    assert (preview.added, preview.removed, preview.delta) == (19, 40, -21)
    assert _balances(engine, ana, ben) == before  # a preview writes nothing

    applied = _apply(engine, 20)
    assert {p.profile_id: p.delta for p in applied.people} == per_person
    after = _balances(engine, ana, ben)
    assert {pid: after[pid][0] - before[pid][0] for pid in (ana, ben)} == per_person

    count = _entry_count(engine)
    assert _preview(engine, 20).changes == []
    assert _apply(engine, 20).changes == [] and _entry_count(engine) == count
    assert _balances(engine, ana, ben) == after
    with session_scope(engine) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "points.rescore")).scalars().all()
        assert len(events) == 2 and events[0].after["delta"] == -21 and events[0].after["interactions"] == 3


def test_only_interactions_since_the_date_are_touched(engine):
    ana = make_profile(engine, "Ana").id
    _log(engine, ana, "post", 10)
    _log(engine, ana, "post", 1)
    _rules(engine, 30, PointRuleIn(kind="post", points=9))  # both under the new rules
    assert {p.profile_id: p.delta for p in _preview(engine, 5).people} == {ana: 4}
    assert {p.profile_id: p.delta for p in _preview(engine, 20).people} == {ana: 8}
    _apply(engine, 5)
    assert _balances(engine, ana)[ana] == (14, 0)


def test_daily_caps_are_applied_and_stay_applied(engine):
    ana = make_profile(engine, "Ana").id
    for _ in range(3):
        _log(engine, ana, "post", 1)  # 3 × 5 under the defaults
    _rules(engine, 5, PointRuleIn(kind="post", points=5, daily_cap=8))  # 5 + 3 + 0
    assert _preview(engine, 5).delta == -7
    _apply(engine, 5)
    assert _balances(engine, ana)[ana] == (8, 0)
    assert _preview(engine, 5).changes == []


def test_a_flagged_person_is_held_and_a_rejected_hold_stays_rejected(engine):
    ana = make_profile(engine, "Ana").id
    iid = _log(engine, ana, "post", 1)
    _rules(engine, 5, PointRuleIn(kind="post", points=7))
    with session_scope(engine, write=True) as s:
        s.add(GamingFlag(profile_id=ana, kind="ring", detail="farms with Ben"))
    preview = _preview(engine, 5)
    assert [(c.before, c.after) for c in preview.changes] == [
        (("entry", 1, "post", 5), ("hold", 2, "post", 7))]
    assert preview.people[0].delta == -5 and preview.people[0].held_delta == 7
    _apply(engine, 5)
    assert _balances(engine, ana)[ana] == (0, 7)
    assert _preview(engine, 5).changes == []
    with session_scope(engine, write=True) as s:  # a reviewer rejects the hold
        hold = s.execute(select(PointHold).where(PointHold.interaction_id == iid,
                                                 PointHold.status == HoldStatus.pending.value)).scalar_one()
        hold.status = HoldStatus.rejected.value
    assert _preview(engine, 5).changes == []  # not re-opened


def test_nothing_to_rescore(engine):
    ana = make_profile(engine, "Ana").id
    _log(engine, ana, "post", 1)
    result = _preview(engine, 5)
    assert result.scanned == 1 and result.changes == [] and result.people == []
    assert _apply(engine, 5).delta == 0
