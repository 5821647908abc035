"""Rewards and redemptions on a real database: stock and balance rules, who needs approval, refunds
on rejection, fulfilment, and what each step writes (ledger, recognition, audit)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.errors import Conflict, InvalidInput, NotFound
from crm.recognition import ledger, rewards
from crm.recognition.models import AwardIn, GamingFlag, PointEntry, Recognition, Redemption, Reward
from crm.recognition.rewards import RewardIn, RewardPatch
from tests.factories import make_profile


def _reward(engine, cost=100, stock: int | None = 5, **fields):
    with session_scope(engine, write=True) as s:
        return rewards.create_reward(RewardIn(name=fields.pop("name", "Hoodie"), category=fields.pop("category", "swag"),
                                              cost=cost, stock=stock, **fields), session=s, actor=SYSTEM)


def _person(engine, name="Ana", points=0):
    pid = make_profile(engine, name).id
    if points:
        with session_scope(engine, write=True) as s:
            ledger.award(AwardIn(profile_ids=[pid], points=points, reason="Thanks"), session=s, actor=SYSTEM)
    return pid


def _redeem(engine, reward_id, pid, shipping=""):
    with session_scope(engine, write=True) as s:
        return rewards.redeem(reward_id, pid, session=s, actor=SYSTEM, shipping=shipping)


def _balance(engine, pid):
    with session_scope(engine) as s:
        return ledger.balances([pid], conn=s.connection())[pid]


def _stock(engine, reward_id):
    with session_scope(engine) as s:
        return s.get(Reward, reward_id).stock


def _approve_first(engine, pid, reward_id):
    """A first redemption, approved, so the next ones need no approval."""
    with session_scope(engine, write=True) as s:
        first = rewards.redeem(reward_id, pid, session=s, actor=SYSTEM)
        rewards.approve(first.id, session=s, actor=SYSTEM)
    return first


def test_negative_stock_and_absurd_costs_are_refused_with_clear_messages():
    with pytest.raises(ValidationError, match="Stock cannot be negative"):
        RewardIn(name="Mug", category="swag", cost=10, stock=-1)
    for cost in (0, -5, 1_000_001):
        with pytest.raises(ValidationError):
            RewardIn(name="Mug", category="swag", cost=cost)
    with pytest.raises(ValidationError):
        RewardIn(name="Mug", category="lottery", cost=10)
    assert RewardIn(name="Mug", category="swag", cost=10, stock="").stock is None  # an empty box: unlimited
    assert RewardIn(name="Mug", category="shout_out", cost=1_000_000, stock=0).stock == 0


def test_a_first_redemption_spends_takes_stock_and_waits_for_approval(engine):
    reward = _reward(engine, cost=100, stock=2)
    pid = _person(engine, points=250)
    redemption = _redeem(engine, reward.id, pid, shipping="Calle Mayor 1, Madrid")
    assert (redemption.status, redemption.needs_approval) == ("requested", True)
    assert redemption.why_approval == "First redemption."
    assert (redemption.cost, redemption.shipping) == (100, "Calle Mayor 1, Madrid")
    assert _stock(engine, reward.id) == 1
    balance = _balance(engine, pid)
    assert (balance.current, balance.lifetime) == (150, 250)  # spending does not lower lifetime points
    with session_scope(engine) as s:
        spent = s.execute(select(PointEntry).where(PointEntry.kind == "spent")).scalars().one()
        assert (spent.amount, spent.redemption_id, spent.profile_id) == (-100, redemption.id, pid)
        kinds = [r.kind for r in s.execute(select(Recognition).where(Recognition.profile_id == pid)).scalars()]
        assert kinds.count("reward") == 0  # asking is no thank-you: recognised when fulfilled
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "redemption.request")).scalars().one()
        assert (event.object_type, event.object_id, event.after["redemption"]) == ("profile", pid, redemption.id)


def test_after_one_approved_redemption_the_next_is_approved_at_once(engine):
    reward = _reward(engine, cost=10, stock=None)
    pid = _person(engine, points=100)
    pending = _redeem(engine, reward.id, pid)
    assert _redeem(engine, reward.id, pid).status == "requested"  # nothing approved yet: still needs approval
    with session_scope(engine, write=True) as s:
        rewards.approve(pending.id, "ok", session=s, actor=SYSTEM)
    third = _redeem(engine, reward.id, pid)
    assert (third.status, third.needs_approval, third.why_approval) == ("approved", False, "")
    assert third.decided_at is not None
    assert _stock(engine, reward.id) is None  # unlimited stays unlimited
    assert _balance(engine, pid).current == 70


def test_a_flagged_person_always_needs_approval(engine):
    reward = _reward(engine, cost=10, stock=None)
    pid = _person(engine, points=100)
    _approve_first(engine, pid, reward.id)
    with session_scope(engine, write=True) as s:
        s.add(GamingFlag(profile_id=pid, kind="ring", detail="three people liking each other"))
    redemption = _redeem(engine, reward.id, pid)
    assert redemption.status == "requested" and redemption.needs_approval
    assert "ring" in redemption.why_approval
    with session_scope(engine, write=True) as s:
        flag = s.execute(select(GamingFlag)).scalars().one()
        flag.status = "cleared"
        s.add(flag)
    assert _redeem(engine, reward.id, pid).status == "approved"  # a cleared flag no longer counts


def test_too_few_points_is_refused_and_nothing_changes(engine):
    reward = _reward(engine, cost=100, stock=1)
    pid = _person(engine, "Bruno", points=99)
    with pytest.raises(InvalidInput, match="Bruno has 99 points") as refused:
        _redeem(engine, reward.id, pid)
    assert refused.value.status_code == 422 and "profile_id" in refused.value.field_errors
    assert _stock(engine, reward.id) == 1
    assert _balance(engine, pid).current == 99
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Redemption)).scalar_one() == 0


def test_out_of_stock_withdrawn_and_unknown_are_refused(engine):
    reward = _reward(engine, cost=10, stock=1)
    pid = _person(engine, points=100)
    _redeem(engine, reward.id, pid)
    with pytest.raises(Conflict, match="out of stock"):  # the double-click: the second finds none left
        _redeem(engine, reward.id, pid)
    assert _stock(engine, reward.id) == 0
    assert _balance(engine, pid).current == 90
    other = _reward(engine, name="Mug", cost=10, stock=None)
    with session_scope(engine, write=True) as s:
        rewards.set_active(other.id, False, session=s, actor=SYSTEM)
    with pytest.raises(Conflict, match="no longer offered"):
        _redeem(engine, other.id, pid)
    with pytest.raises(NotFound):
        _redeem(engine, 999_999, pid)
    with pytest.raises(NotFound):
        _redeem(engine, reward.id, 999_999)


def test_rejecting_refunds_the_points_and_puts_the_item_back(engine):
    reward = _reward(engine, cost=40, stock=1)
    pid = _person(engine, points=50)
    redemption = _redeem(engine, reward.id, pid)
    assert _stock(engine, reward.id) == 0
    with session_scope(engine, write=True) as s:
        rejected = rewards.reject(redemption.id, "Not available in your country", session=s, actor=SYSTEM)
        assert rejected.status == "rejected" and rejected.note == "Not available in your country"
    assert _stock(engine, reward.id) == 1
    balance = _balance(engine, pid)
    assert (balance.current, balance.lifetime) == (50, 50)
    with session_scope(engine) as s:
        refund = s.execute(select(PointEntry).where(PointEntry.kind == "refund")).scalars().one()
        assert (refund.amount, refund.redemption_id) == (40, redemption.id)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):  # twice: no second refund
        rewards.reject(redemption.id, session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):
        rewards.approve(redemption.id, session=s, actor=SYSTEM)
    assert _balance(engine, pid).current == 50
    assert _stock(engine, reward.id) == 1


def test_rejecting_an_unlimited_reward_leaves_its_stock_unlimited(engine):
    reward = _reward(engine, cost=10, stock=None)
    pid = _person(engine, points=10)
    redemption = _redeem(engine, reward.id, pid)
    with session_scope(engine, write=True) as s:
        rewards.reject(redemption.id, session=s, actor=SYSTEM)
    assert _stock(engine, reward.id) is None
    assert _balance(engine, pid).current == 10


def test_fulfil_needs_approval_first_and_records_tracking(engine):
    reward = _reward(engine, cost=10)
    pid = _person(engine, points=10)
    redemption = _redeem(engine, reward.id, pid)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="Approve the redemption"):
        rewards.fulfil(redemption.id, "TRACK1", session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        rewards.approve(redemption.id, session=s, actor=SYSTEM)
        done = rewards.fulfil(redemption.id, "TRACK1", "Sent by courier", session=s, actor=SYSTEM)
        assert (done.status, done.tracking, done.note) == ("fulfilled", "TRACK1", "Sent by courier")
        assert done.fulfilled_at is not None
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):
        rewards.reject(redemption.id, session=s, actor=SYSTEM)  # sent already: no refund
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):
        rewards.fulfil(redemption.id, session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        actions = [e.action for e in s.execute(select(AuditEvent).where(AuditEvent.object_id == pid,
                                                                         AuditEvent.object_type == "profile")
                                               .order_by(AuditEvent.id)).scalars()]
    assert actions[-3:] == ["redemption.request", "redemption.decide", "redemption.fulfil"]
    assert _balance(engine, pid).current == 0


def test_editing_a_reward_is_audited_and_a_patch_changes_only_what_it_sends(engine):
    reward = _reward(engine, cost=10, stock=3, description="Grey, cotton")
    with session_scope(engine, write=True) as s:
        rewards.update_reward(reward.id, RewardPatch.model_validate({"cost": 12}), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        again = s.get(Reward, reward.id)
        assert (again.cost, again.stock, again.description, again.active) == (12, 3, "Grey, cotton", True)
    with session_scope(engine, write=True) as s:
        rewards.update_reward(reward.id, RewardPatch.model_validate({"stock": None}), session=s, actor=SYSTEM)
    assert _stock(engine, reward.id) is None
    with session_scope(engine) as s:
        events = s.execute(select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
                           .where(AuditEvent.object_type == "reward").order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["reward.create", "reward.update", "reward.update"]
    assert (events[1].before["cost"], events[1].after["cost"]) == (10, 12)


def test_the_queue_lists_oldest_first_and_counts_by_status(engine):
    reward = _reward(engine, cost=10, stock=None)
    a, b = _person(engine, "Ana", points=50), _person(engine, "Bruno", points=50)
    first = _redeem(engine, reward.id, b)
    second = _redeem(engine, reward.id, a)
    with session_scope(engine, write=True) as s:
        rewards.approve(second.id, session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        everything = rewards.redemptions(session=s)
        assert [row.redemption.id for row in everything.rows] == [first.id, second.id]
        assert everything.counts == {"requested": 1, "approved": 1, "fulfilled": 0, "rejected": 0}
        waiting = rewards.redemptions(session=s, status=rewards.RedemptionStatus.requested)
        assert [(row.person, row.balance, row.reward_name) for row in waiting.rows] == [("Bruno", 40, "Hoodie")]
        assert [row.redemption.id for row in rewards.redemptions(session=s, profile_id=a).rows] == [second.id]
