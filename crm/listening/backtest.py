"""The back-test of an alert rule, saved or not yet: what it would have done over the last 90 days.
It reads the same mention times as live evaluation (crm.listening.alerts.mention_times) and calls the
same `spikes.firings` over the same whole hours, so on the same data it fires at the same hours as the
live rule did (from a start with no earlier firing to carry a cooldown in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from crm.db import utcnow
from crm.errors import InvalidInput
from crm.i18n import gettext
from crm.listening import alerts, people, spikes

DAYS = 90
DETAIL_LIMIT = 50  # firings shown with their people; the rest are counted and marked on the chart
TOP_PEOPLE = 3


@dataclass
class BacktestFiring:
    topic_id: int
    topic_name: str
    at: datetime
    window_start: datetime
    observed: int
    expected: float
    p_value: float
    campaign_id: int | None = None
    campaign_name: str = ""
    mention_ids: list[int] = field(default_factory=list)
    speakers: list[people.Speaker] = field(default_factory=list)

    @property
    def day(self) -> date:
        return (self.at - timedelta(seconds=1)).date()


@dataclass
class DayBar:
    day: date
    count: int
    fired: int = 0  # firings that day
    expected: int = 0  # of which inside a campaign


@dataclass
class Backtest:
    start: datetime
    end: datetime
    negative_only: bool
    topics: list[str]
    firings: list[BacktestFiring]
    bars: list[DayBar]

    @property
    def total(self) -> int:
        return len(self.firings)

    @property
    def raised(self) -> int:
        return sum(1 for f in self.firings if f.campaign_id is None)

    @property
    def shown(self) -> list[BacktestFiring]:
        return self.firings[:DETAIL_LIMIT]

    @property
    def max_count(self) -> int:
        return max((b.count for b in self.bars), default=0)

    @property
    def mentions(self) -> int:
        return sum(b.count for b in self.bars)


def run(values: Any, *, session: Session, now: datetime | None = None, days: int = DAYS,
        detail_limit: int = DETAIL_LIMIT) -> Backtest:
    """Back-test rule values (an AlertRule, or unsaved SpikeFields) over the `days` before the hour
    floor of `now`."""
    conn = session.connection()
    end = alerts.hour_floor(now or utcnow())
    start = end - timedelta(days=days)
    topics = alerts.rule_topics(conn, values.topic_id)
    if values.topic_id is not None and not topics:
        raise InvalidInput(gettext("Please correct the fields marked below."),
                           field_errors={"topic_id": gettext("There is no such topic, or it is switched off.")})
    rule = alerts.spike_rule(values)
    window = timedelta(hours=values.window_hours)
    lo = start - window - timedelta(days=values.baseline_days)
    found_campaigns = alerts.campaigns(conn)
    first_day = start.date()
    bars = [DayBar(day=first_day + timedelta(days=i), count=0) for i in range(days + 1)]
    firings: list[BacktestFiring] = []
    start_ts = start.timestamp()
    for topic_id, name, terms in topics:
        times = alerts.mention_times(conn, topic_id, lo, end, negative_only=values.negative_only)
        for t in times:
            if t > start_ts:
                index = (datetime.fromtimestamp(t, UTC).date() - first_day).days
                if 0 <= index < len(bars):
                    bars[index].count += 1
        key = alerts.topic_words(name, terms)
        for test in spikes.firings(times, start_ts, end.timestamp(), rule):
            at = test.at_datetime
            campaign = alerts.expected_by(found_campaigns, key, at, negative_only=values.negative_only)
            if campaign is not None and alerts.mostly_negative(conn, topic_id, at - window, at):
                campaign = None
            firings.append(BacktestFiring(
                topic_id=topic_id, topic_name=name, at=at, window_start=at - window, observed=test.observed,
                expected=test.expected, p_value=test.p_value, campaign_id=campaign.id if campaign else None,
                campaign_name=campaign.name if campaign else ""))
    firings.sort(key=lambda f: (f.at, f.topic_id))
    for firing in firings:
        index = (firing.day - first_day).days
        if 0 <= index < len(bars):
            bars[index].fired += 1
            bars[index].expected += 1 if firing.campaign_id else 0
    for firing in firings[:detail_limit]:
        firing.mention_ids = alerts.window_mentions(conn, firing.topic_id, firing.window_start, firing.at,
                                                    negative_only=values.negative_only)
        ranked = people.ranked_mentions(conn, firing.mention_ids, before=firing.window_start)
        firing.speakers = people.who_is_talking(ranked)[:TOP_PEOPLE]
    while len(bars) > 1 and bars[-1].day > (end - timedelta(seconds=1)).date():
        bars.pop()
    return Backtest(start=start, end=end, negative_only=bool(values.negative_only),
                    topics=[name for _, name, _ in topics], firings=firings, bars=bars)
