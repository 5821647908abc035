"""Point rules as pure functions: which rule set and rule apply to an interaction, the daily caps,
and the burst check that holds points back for review. No database: crm.recognition.ledger feeds them.

- The rule set in force is the latest one whose start is not after the interaction's date.
- A rule for the kind on that channel wins over the kind's rule for any channel.
- A daily cap limits the points one person gets from one rule on one (UTC) day.
- A burst: a person's points on one day above max(BURST_FLOOR, BURST_FACTOR × their usual busy day)
  (the 90th percentile of their daily totals over the previous 90 days, once they have MIN_HISTORY active
  days; before that the floor), and never above BURST_CEILING. The grant that crosses the line, and
  every later one that day, is held for review instead of granted. So a new account cannot ramp up by
  four times a day into unlimited points.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

BURST_FLOOR = 150  # points in a day that never count as a burst on their own
BURST_FACTOR = 4.0
BURST_CEILING = 1000  # points in a day that always need a look, however busy the person usually is
HISTORY_DAYS = 90
MIN_HISTORY = 14  # active days before a person's own busy day raises their allowance above the floor


@dataclass(frozen=True)
class RuleSetView:
    id: int
    version: int
    starts_at: datetime
    rules: Mapping[str, tuple[int, int | None]]  # key ("post" or "post@x") -> (points, daily cap)


@dataclass(frozen=True)
class Item:
    interaction_id: int
    profile_id: int
    kind: str
    channel: str
    occurred_at: datetime


@dataclass(frozen=True)
class Grant:
    interaction_id: int
    profile_id: int
    rule_set_id: int
    rule: str
    amount: int
    held: str = ""  # why it is held ("burst: …"), or "" when granted


@dataclass
class History:
    """What a person already has, so caps and bursts continue across batches and runs."""

    used: dict[tuple[int, date, int, str], int] = field(default_factory=dict)  # (person, day, set, rule) -> points
    daily: dict[int, dict[date, int]] = field(default_factory=dict)  # person -> day -> points earned
    bursts: set[tuple[int, date]] = field(default_factory=set)  # (person, day) already over the line


def rule_set_for(when: datetime, sets: Sequence[RuleSetView]) -> RuleSetView | None:
    """`sets` sorted by start; the latest that has started by `when`."""
    index = bisect_right([s.starts_at for s in sets], when)
    return sets[index - 1] if index else None


def rule_for(kind: str, channel: str, rules: Mapping[str, tuple[int, int | None]]) -> str | None:
    specific = f"{kind}@{channel.lower()}" if channel else None
    if specific and specific in rules:
        return specific
    return kind if kind in rules else None


def burst_threshold(days: Mapping[date, int], today: date) -> float:
    """The most points a person may get on `today` before the rest is held: their usual busy day × factor."""
    past = sorted(points for day, points in days.items() if 0 < (today - day).days <= HISTORY_DAYS and points > 0)
    if len(past) < MIN_HISTORY:
        return float(BURST_FLOOR)
    p90 = past[min(len(past) - 1, int(0.9 * len(past)))]
    return min(float(BURST_CEILING), max(float(BURST_FLOOR), BURST_FACTOR * p90))


def grants(items: Iterable[Item], sets: Sequence[RuleSetView], history: History | None = None,
           flagged: Mapping[int, str] | None = None) -> list[Grant]:
    """What each item earns, in date order. `flagged` (person -> reason) holds all of a flagged person's
    points. `history` is updated in place, so calling again with the next batch continues the caps."""
    history = history if history is not None else History()
    flagged = flagged or {}
    out: list[Grant] = []
    for item in sorted(items, key=lambda i: (i.occurred_at, i.interaction_id)):
        rule_set = rule_set_for(item.occurred_at, sets)
        if rule_set is None:
            continue
        key = rule_for(item.kind, item.channel, rule_set.rules)
        if key is None:
            continue
        points, cap = rule_set.rules[key]
        day = item.occurred_at.date()
        used_key = (item.profile_id, day, rule_set.id, key)
        used = history.used.get(used_key, 0)
        amount = points if cap is None else max(0, min(points, cap - used))
        if amount <= 0:
            continue
        history.used[used_key] = used + amount
        days = history.daily.setdefault(item.profile_id, {})
        today = days.get(day, 0)
        held = flagged.get(item.profile_id, "")
        if not held and (item.profile_id, day) in history.bursts:
            held = f"burst: more points on {day.isoformat()} after the day went over the usual limit"
        if not held:
            limit = burst_threshold(days, day)
            if today + amount > limit:
                held = f"burst: {today + amount} points on {day.isoformat()}, usual limit {limit:.0f}"
                history.bursts.add((item.profile_id, day))
        if not held:
            days[day] = today + amount
        out.append(Grant(interaction_id=item.interaction_id, profile_id=item.profile_id, rule_set_id=rule_set.id,
                         rule=key, amount=amount, held=held))
    return out
