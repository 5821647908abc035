"""Concurrent redemptions of the last items, on SQLite and PostgreSQL: stock never below zero, nobody
spends points they do not have, balances equal the ledger's sum, and every refusal is the domain's
own (out of stock, too few points), never a database error."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.db import session_scope, write_bind
from crm.errors import Conflict, InvalidInput
from crm.recognition import ledger, rewards
from crm.recognition.models import AwardIn, PointEntry, Redemption, Reward
from crm.recognition.rewards import RewardIn
from tests.factories import make_profile

THREADS = 8
ATTEMPTS = 3  # per thread
COST = 10


def test_concurrent_redemptions_keep_stock_and_balances_consistent(engine):
    initial_stock = 3
    with session_scope(engine, write=True) as s:
        last_items = rewards.create_reward(RewardIn(name="Last hoodies", category="swag", cost=COST, stock=initial_stock),
                                           session=s, actor=SYSTEM).id
        unlimited = rewards.create_reward(RewardIn(name="Sticker pack", category="swag", cost=COST),
                                          session=s, actor=SYSTEM).id
    # Four people whose points cover one or two redemptions each; two threads share each person, so
    # the same person's balance is spent from two places at once.
    points = {make_profile(engine, f"Person {i}").id: amount for i, amount in enumerate((10, 15, 20, 25))}
    with session_scope(engine, write=True) as s:
        for pid, amount in points.items():
            ledger.award(AwardIn(profile_ids=[pid], points=amount, reason="Seed"), session=s, actor=SYSTEM)
    people = list(points)

    start = threading.Barrier(THREADS)
    refusals: Counter[str] = Counter()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        pid = people[n % len(people)]
        for attempt in range(ATTEMPTS):
            start.wait()  # every round starts together (the barrier is reused)
            # The two threads of one person ask for different rewards at the same moment.
            reward_id = last_items if (n // len(people) + attempt) % 2 == 0 else unlimited
            with Session(write_bind(engine), expire_on_commit=False) as session:
                try:
                    rewards.redeem(reward_id, pid, session=session, actor=SYSTEM)
                    session.commit()
                except (Conflict, InvalidInput) as exc:  # the domain's refusals: fine
                    session.rollback()
                    with lock:
                        refusals[type(exc).__name__] += 1
                except BaseException as exc:  # anything else would be a 500
                    session.rollback()
                    with lock:
                        failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    with session_scope(engine) as s:
        stock = s.get(Reward, last_items).stock
        assert stock is not None and stock >= 0
        taken = s.execute(select(func.count()).select_from(Redemption)
                          .where(Redemption.reward_id == last_items)).scalar_one()
        assert taken == initial_stock - stock
        per_person = dict(s.execute(select(Redemption.profile_id, func.count()).group_by(Redemption.profile_id)).all())
        balances = ledger.balances(people, conn=s.connection())
        for pid in people:
            ledger_sum = s.execute(select(func.coalesce(func.sum(PointEntry.amount), 0))
                                   .where(PointEntry.profile_id == pid)).scalar_one()
            assert balances[pid].current == ledger_sum == points[pid] - COST * per_person.get(pid, 0)
            assert balances[pid].current >= 0
        redeemed = sum(per_person.values())
    # Everyone could afford 1 + 1 + 2 + 2 = 6 redemptions, so the people's points ran out (and, on
    # the last items, the stock did): the refusals are exactly the attempts that did not go through.
    assert redeemed == sum(amount // COST for amount in points.values())
    assert sum(refusals.values()) == THREADS * ATTEMPTS - redeemed
    assert refusals["InvalidInput"] > 0


def test_one_person_redeeming_many_rewards_at_once_spends_only_what_they_have(engine):
    """Eight different rewards (no shared reward row to queue on) for one person whose points cover
    one: exactly one goes through, on both databases."""
    with session_scope(engine, write=True) as s:
        reward_ids = [rewards.create_reward(RewardIn(name=f"Reward {n}", category="gift", cost=COST),
                                            session=s, actor=SYSTEM).id for n in range(THREADS)]
    pid = make_profile(engine, "Quick Clicker").id
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[pid], points=COST + COST // 2, reason="Seed"), session=s, actor=SYSTEM)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(reward_id: int) -> None:
        start.wait()
        with Session(write_bind(engine), expire_on_commit=False) as session:
            try:
                rewards.redeem(reward_id, pid, session=session, actor=SYSTEM)
                session.commit()
                outcome = "redeemed"
            except InvalidInput:
                session.rollback()
                outcome = "too few points"
            except BaseException as exc:
                session.rollback()
                outcome = repr(exc)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(rid,)) for rid in reward_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["redeemed"] + ["too few points"] * (THREADS - 1)
    with session_scope(engine) as s:
        assert ledger.balances([pid], conn=s.connection())[pid].current == COST // 2
