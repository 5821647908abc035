"""The reward effect: a matched difference-in-differences that recovers a known uplift from constructed
data, finds none where there is none (even when everyone's activity rises), and says when the groups are
too small or the 60 days after have not passed; the loader reads badges and rewards from a database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from crm.db import session_scope
from crm.interactions.models import Interaction
from crm.profiles.models import Profile
from crm.recognition import effect
from crm.recognition.models import Badge, BadgeAward, Redemption, Reward
from tests.factories import make_profile

NOW = datetime(2026, 3, 1, tzinfo=UTC)
EVENT = NOW - timedelta(days=100)
DAY = 86_400.0


def _spread(count: int, start: datetime, days: int = 60) -> list[float]:
    """`count` contributions evenly over `days` days from `start`."""
    return [(start + timedelta(days=days * (i + 0.5) / count)).timestamp() for i in range(count)]


def _person(before: int, after: int, event: datetime = EVENT) -> list[float]:
    return sorted(_spread(before, event - timedelta(days=60)) + _spread(after, event))


def _world(recipient_after: int, control_after: int, *, recipients: int = 20, controls: int = 60):
    """Recipients and comparison people at level 2 with 4 contributions in the 60 days before; decoys that
    must not be matched: another level, and the same level with far more activity before."""
    activity: dict[int, list[float]] = {}
    levels: dict[int, int] = {}
    received = {}
    for pid in range(1, recipients + 1):
        activity[pid] = _person(4, recipient_after)
        levels[pid] = 2
        received[pid] = EVENT
    for pid in range(100, 100 + controls):
        activity[pid] = _person(4, control_after)
        levels[pid] = 2
    for pid in range(500, 540):  # level 3: would pull the comparison down if matched
        activity[pid] = _person(4, 0)
        levels[pid] = 3
    for pid in range(600, 640):  # same level, 12 before (another band): would pull it up
        activity[pid] = _person(12, 40)
        levels[pid] = 2
    first_seen = {pid: (EVENT - timedelta(days=365)).timestamp() for pid in levels}
    return received, activity, levels, first_seen


def test_a_known_uplift_is_recovered():
    received, activity, levels, first_seen = _world(recipient_after=8, control_after=4)
    result = effect.measure(received, activity, levels, now=NOW, first_seen=first_seen)
    assert (result.recipients, result.waiting, result.unmatched, result.partial) == (20, 0, 0, 0)
    assert result.comparison >= 10 and result.comparison <= 60
    assert (result.rec_before, result.rec_after) == (2.0, 4.0)  # per 30 days
    assert (result.cmp_before, result.cmp_after) == (2.0, 2.0)
    assert result.uplift == 2.0
    assert not result.small and not result.early


def test_no_effect_is_zero_even_when_everyone_rises():
    received, activity, levels, first_seen = _world(recipient_after=4, control_after=4)
    assert effect.measure(received, activity, levels, now=NOW, first_seen=first_seen).uplift == 0.0
    received, activity, levels, first_seen = _world(recipient_after=6, control_after=6)  # a busy season for all
    result = effect.measure(received, activity, levels, now=NOW, first_seen=first_seen)
    assert result.rec_after - result.rec_before == 1.0  # recipients alone would suggest an effect
    assert result.uplift == 0.0 and not result.clear


def test_noisy_data_recovers_the_effect_within_its_interval():
    rng = random.Random(42)
    activity: dict[int, list[float]] = {}
    levels: dict[int, int] = {}
    received = {}
    for pid in range(1, 401):
        recipient = pid <= 80
        level = rng.choice((2, 3))
        base = rng.choice((1, 2, 3, 4, 6))  # per 60 days
        before = rng.randint(max(0, base - 1), base + 1)
        after = rng.randint(max(0, base - 1), base + 1) + (4 if recipient else 0)  # +4 per 60 days = +2 per 30
        activity[pid] = sorted(_spread(before, EVENT - timedelta(days=60)) + _spread(after, EVENT)) if before or after else []
        levels[pid] = level
        if recipient:
            received[pid] = EVENT
    result = effect.measure(received, activity, levels, now=NOW)
    assert result.uplift is not None and result.low is not None and result.high is not None
    assert abs(result.uplift - 2.0) < 0.5
    assert result.low < 2.0 < result.high and result.clear
    again = effect.measure(received, activity, levels, now=NOW)
    assert again == result  # deterministic


def test_small_groups_and_recent_awards_are_flagged():
    received, activity, levels, first_seen = _world(recipient_after=8, control_after=4, recipients=5, controls=8)
    result = effect.measure(received, activity, levels, now=NOW, first_seen=first_seen)
    assert result.recipients == 5 and result.comparison == 8 and result.small
    received, activity, levels, first_seen = _world(recipient_after=8, control_after=4)
    recent = NOW - timedelta(days=30)
    for pid in (1, 2, 3):
        received[pid] = recent  # 30 days after so far: measured over them, rates per 30 days
        activity[pid] = _person(4, 4, recent)[:6]  # 4 before, 2 in the 30 days since (half of 4 per 60)
    received[4] = NOW - timedelta(days=5)  # too early to say anything
    result = effect.measure(received, activity, levels, now=NOW, first_seen=first_seen)
    assert (result.recipients, result.partial, result.waiting) == (19, 3, 1)
    assert result.early and not result.small


def test_comparison_people_must_be_known_before_the_date_and_never_recipients():
    received, activity, levels, first_seen = _world(recipient_after=8, control_after=4, controls=30)
    for pid in range(100, 130):
        first_seen[pid] = (EVENT + timedelta(days=1)).timestamp()  # joined after: not comparable
    result = effect.measure(received, activity, levels, now=NOW, first_seen=first_seen)
    assert result.uplift is None and result.unmatched == 20
    result = effect.measure(received, activity, levels, now=NOW, excluded=range(100, 130))
    assert result.uplift is None and result.unmatched == 20
    assert effect.measure({}, activity, levels, now=NOW) == effect.Effect()


def test_buckets_and_bars():
    assert [effect.bucket(n) for n in (0, 1, 2, 3, 5, 6, 10, 11, 50)] == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    half, bars = effect.bars([effect.Effect(uplift=2.0, low=1.0, high=3.0), effect.Effect(),
                              effect.Effect(uplift=-1.0)])
    assert half == 5.0
    assert bars[1] is None
    first, third = bars[0], bars[2]
    assert first is not None and third is not None
    assert first.zero == 100.0 and first.low < first.mark < first.high and first.up
    assert third.mark < third.zero and not third.up and third.low == third.mark == third.high


def _contributions(session, pid: int, times: list[float]) -> None:
    for i, ts in enumerate(times):
        session.add(Interaction(profile_id=pid, kind="post", title=f"p{i}", source="test", external_id=f"{pid}-{i}",
                                occurred_at=datetime.fromtimestamp(ts, UTC)))


def test_the_loader_reads_badges_and_rewards(engine: Engine) -> None:
    now = datetime.now(UTC)
    event = now - timedelta(days=90)
    recipients = [make_profile(engine, f"Recipient {i}").id for i in range(3)]
    others = [make_profile(engine, f"Other {i}").id for i in range(6)]
    team = make_profile(engine, "Team Mate", is_team_member=True).id
    asked = make_profile(engine, "Asked Only").id
    with session_scope(engine, write=True) as s:
        for pid in recipients:
            _contributions(s, pid, _person(2, 6, event))
        for pid in others + [asked]:
            _contributions(s, pid, _person(2, 2, event))
        _contributions(s, team, _person(2, 40, event))  # would show in the comparison if it were used
        s.add(Interaction(profile_id=others[0], kind="note", title="a note is not a contribution", occurred_at=event))
        badge = Badge(name="Helper", symbol="🤝")
        unused = Badge(name="Nobody yet")
        reward = Reward(name="T-shirt", category="swag", cost=100)
        s.add_all([badge, unused, reward])
        s.flush()
        for pid in recipients:
            s.add(BadgeAward(badge_id=badge.id, profile_id=pid, awarded_at=event))
        s.add(Redemption(reward_id=reward.id, profile_id=recipients[0], cost=100, status="fulfilled",
                         created_at=event - timedelta(days=3), decided_at=event - timedelta(days=2), fulfilled_at=event))
        s.add(Redemption(reward_id=reward.id, profile_id=asked, cost=100, status="requested", created_at=event))
        s.execute(Profile.__table__.update().values(level=2))  # type: ignore[attr-defined]
    with session_scope(engine) as s:
        report = effect.effects(session=s, now=now)
    assert [(r.kind, r.name, r.received) for r in report.rows] == [("badge", "Helper", 3), ("reward", "T-shirt", 1)]
    helper, shirt = report.rows
    assert helper.symbol == "🤝"
    assert (helper.effect.recipients, helper.effect.rec_before, helper.effect.rec_after) == (3, 1.0, 3.0)
    assert 5 <= helper.effect.comparison <= 7  # from the six others and who only asked for the T-shirt
    assert (helper.effect.cmp_before, helper.effect.cmp_after) == (1.0, 1.0)  # not the team member
    assert helper.effect.uplift == 2.0 and helper.effect.small
    assert (shirt.effect.recipients, shirt.effect.rec_after) == (1, 3.0)
    assert helper.bar is not None and helper.bar.up
    with session_scope(engine) as s:
        received, excluded, _ = effect._recipients(s)
        assert excluded[("reward", shirt.item_id)] == {asked}  # asked for it: not comparison for it
        assert received[("reward", shirt.item_id)][recipients[0]] == event
        assert effect.effects(session=s, now=event - timedelta(days=1)).rows[0].effect.waiting == 3
