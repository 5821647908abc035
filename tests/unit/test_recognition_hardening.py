"""What an attack and a new user found in recognition, kept fixed: balances taken below zero by a
correction, re-scoring undoing a manager's correction, a new account ramping up into unlimited points,
an empty rule set switching points off, a request counting as a thank-you, a card link coming back
with renewed consent, a badge nobody could earn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.accounts.models import User
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.errors import Conflict, NotFound
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.profiles import service as profiles
from crm.profiles.models import ProfilePatch
from crm.recognition import badges, ledger, public, queue, rescore, rewards
from crm.recognition import rules as pure
from crm.recognition.models import AwardIn, PointHold, PointRuleSetIn, Recognition, RewardCategory
from tests.factories import make_profile

MANAGER = User(email="m@example.org", name="M", role="manager", password_hash="-")


def _balance(engine, pid):
    with session_scope(engine) as s:
        return ledger.balances([pid], conn=s.connection())[pid].current


def test_a_correction_may_not_take_spent_points_back_below_zero(engine):
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        entry = ledger.award(AwardIn(profile_ids=[pid], points=100, reason="big"), session=s, actor=SYSTEM)[0].id
        reward = rewards.create_reward(rewards.RewardIn(name="Hoodie", category=RewardCategory.swag, cost=80),
                                       session=s, actor=SYSTEM).id
        rewards.redeem(reward, pid, session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="would leave -80"):
        ledger.reverse(entry, "mistake", session=s, actor=SYSTEM)
    assert _balance(engine, pid) == 20


def test_a_redemption_paid_with_points_taken_back_since_cannot_be_approved(engine):
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        talk = log.log_interaction(pid, InteractionIn(kind="talk"), session=s, actor=SYSTEM).id  # 40 points
        reward = rewards.create_reward(rewards.RewardIn(name="Mug", category=RewardCategory.swag, cost=40),
                                       session=s, actor=SYSTEM).id
        redemption = rewards.redeem(reward, pid, session=s, actor=SYSTEM).id
        log.delete_interaction(talk, session=s, actor=SYSTEM, user=MANAGER)  # its points are reversed
    assert _balance(engine, pid) == -40  # a debt, shown as it is
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="below zero"):
        rewards.approve(redemption, session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        rewards.reject(redemption, session=s, actor=SYSTEM)
    assert _balance(engine, pid) == 0


def test_re_scoring_leaves_a_correction_by_hand_alone(engine):
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        log.log_interaction(pid, InteractionIn(kind="talk", occurred_at=utcnow() - timedelta(days=2)), session=s,
                            actor=SYSTEM)
        entry = ledger.history(pid, session=s)[0][0].id
        ledger.reverse(entry, "Not a real talk", session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        preview = rescore.preview(rescore.RescoreIn(since=(utcnow() - timedelta(days=7)).date()), session=s)
        assert preview.changes == []
        assert ledger.grant_for_interactions(s.connection(), [e.interaction_id for e in ledger.history(
            pid, session=s)[0] if e.interaction_id]).granted == 0
    assert _balance(engine, pid) == 0


def test_a_new_account_cannot_ramp_up_into_unlimited_points():
    rules = [pure.RuleSetView(id=1, version=1, starts_at=utcnow() - timedelta(days=999), rules={"post": (5, None)})]
    day0 = utcnow().replace(hour=12) - timedelta(days=3)
    history = pure.History()
    held = []
    for day, posts in enumerate((29, 116, 464)):
        items = [pure.Item(interaction_id=day * 1000 + i, profile_id=1, kind="post", channel="",
                           occurred_at=day0 + timedelta(days=day, seconds=i)) for i in range(posts)]
        held.append(sum(g.amount for g in pure.grants(items, rules, history) if g.held))
    assert held[0] == 0 and held[1] > 0 and held[2] > 0  # beyond the floor each day until there is history
    steady = {(day0 - timedelta(days=d)).date(): 300 for d in range(1, 40)}
    assert pure.burst_threshold(steady, day0.date()) == pure.BURST_CEILING  # and never above the ceiling


def test_an_empty_rule_set_is_refused():
    with pytest.raises(ValueError, match="at least one kind"):
        PointRuleSetIn(rules=[])


def test_asking_for_a_reward_is_no_thank_you_until_it_is_fulfilled(engine):
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[pid], points=100, reason="x"), session=s, actor=SYSTEM)
        s.execute(Recognition.__table__.delete())  # the award counted; start from nobody thanked
        reward = rewards.create_reward(rewards.RewardIn(name="Cap", category=RewardCategory.swag, cost=10),
                                       session=s, actor=SYSTEM).id
        first = rewards.redeem(reward, pid, session=s, actor=SYSTEM).id
        rewards.reject(first, session=s, actor=SYSTEM)
        second = rewards.redeem(reward, pid, session=s, actor=SYSTEM).id
        assert s.execute(select(Recognition)).first() is None
        rewards.approve(second, session=s, actor=SYSTEM)
        rewards.fulfil(second, session=s, actor=SYSTEM)
        assert [r.kind for r in s.execute(select(Recognition)).scalars()] == ["reward"]


def test_withdrawn_consent_ends_a_public_card_for_good(engine):
    pid = make_profile(engine, may_feature=True).id
    with session_scope(engine, write=True) as s:
        link = public.create_link(public.PublicLinkIn(kind="card", profile_id=pid), session=s, actor=SYSTEM)
        token = link.token
    with session_scope(engine, write=True) as s:
        profiles.update_profile(pid, ProfilePatch(may_feature=False), session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        profiles.update_profile(pid, ProfilePatch(may_feature=True), session=s, actor=SYSTEM)
    with session_scope(engine) as s, pytest.raises(NotFound):
        public.public_card(token, session=s)


def test_a_badge_nobody_could_earn_is_refused():
    with pytest.raises(ValueError, match="nobody could earn it"):
        badges.BadgeCriteria(kind="talk", count=50, window_days=1)


def test_queue_holds_are_not_touched_by_this_file(engine):
    """(Guard: the hardening above does not hold anyone's ordinary points.)"""
    pid = make_profile(engine).id
    with session_scope(engine, write=True) as s:
        for _ in range(3):
            log.log_interaction(pid, InteractionIn(kind="post"), session=s, actor=SYSTEM)
        assert s.execute(select(PointHold)).first() is None
        assert queue.RecogniseIn(profile_ids=[pid], points=5).points == 5
