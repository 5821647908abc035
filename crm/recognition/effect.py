"""Does recognition change what people do? For each badge and reward: the recipients' contribution rate
(contributions per 30 days) in the 60 days after they got it against the 60 days before, compared with
people who did not get it, matched on level and on prior activity.

The method (a matched difference-in-differences):

- A recipient's "event" is the day they got it (a badge's award; a reward's fulfilment, else its approval).
  Recipients less than MIN_AFTER_DAYS ago are left out until more time has passed; those between that and
  60 days are measured over the days there are (rates are per 30 days), and the page warns.
- For each recipient, up to CONTROLS comparison people: never got this badge or reward, not team members,
  same level, known to us before the recipient's date, and the same band of contributions in the 60 days
  before that date (0, 1–2, 3–5, 6–10, 11+). Their "event" is the recipient's date (a pseudo date).
- uplift = (recipients' after − before) − (comparison's after − before), each recipient weighing once
  (its comparison people averaged), with a 95 % interval from the spread of the per-recipient differences.
  Fewer than MIN_GROUP people on either side: too few to tell, and the page says so.

The level is today's level (the score history is not read back): a reward that raised someone's level
matches them with people of the level they reached, which, if anything, understates the uplift.

`measure` is pure arithmetic on plain data; `effects` loads it from the database.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean, stdev
from typing import cast

from sqlalchemy import Table, func, select
from sqlmodel import Session

from crm.charts import nice_ceiling
from crm.db import utcnow
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction
from crm.profiles.models import Profile
from crm.recognition.models import Badge, BadgeAward, Redemption, RedemptionStatus, Reward

WINDOW_DAYS = 60
MIN_AFTER_DAYS = 14  # fewer days after than this say nothing yet
MIN_GROUP = 10
CONTROLS = 5  # comparison people per recipient
SCAN_LIMIT = 3000  # candidates looked at per recipient (a big level is sampled, not read whole)
BUCKETS = (0, 1, 3, 6, 11)  # lower edges of the prior-activity bands
DAY = 86_400.0


def bucket(count: int) -> int:
    """0 → 0, 1–2 → 1, 3–5 → 2, 6–10 → 3, 11+ → 4."""
    band = 0
    for index, edge in enumerate(BUCKETS):
        if count >= edge:
            band = index
    return band


@dataclass(frozen=True)
class Effect:
    recipients: int = 0  # recipients measured (each with comparison people)
    comparison: int = 0  # distinct comparison people
    rec_before: float = 0.0  # contributions per 30 days
    rec_after: float = 0.0
    cmp_before: float = 0.0
    cmp_after: float = 0.0
    uplift: float | None = None  # None: nobody measured
    low: float | None = None  # 95 % interval of the uplift
    high: float | None = None
    waiting: int = 0  # recipients left out: got it less than MIN_AFTER_DAYS ago
    unmatched: int = 0  # recipients left out: nobody comparable
    partial: int = 0  # recipients measured over fewer than 60 days after

    @property
    def small(self) -> bool:
        """Too few people on either side to tell."""
        return self.recipients < MIN_GROUP or self.comparison < MIN_GROUP

    @property
    def early(self) -> bool:
        """The 60 days after have not passed for everyone yet."""
        return self.partial > 0 or self.waiting > 0

    @property
    def clear(self) -> bool:
        """Enough people, and the interval does not include zero."""
        return (not self.small and self.low is not None and self.high is not None
                and (self.low > 0 or self.high < 0))


def _count(times: Sequence[float], start: float, end: float) -> int:
    return bisect_left(times, end) - bisect_left(times, start)


def measure(received: Mapping[int, datetime], activity: Mapping[int, Sequence[float]], levels: Mapping[int, int], *,
            now: datetime, first_seen: Mapping[int, float] | None = None, excluded: Iterable[int] = (),
            window_days: int = WINDOW_DAYS, controls: int = CONTROLS, seed: int = 0) -> Effect:
    """The effect of one badge or reward.

    received: recipient -> when they got it. activity: person -> sorted POSIX times of their contributions.
    levels: the people who may be compared (recipient or not) -> their level. first_seen: person -> the
    POSIX time we first knew of them (comparison people must be known before the recipient's date; left
    out: everyone counts). excluded: people never used for comparison (e.g. who asked for the reward)."""
    never = set(received) | set(excluded)
    pools: dict[int, list[int]] = defaultdict(list)
    for pid in sorted(levels):
        if pid not in never:
            pools[levels[pid]].append(pid)
    window = window_days * DAY
    empty: Sequence[float] = ()
    rec_before: list[float] = []
    rec_after: list[float] = []
    cmp_before: list[float] = []
    cmp_after: list[float] = []
    diffs: list[float] = []
    used: set[int] = set()
    waiting = unmatched = partial = 0
    now_ts = now.timestamp()
    for pid in sorted(received):
        event = received[pid].timestamp()
        span = min(window, now_ts - event)
        if span < MIN_AFTER_DAYS * DAY:
            waiting += 1
            continue
        level = levels.get(pid)
        if level is None:
            unmatched += 1
            continue
        times = activity.get(pid, empty)
        before = _count(times, event - window, event)
        band = bucket(before)
        pool = pools.get(level, [])
        # A random sample of the level (the same every time for this recipient), read until enough match.
        order = random.Random(f"{seed}:{pid}").sample(range(len(pool)), min(len(pool), SCAN_LIMIT))
        chosen: list[tuple[float, float]] = []
        for index in order:
            other = pool[index]
            if first_seen is not None and first_seen.get(other, math.inf) >= event:
                continue
            other_times = activity.get(other, empty)
            other_before = _count(other_times, event - window, event)
            if bucket(other_before) != band:
                continue
            other_after = _count(other_times, event, event + span)
            chosen.append((other_before * 30 * DAY / window, other_after * 30 * DAY / span))
            used.add(other)
            if len(chosen) >= controls:
                break
        if not chosen:
            unmatched += 1
            continue
        if span < window:
            partial += 1
        rb = before * 30 * DAY / window
        ra = _count(times, event, event + span) * 30 * DAY / span
        cb = fmean(c[0] for c in chosen)
        ca = fmean(c[1] for c in chosen)
        rec_before.append(rb)
        rec_after.append(ra)
        cmp_before.append(cb)
        cmp_after.append(ca)
        diffs.append((ra - rb) - (ca - cb))
    if not diffs:
        return Effect(waiting=waiting, unmatched=unmatched)
    uplift = fmean(diffs)
    low = high = None
    if len(diffs) >= 2:
        margin = 1.96 * stdev(diffs) / math.sqrt(len(diffs))
        low, high = uplift - margin, uplift + margin
    return Effect(recipients=len(diffs), comparison=len(used), rec_before=fmean(rec_before), rec_after=fmean(rec_after),
                  cmp_before=fmean(cmp_before), cmp_after=fmean(cmp_after), uplift=uplift, low=low, high=high,
                  waiting=waiting, unmatched=unmatched, partial=partial)


# ---- a small chart per row: the uplift and its interval against zero, on one scale -------------------

CHART_WIDTH = 200.0
CHART_HEIGHT = 20.0


@dataclass(frozen=True)
class Bar:
    zero: float  # x of zero
    mark: float  # x of the uplift
    low: float  # x of the interval's ends (the mark when there is no interval)
    high: float
    up: bool  # the uplift is above zero



def bars(effects: Sequence[Effect]) -> tuple[float, list[Bar | None]]:
    """(the scale's half-width in contributions per 30 days, one bar per effect or None without an uplift)."""
    extent = [abs(v) for e in effects for v in (e.uplift, e.low, e.high) if v is not None]
    half = nice_ceiling(max(extent), least=0.5) if extent else 1.0
    margin = 4.0

    def x(value: float) -> float:
        return round(margin + (CHART_WIDTH - 2 * margin) * (value + half) / (2 * half), 1)

    out: list[Bar | None] = []
    for e in effects:
        if e.uplift is None:
            out.append(None)
            continue
        out.append(Bar(zero=x(0), mark=x(e.uplift), low=x(e.low if e.low is not None else e.uplift),
                       high=x(e.high if e.high is not None else e.uplift), up=e.uplift > 0))
    return half, out


# ---- loading ---------------------------------------------------------------------------------------

X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
PT = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
BT = cast(Table, Badge.__table__)  # type: ignore[attr-defined]
AT = cast(Table, BadgeAward.__table__)  # type: ignore[attr-defined]
RT = cast(Table, Reward.__table__)  # type: ignore[attr-defined]
DT = cast(Table, Redemption.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EffectRow:
    kind: str  # "badge" or "reward"
    item_id: int
    name: str
    symbol: str
    received: int  # everyone who got it, measured or not
    effect: Effect
    bar: Bar | None = None


@dataclass
class EffectReport:
    rows: list[EffectRow] = field(default_factory=list)
    scale: float = 1.0  # half-width of the charts, contributions per 30 days
    window_days: int = WINDOW_DAYS
    min_group: int = MIN_GROUP
    now: datetime | None = None


def _recipients(session: Session) -> tuple[dict[tuple[str, int], dict[int, datetime]], dict[tuple[str, int], set[int]],
                                            dict[tuple[str, int], tuple[str, str]]]:
    """(item -> recipient -> when, item -> people who asked for it without getting it, item -> (name, symbol))."""
    received: dict[tuple[str, int], dict[int, datetime]] = defaultdict(dict)
    excluded: dict[tuple[str, int], set[int]] = defaultdict(set)
    names: dict[tuple[str, int], tuple[str, str]] = {}
    for bid, name, symbol in session.execute(select(BT.c.id, BT.c.name, BT.c.symbol)):
        names[("badge", bid)] = (name, symbol)
    for bid, pid, when in session.execute(select(AT.c.badge_id, AT.c.profile_id, AT.c.awarded_at)):
        got = received[("badge", bid)]
        got[pid] = min(got.get(pid, when), when)
    for rid, name in session.execute(select(RT.c.id, RT.c.name)):
        names[("reward", rid)] = (name, "")
    given = (RedemptionStatus.approved.value, RedemptionStatus.fulfilled.value)
    for rid, pid, status, fulfilled, decided, created in session.execute(select(
            DT.c.reward_id, DT.c.profile_id, DT.c.status, DT.c.fulfilled_at, DT.c.decided_at, DT.c.created_at)):
        key = ("reward", rid)
        if status in given:
            when = fulfilled or decided or created
            got = received[key]
            got[pid] = min(got.get(pid, when), when)
        else:
            excluded[key].add(pid)  # asked for it: not a fair comparison either
    for key, got in received.items():
        excluded[key] -= set(got)
    return received, excluded, names


def effects(*, session: Session, now: datetime | None = None) -> EffectReport:
    """One row per badge and reward that someone has received (badges first, then rewards, by name)."""
    now = now or utcnow()
    received, excluded, names = _recipients(session)
    report = EffectReport(now=now)
    items = [key for key in names if received.get(key)]
    if not items:
        return report
    levels = {int(pid): int(level) for pid, level in session.execute(
        select(PT.c.id, PT.c.level).where(PT.c.is_team_member.is_(False)))}
    earliest = min(when for key in items for when in received[key].values()) - timedelta(days=WINDOW_DAYS)
    activity: dict[int, list[float]] = defaultdict(list)
    kinds = [k.value for k in CONTRIBUTION_KINDS]
    for pid, when in session.execute(select(X.c.profile_id, X.c.occurred_at).where(
            X.c.kind.in_(kinds), X.c.occurred_at >= earliest).order_by(X.c.profile_id, X.c.occurred_at)):
        activity[pid].append(when.timestamp())
    first_seen = {pid: when.timestamp() for pid, when in session.execute(
        select(X.c.profile_id, func.min(X.c.occurred_at)).group_by(X.c.profile_id)) if when is not None}
    rows = []
    for key in sorted(items, key=lambda k: (k[0] != "badge", names[k][0].casefold(), k[1])):
        effect = measure(received[key], activity, levels, now=now, first_seen=first_seen, excluded=excluded.get(key, ()),
                         seed=key[1])
        rows.append(EffectRow(kind=key[0], item_id=key[1], name=names[key][0], symbol=names[key][1],
                              received=len(received[key]), effect=effect))
    report.scale, chart = bars([r.effect for r in rows])
    report.rows = [EffectRow(**{**r.__dict__, "bar": b}) for r, b in zip(rows, chart, strict=True)]
    return report
