"""The point rules as pure functions: the rule set in force, channel rules, daily caps, bursts, flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.recognition import rules as pure
from crm.recognition.rules import Item, RuleSetView

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
V1 = RuleSetView(id=1, version=1, starts_at=datetime(1970, 1, 1, tzinfo=UTC),
                 rules={"post": (5, None), "post@x": (2, None), "forum_answer": (10, 25)})
V2 = RuleSetView(id=2, version=2, starts_at=T0 + timedelta(days=10), rules={"post": (7, None)})


def _item(iid, when, kind="post", channel="", pid=1):
    return Item(interaction_id=iid, profile_id=pid, kind=kind, channel=channel, occurred_at=when)


def test_the_rules_in_force_when_it_happened_and_the_channel_rule_first():
    out = pure.grants([_item(1, T0), _item(2, T0, channel="X"), _item(3, T0 + timedelta(days=11)),
                       _item(4, T0 + timedelta(days=11), channel="x"), _item(5, T0, kind="note")], [V1, V2])
    assert [(g.interaction_id, g.rule_set_id, g.rule, g.amount) for g in out] == [
        (1, 1, "post", 5), (2, 1, "post@x", 2), (3, 2, "post", 7), (4, 2, "post", 7)]  # v2 has no x rule; notes earn nothing
    assert pure.rule_set_for(T0 - timedelta(days=365 * 60), [V2]) is None


def test_a_daily_cap_per_person_and_rule_continues_across_batches():
    history = pure.History()
    first = pure.grants([_item(i, T0 + timedelta(minutes=i), kind="forum_answer") for i in range(2)], [V1], history)
    second = pure.grants([_item(10 + i, T0 + timedelta(minutes=10 + i), kind="forum_answer") for i in range(2)]
                         + [_item(20, T0 + timedelta(days=1), kind="forum_answer"),
                            _item(21, T0, kind="forum_answer", pid=2)], [V1], history)
    assert [g.amount for g in first] == [10, 10]
    assert [(g.interaction_id, g.amount) for g in second] == [(21, 10), (10, 5), (20, 10)]  # 25 a day: 10 + 10 + 5


def test_a_burst_holds_the_grant_that_crosses_the_line_and_the_rest_of_that_day():
    history = pure.History(daily={1: {(T0 - timedelta(days=d)).date(): 20 for d in range(1, 30)}})
    assert pure.burst_threshold(history.daily[1], T0.date()) == pure.BURST_FLOOR  # 4 × 20 is below the floor
    busy = [_item(i, T0 + timedelta(minutes=i)) for i in range(40)]  # 40 posts × 5 = 200 points in one day
    out = pure.grants(busy, [V1], history)
    granted = [g for g in out if not g.held]
    assert sum(g.amount for g in granted) == 150 and len(granted) == 30
    assert all(g.held.startswith("burst") for g in out[30:])
    later = pure.grants([_item(99, T0 + timedelta(hours=5))], [V1], history)
    assert later[0].held  # still that day: held too


def test_a_steady_big_contributor_is_not_a_burst():
    history = pure.History(daily={1: {(T0 - timedelta(days=d)).date(): 100 for d in range(1, 60)}})
    assert pure.burst_threshold(history.daily[1], T0.date()) == 400
    out = pure.grants([_item(i, T0 + timedelta(minutes=i)) for i in range(50)], [V1], history)  # 250 points
    assert not any(g.held for g in out)


def test_a_flagged_person_has_every_grant_held_with_the_reason():
    out = pure.grants([_item(1, T0), _item(2, T0, pid=2)], [V1], flagged={1: "ring: with 2 and 3"})
    assert [(g.profile_id, g.held) for g in out] == [(1, "ring: with 2 and 3"), (2, "")]


def test_the_burst_allowance_reads_exactly_the_previous_90_active_days():
    today = T0.date()

    def days(*pairs):
        return {today - timedelta(days=d): p for d, p in pairs}

    fourteen = [(d, 50) for d in range(1, 15)]  # exactly MIN_HISTORY active days of 50
    assert pure.burst_threshold(days(*fourteen), today) == 200  # 4 × 50: enough history to count
    assert pure.burst_threshold(days(*fourteen[:-1]), today) == pure.BURST_FLOOR  # 13 days: not yet
    assert pure.burst_threshold(days(*fourteen[:-1], (90, 50)), today) == 200  # 90 days back still counts
    assert pure.burst_threshold(days(*fourteen[:-1], (91, 50)), today) == pure.BURST_FLOOR  # 91 does not
    assert pure.burst_threshold(days(*fourteen[:-1], (0, 50)), today) == pure.BURST_FLOOR  # today is not history
    assert pure.burst_threshold(days(*fourteen[:-1], (20, 0)), today) == pure.BURST_FLOOR  # a day with nothing
    assert pure.burst_threshold(days(*fourteen[:-1], (20, 1)), today) == 200  # a day with a point is a day
    spread = [(d, 10 * d) for d in range(1, 21)]  # 10, 20, ... 200 over 20 days: the 90th percentile is 190
    assert pure.burst_threshold(days(*spread), today) == 4 * 190


def test_a_day_over_the_line_holds_every_later_grant_that_day_even_small_ones():
    rules = [RuleSetView(id=1, version=1, starts_at=T0 - timedelta(days=999), rules={"post": (5, None), "talk": (40, None)})]
    history = pure.History()
    posts = [_item(i, T0 + timedelta(minutes=i)) for i in range(29)]  # 145 points
    talk = _item(100, T0 + timedelta(minutes=40), kind="talk")  # 185 > 150: held
    late_post = _item(101, T0 + timedelta(minutes=50))  # 145 + 5 = 150 would fit, but the day went over
    out = pure.grants([*posts, talk, late_post], rules, history)
    assert [g.amount for g in out if not g.held] == [5] * 29
    assert out[-2].held == f"burst: 185 points on {T0.date().isoformat()}, usual limit 150"
    assert out[-1].held == f"burst: more points on {T0.date().isoformat()} after the day went over the usual limit"
    tomorrow = pure.grants([_item(102, T0 + timedelta(days=1))], rules, history)
    assert tomorrow[0].held == ""  # a new day


def test_unknown_kinds_are_skipped_not_the_end_and_a_cap_may_leave_exactly_one_point():
    rules = [RuleSetView(id=1, version=1, starts_at=T0 - timedelta(days=999), rules={"post": (5, 11)})]
    out = pure.grants([_item(1, T0, kind="note"), _item(2, T0 + timedelta(minutes=1)), _item(3, T0 + timedelta(minutes=2)),
                       _item(4, T0 + timedelta(minutes=3))], rules)
    assert [(g.interaction_id, g.amount) for g in out] == [(2, 5), (3, 5), (4, 1)]  # 11 a day: 5 + 5 + 1
