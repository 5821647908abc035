"""Spike tests that hold at a few mentions a day. At each whole UTC hour, the mentions of the latest
window (say 24 hours) are compared with the rate of the baseline before it (say the 14 days before
the window): with λ the count the baseline rate predicts for the window, the test is the exact
Poisson tail P(X >= observed | λ). It fires when that tail is at most `max_p` and the window holds at
least `min_count` mentions. An empty baseline counts as one mention, so a first burst can fire but a
single mention after a quiet fortnight cannot (min_count). After a firing the rule rests for its
cooldown.

Live evaluation and the back-test call the same `firings`, over the same hour boundaries, so a back-test
on the same data reproduces what fired live. Pure functions of plain data (epoch seconds)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from scipy.special import pdtrc

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class SpikeRule:
    window_hours: int = 24
    baseline_days: int = 14
    max_p: float = 0.01
    min_count: int = 5
    cooldown_hours: int = 24


@dataclass(frozen=True)
class Test:
    at: int  # epoch seconds, a whole hour
    observed: int
    expected: float
    p_value: float
    fired: bool

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


def poisson_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    return float(pdtrc(observed - 1, expected))


def expected_count(baseline_count: int, rule: SpikeRule) -> float:
    return max(baseline_count, 1) * rule.window_hours / (rule.baseline_days * 24)


def test_at(times: Sequence[float], at: int, rule: SpikeRule) -> Test:
    """The test at `at` over sorted mention times: window (at - window, at], baseline before it."""
    window_start = at - rule.window_hours * HOUR
    baseline_start = window_start - rule.baseline_days * DAY
    # bisect_right: a mention exactly at a boundary belongs to the interval that ends there.
    b0, w0, end = bisect_right(times, baseline_start), bisect_right(times, window_start), bisect_right(times, at)
    observed, baseline = end - w0, w0 - b0
    expected = expected_count(baseline, rule)
    p_value = poisson_tail(observed, expected)
    return Test(at=at, observed=observed, expected=expected, p_value=p_value,
                fired=observed >= rule.min_count and p_value <= rule.max_p)


def hour_floor(epoch: float) -> int:
    return int(epoch // HOUR) * HOUR  # floor, also before 1970


def firings(times: Sequence[float], start: float, end: float, rule: SpikeRule,
            *, last_fired: float | None = None) -> list[Test]:
    """The tests that fire at the whole hours in (start, end], cooldown applied: a firing at t silences
    the rule until t + cooldown (`last_fired` carries an earlier firing in)."""
    out: list[Test] = []
    at = hour_floor(start) + HOUR
    cooldown = rule.cooldown_hours * HOUR
    while at <= end:
        if last_fired is not None and at < last_fired + cooldown:
            at = hour_floor(last_fired + cooldown - 1) + HOUR  # the first whole hour the rest is over
            continue
        test = test_at(times, at, rule)
        if test.fired:
            out.append(test)
            last_fired = at
        at += HOUR
    return out

