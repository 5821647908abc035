"""A back-test reproduces its rule's live firings on the same data: evaluate_due run hour by hour with
`now` moving over a constructed history, then the back-test over the same hours fires at the same ones."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from crm.campaigns.models import Campaign
from crm.db import session_scope
from crm.listening import alerts, backtest
from crm.listening.models import AlertRule
from crm.profiles.models import Profile
from tests.factories import make_profile
from tests.unit.test_alerts import add_mentions, at, fired, make_rule, make_topic, scheduled  # noqa: F401


def _history(engine: Engine) -> dict[str, Any]:
    """Two topics over 30 days: daily chatter, a burst on day 20 (9:10-9:50) and two on day 24 (10:00
    and 17:00) about "Orbit" (the second inside a campaign), a low-volume one about "Quiet" on day 22,
    and negative ones only by estimate on day 23 (never counted by a negative-only rule)."""
    ana = make_profile(engine, "Ana").id or 0
    with session_scope(engine, write=True) as s:  # a champion (levels are computed by the ranking)
        s.execute(update(Profile).where(Profile.id == ana).values(level=1))  # type: ignore[arg-type]
    bob = make_profile(engine, "Bob").id or 0
    orbit = make_topic(engine, "Orbit")
    quiet = make_topic(engine, "Quiet")
    add_mentions(engine, orbit, [at(d, 12, 30) for d in range(30)], profile_id=bob, sentiment=-0.5)
    add_mentions(engine, orbit, [at(20, 9, 10 + 3 * i) for i in range(12)], profile_id=ana, sentiment=-0.7)
    add_mentions(engine, orbit, [at(24, 10, 2 * i) for i in range(9)], profile_id=bob, kind="complaint")
    add_mentions(engine, orbit, [at(26, 17, 2 * i) for i in range(9)], profile_id=ana, sentiment=-0.9)
    add_mentions(engine, orbit, [at(23, 8, i) for i in range(15)], profile_id=bob, sentiment=-0.9, source="estimated")
    add_mentions(engine, quiet, [at(22, 14, 5), at(22, 14, 20), at(22, 15, 10), at(22, 15, 30), at(22, 16, 45)],
                 profile_id=bob, sentiment=-0.4)
    with session_scope(engine, write=True) as s:
        s.add(Campaign(name="Orbit relaunch", status="completed", keywords=["orbit"], starts_on=date(2026, 3, 27),
                       ends_on=date(2026, 3, 28)))
    return {"orbit": orbit, "quiet": quiet, "ana": ana}


@pytest.mark.parametrize("negative_only", [False, True])
def test_backtest_reproduces_live_firings(engine: Engine, scheduled: list[Any], negative_only: bool) -> None:  # noqa: F811
    ids = _history(engine)
    rule_id = make_rule(engine, min_count=3, cooldown_hours=6, negative_only=negative_only)
    start, end = at(16, 0), at(29, 0)
    moment = start
    while moment <= end:  # a worker ticking every hour, a few minutes past
        alerts.evaluate_due(engine, now=moment + timedelta(minutes=7))
        moment += timedelta(hours=1)
    live = [(topic, when) for topic, when, _ in fired(engine, rule_id)]
    statuses = {(topic, when): status for topic, when, status in fired(engine, rule_id)}
    assert len(live) >= 4
    assert (ids["orbit"], at(20, 10)) in live and (ids["quiet"], at(22, 16)) in live
    assert ((ids["orbit"], at(23, 9)) in live) is not negative_only  # the estimated burst
    with session_scope(engine) as s:
        rule = s.get(AlertRule, rule_id)
        result = backtest.run(rule, session=s, now=end + timedelta(minutes=7), days=13)
    assert result.start == start
    tested = [(f.topic_id, f.at) for f in result.firings]
    assert tested == live
    assert {(f.topic_id, f.at): ("expected" if f.campaign_id else "new") for f in result.firings} == statuses
    assert ("expected" in statuses.values()) == (not negative_only)  # a campaign explains talk, not complaints
    # What the back-test shows for each firing: its people, most urgent first (the champion first).
    first = result.firings[0]
    assert first.speakers and first.speakers[0].author.profile_id == ids["ana"]
    assert sum(b.fired for b in result.bars) == len(live)
    assert sum(b.count for b in result.bars) == result.mentions > 0


def test_unsaved_values_and_a_missing_topic(engine: Engine) -> None:
    _history(engine)
    values = alerts.SpikeFields(min_count=3, cooldown_hours=6)
    with session_scope(engine) as s:
        result = backtest.run(values, session=s, now=at(29, 0))
        strict = backtest.run(alerts.SpikeFields(min_count=30), session=s, now=at(29, 0))
        assert len(result.bars) == 90 and result.total >= 4 and strict.total == 0
        with pytest.raises(alerts.InvalidInput) as caught:
            backtest.run(alerts.SpikeFields(topic_id=9999), session=s, now=at(29, 0))
        assert set(caught.value.field_errors) == {"topic_id"}
