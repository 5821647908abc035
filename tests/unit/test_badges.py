"""Badges on a real database: criteria evaluated over constructed interactions (kind, count, window,
sentiment, topic, campaign), criteria that can never be met, awards that happen once, awards by hand
that skip holders, revoking, and progress."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Table, func, select
from sqlmodel import col

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.campaigns.models import Campaign
from crm.db import session_scope, utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.interactions.models import Interaction
from crm.recognition import badges
from crm.recognition.badges import BadgeCriteria, BadgeIn, BadgePatch
from crm.recognition.models import BadgeAward, Recognition
from tests.factories import make_profile

X: Table = Interaction.__table__  # type: ignore[attr-defined]


def _add(engine, pid: int, kind: str = "forum_answer", *, days: float = 1, n: int = 1, **fields: Any) -> None:
    """Interactions written straight to the table: evaluation is tested on its own, whatever the
    interaction log calls after a write."""
    now = utcnow()
    rows = [{"profile_id": pid, "kind": kind, "occurred_at": now - timedelta(days=days), "channel": "", "url": "",
             "title": "", "body": "", "reach": 0, "engagements": 0, "source": "manual", "created_at": now, **fields}
            for _ in range(n)]
    with session_scope(engine, write=True) as s:
        s.connection().execute(X.insert(), rows)


def _badge(engine, name: str = "Helper", manual: bool = False, **criteria: Any) -> int:
    data = BadgeIn(name=name, manual=manual, criteria=None if manual else BadgeCriteria(**{"count": 3, **criteria}))
    with session_scope(engine, write=True) as s:
        return badges.create_badge(data, session=s, actor=SYSTEM).badge.id or 0


def _evaluate(engine, *pids: int) -> int:
    with session_scope(engine, write=True) as s:
        return badges.evaluate(s.connection(), list(pids))


def _holders(engine, badge_id: int) -> set[int]:
    with session_scope(engine) as s:
        return {a.profile_id for a in s.execute(select(BadgeAward).where(col(BadgeAward.badge_id) == badge_id)).scalars()}


def test_count_kind_and_window(engine):
    ana, bea, cai, dan = (make_profile(engine, n).id for n in ("Ana", "Bea", "Cai", "Dan"))
    badge = _badge(engine, kind="forum_answer", count=3, window_days=30)
    _add(engine, ana, n=3, days=5)  # three in the window: earns
    _add(engine, bea, n=2, days=5)  # two: not yet
    _add(engine, bea, n=2, days=45)  # and two outside the window
    _add(engine, cai, "post", n=5, days=1)  # another kind
    _add(engine, dan, n=2, days=29)
    _add(engine, dan, n=1, days=31)
    assert _evaluate(engine, ana, bea, cai, dan) == 1
    assert _holders(engine, badge) == {ana}
    _add(engine, bea, n=1, days=0)
    assert _evaluate(engine, bea) == 1
    assert _holders(engine, badge) == {ana, bea}


def test_any_contribution_and_all_time(engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    badge = _badge(engine, count=3)  # no kind, no window
    _add(engine, ana, "post", days=900)
    _add(engine, ana, "review", days=400)
    _add(engine, ana, "talk", days=1)
    _add(engine, bea, "note", n=2)  # notes and outreach are ours, not contributions
    _add(engine, bea, "outreach_email")
    _add(engine, bea, "complaint")
    assert _evaluate(engine, ana, bea) == 1
    assert _holders(engine, badge) == {ana}


def test_minimum_sentiment_leaves_out_lower_and_unknown(engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    badge = _badge(engine, kind="review", count=2, min_sentiment=0.5)
    _add(engine, ana, "review", sentiment=0.5)
    _add(engine, ana, "review", sentiment=0.9)
    _add(engine, bea, "review", sentiment=0.4)
    _add(engine, bea, "review", sentiment=None)
    _add(engine, bea, "review", sentiment=1.0)
    _evaluate(engine, ana, bea)
    assert _holders(engine, badge) == {ana}


def test_topic_is_the_persons_topic(engine):
    ana = make_profile(engine, "Ana", topics=["Rust", "observability"]).id
    bea = make_profile(engine, "Bea", topics=["rustacean"]).id  # a longer topic does not match
    cai = make_profile(engine, "Cai").id
    badge = _badge(engine, count=2, topic="  RUST ")
    for pid in (ana, bea, cai):
        _add(engine, pid, "post", n=2, title="rust rust rust")
    _evaluate(engine, ana, bea, cai)
    assert _holders(engine, badge) == {ana}


def test_campaign_counts_only_linked_interactions(engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    with session_scope(engine, write=True) as s:
        first, other = Campaign(name="Launch"), Campaign(name="Other")
        s.add_all([first, other])
        s.flush()
        first_id, other_id = first.id, other.id
    badge = _badge(engine, count=2, campaign_id=first_id)
    _add(engine, ana, "video", n=2, campaign_id=first_id)
    _add(engine, bea, "video", campaign_id=first_id)
    _add(engine, bea, "video", campaign_id=other_id)
    _add(engine, bea, "video")
    _evaluate(engine, ana, bea)
    assert _holders(engine, badge) == {ana}


def test_creating_a_badge_evaluates_everyone_and_a_repeat_awards_nothing(engine):
    pids = [make_profile(engine, f"P{i}").id for i in range(4)]
    for pid in pids[:3]:
        _add(engine, pid, "bug_report", n=2)
    data = BadgeIn(name="Bug hunter", symbol="🐞", criteria=BadgeCriteria(kind="bug_report", count=2))
    with session_scope(engine, write=True) as s:
        saved = badges.create_badge(data, session=s, actor=SYSTEM)
    assert saved.awarded == 3
    assert _evaluate(engine, *pids) == 0  # once per person
    with session_scope(engine, write=True) as s:
        assert badges.evaluate_everyone(saved.badge.id or 0, session=s) == 0
        awards = s.execute(select(BadgeAward)).scalars().all()
        assert len(awards) == 3 and all(a.automatic and a.awarded_by_id is None for a in awards)
        # automatic awards are not recognition by us: the "not yet thanked" queue keeps these people
        assert s.execute(select(func.count()).select_from(Recognition)).scalar_one() == 0


def test_inactive_and_manual_badges_are_not_evaluated(engine):
    pid = make_profile(engine).id
    _add(engine, pid, "post", n=5)
    manual = _badge(engine, "Hand", manual=True)
    data = BadgeIn(name="Off", active=False, criteria=BadgeCriteria(count=1))
    with session_scope(engine, write=True) as s:
        off = badges.create_badge(data, session=s, actor=SYSTEM).badge.id or 0
    assert _evaluate(engine, pid) == 0
    assert _holders(engine, manual) == set() and _holders(engine, off) == set()
    with session_scope(engine, write=True) as s:  # switched on: everyone is checked again
        assert badges.update_badge(off, BadgePatch(active=True), session=s, actor=SYSTEM).awarded == 1


def test_criteria_that_can_never_be_met(engine):
    with pytest.raises(ValidationError) as zero:
        BadgeCriteria(count=0)
    assert "at least 1" in str(zero.value)
    with pytest.raises(ValidationError):
        BadgeCriteria(count=10_001)
    with pytest.raises(ValidationError) as sentiment:
        BadgeCriteria(count=1, min_sentiment=1.5)
    assert "nothing could reach more" in str(sentiment.value)
    with pytest.raises(ValidationError) as ours:
        BadgeCriteria(count=1, kind="note")
    assert "not what a person contributes" in str(ours.value)
    with pytest.raises(ValidationError):
        BadgeCriteria(count=1, window_days=0)
    with session_scope(engine, write=True) as s:
        with pytest.raises(InvalidInput) as complaint:
            badges.create_badge(BadgeIn(name="Grumbler", criteria=BadgeCriteria(kind="complaint", count=1)),
                                session=s, actor=SYSTEM)
        assert set(complaint.value.field_errors) == {"criteria.kind"}
        with pytest.raises(InvalidInput) as campaign:
            badges.create_badge(BadgeIn(name="Ghost", criteria=BadgeCriteria(count=1, campaign_id=999)),
                                session=s, actor=SYSTEM)
        assert "no campaign with id 999" in campaign.value.field_errors["criteria.campaign_id"]
        with pytest.raises(InvalidInput):  # automatic without criteria
            badges.create_badge(BadgeIn(name="Empty"), session=s, actor=SYSTEM)
        with pytest.raises(InvalidInput):  # manual with criteria
            badges.create_badge(BadgeIn(name="Both", manual=True, criteria=BadgeCriteria(count=1)), session=s, actor=SYSTEM)
        # event attendance is no contribution, but it earns points: a badge may count it
        badges.create_badge(BadgeIn(name="Regular", criteria=BadgeCriteria(kind="event_attendance", count=3)),
                            session=s, actor=SYSTEM)


def test_symbol_is_one_character_or_emoji():
    for good in ("★", "🏆", "👍🏽", "👩‍💻", "🇪🇸", "1️⃣", "é"):
        assert BadgeIn(name="x", manual=True, symbol=good).symbol == good
    for bad in ("ab", "🏆🏆", "★ ★", "🇪🇸🇫🇷"):
        with pytest.raises(ValidationError):
            BadgeIn(name="x", manual=True, symbol=bad)


def test_names_are_unique_with_a_clear_conflict(engine):
    _badge(engine, "Helper", manual=True)
    other = _badge(engine, "Other", manual=True)
    with session_scope(engine, write=True) as s:
        with pytest.raises(Conflict) as clash:
            badges.create_badge(BadgeIn(name="helper", manual=True), session=s, actor=SYSTEM)
        assert "already" in clash.value.message and "name" in clash.value.field_errors
        with pytest.raises(Conflict):
            badges.update_badge(other, BadgePatch(name="Helper"), session=s, actor=SYSTEM)


def test_editing_criteria_keeps_holders_and_awards_new_qualifiers(engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    _add(engine, ana, "post", n=3)
    _add(engine, bea, "post", n=1)
    badge = _badge(engine, count=3)
    assert _holders(engine, badge) == {ana}
    with session_scope(engine, write=True) as s:
        saved = badges.update_badge(badge, BadgePatch(criteria=BadgeCriteria(count=5)), session=s, actor=SYSTEM)
        assert saved.awarded == 0
    assert _holders(engine, badge) == {ana}  # not taken back
    with session_scope(engine, write=True) as s:
        saved = badges.update_badge(badge, BadgePatch(criteria=BadgeCriteria(count=1)), session=s, actor=SYSTEM)
        assert saved.awarded == 1
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "badge.update")).scalars().all()
        assert len(events) == 2 and events[0].before["criteria"]["count"] == 3
    assert _holders(engine, badge) == {ana, bea}
    with session_scope(engine, write=True) as s:  # made manual: its criteria go, holders stay
        saved = badges.update_badge(badge, BadgePatch(manual=True), session=s, actor=SYSTEM)
        assert saved.badge.manual and saved.badge.criteria == {}
    assert _holders(engine, badge) == {ana, bea}


def test_award_by_hand_skips_holders_and_is_recognition(engine):
    ana, bea, cai = (make_profile(engine, n).id for n in ("Ana", "Bea", "Cai"))
    badge = _badge(engine, "Thanks", manual=True)
    with session_scope(engine, write=True) as s:
        first = badges.award_badge(badge, [ana, bea, ana], session=s, actor=SYSTEM, reason="Great talk")
        assert [a.profile_id for a in first] == [ana, bea]
    with session_scope(engine, write=True) as s:
        again = badges.award_badge(badge, [bea, cai], session=s, actor=SYSTEM)
        assert [a.profile_id for a in again] == [cai]
        recognition = s.execute(select(Recognition).order_by(col(Recognition.id))).scalars().all()
        assert [(r.profile_id, r.kind, r.badge_id) for r in recognition] == [
            (ana, "badge", badge), (bea, "badge", badge), (cai, "badge", badge)]
        assert recognition[0].note == "Great talk"
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "badge.award")).scalars().all()
        assert sorted(e.object_id for e in events) == sorted([ana, bea, cai])
        assert all(e.object_type == "profile" for e in events)
        with pytest.raises(InvalidInput) as unknown:
            badges.award_badge(badge, [ana, 999_999], session=s, actor=SYSTEM)
        assert "999999" in unknown.value.field_errors["profile_ids"]
        with pytest.raises(NotFound):
            badges.award_badge(424242, [ana], session=s, actor=SYSTEM)
    assert _holders(engine, badge) == {ana, bea, cai}


def test_an_automatic_badge_can_be_given_by_hand_and_not_twice_automatically(engine):
    pid = make_profile(engine).id
    badge = _badge(engine, count=2)
    with session_scope(engine, write=True) as s:
        assert len(badges.award_badge(badge, [pid], session=s, actor=SYSTEM)) == 1
    _add(engine, pid, "post", n=2)
    assert _evaluate(engine, pid) == 0
    with session_scope(engine) as s:
        (award,) = s.execute(select(BadgeAward)).scalars().all()
        assert not award.automatic


def test_a_switched_off_badge_is_not_awarded_by_hand(engine):
    pid = make_profile(engine).id
    data = BadgeIn(name="Old", manual=True, active=False)
    with session_scope(engine, write=True) as s:
        badge = badges.create_badge(data, session=s, actor=SYSTEM).badge.id or 0
        with pytest.raises(InvalidInput, match="switched off"):
            badges.award_badge(badge, [pid], session=s, actor=SYSTEM)


def test_revoke_is_audited_and_then_not_held(engine):
    pid = make_profile(engine).id
    badge = _badge(engine, "Thanks", manual=True)
    with session_scope(engine, write=True) as s:
        badges.award_badge(badge, [pid], session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        badges.revoke_badge(badge, pid, session=s, actor=SYSTEM, reason="Wrong person")
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "badge.revoke")).scalar_one()
        assert (event.object_type, event.object_id, event.before["badge"]) == ("profile", pid, "Thanks")
        assert event.after == {"reason": "Wrong person"}
    assert _holders(engine, badge) == set()
    with session_scope(engine, write=True) as s, pytest.raises(NotFound):
        badges.revoke_badge(badge, pid, session=s, actor=SYSTEM)


def test_progress_counts_within_the_window_and_leaves_out_held_badges(engine):
    pid = make_profile(engine).id
    near = _badge(engine, "Near", kind="forum_answer", count=4, window_days=30)
    far = _badge(engine, "Far", count=10)
    held = _badge(engine, "Held", manual=True)
    done = _badge(engine, "Done", count=1, kind="forum_answer")
    _add(engine, pid, n=3, days=3)
    _add(engine, pid, n=2, days=60)  # outside Near's window, inside Far's all time
    assert _evaluate(engine, pid) == 1 and _holders(engine, done) == {pid}  # earned: no progress shown
    with session_scope(engine, write=True) as s:
        badges.award_badge(held, [pid], session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        rows = badges.progress(pid, session=s)
    assert [(p.badge.id, p.count, p.needed) for p in rows] == [(near, 3, 4), (far, 5, 10)]
    assert rows[0].missing == 1 and rows[0].ratio == pytest.approx(0.75)
    with session_scope(engine) as s:
        panel = badges.panel(pid, session=s)
    assert {e.badge.name for e in panel.earned} == {"Held", "Done"}
    assert [p.badge.id for p in panel.progress] == [near, far]


def test_describe_in_words(engine):
    words = badges.describe({"kind": "forum_answer", "count": 10, "window_days": 90, "min_sentiment": 0.5,
                             "topic": "rust", "campaign_id": 3}, {3: "Launch"})
    assert words == "10 × forum answer · in the last 90 days · sentiment at least 0.5 · people with the topic “rust” " \
                    "· in the campaign Launch"
    assert badges.describe({"count": 1}) == "1 × contribution · all time"
    assert badges.describe({}) == "Awarded by hand"
