"""Server-side SVG charts as geometry: the template draws them (autoescaped, no inline style or
script), so a chart is classes and coordinates, styled by static/css/score.css.

A trend chart is a line over time in a fixed viewBox stretched to the width of its box
(`preserveAspectRatio="none"`, strokes that do not scale): its labels are HTML beside the SVG, so they
stay readable from a phone to a wide screen."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH = 600.0
HEIGHT = 120.0
PAD = 6.0  # room above and below the line, in viewBox units, so a stroke at 0 or at the top shows whole


@dataclass
class TrendChart:
    width: float
    height: float
    line: str  # the path's d: "M x,y L x,y …"
    area: str  # the same line closed down to zero, for a light fill
    grid: list[float]  # y of the gridlines (top, middle, bottom)
    top: float  # the value at the top of the chart
    first: datetime
    last: datetime
    low: float  # smallest and largest value shown, for the summary
    high: float
    start: float  # first and last value
    end: float
    points: int


def nice_ceiling(value: float, least: float = 1.0) -> float:
    """The next "round" number at or above value: 1, 2, 2.5 or 5 times a power of ten (at least `least`)."""
    if value <= least:
        return least
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 × power


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend(points: Sequence[tuple[datetime, float]], *, top: float | None = None) -> TrendChart | None:
    """A line chart of values over time (x by time, y from 0 to `top`, or a round number above the
    largest value); None with fewer than two points, where there is no trend to draw."""
    if len(points) < 2:
        return None
    values = [max(float(v), 0.0) for _, v in points]
    ceiling = top if top is not None else nice_ceiling(max(values))
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds() or 1.0
    inner = HEIGHT - 2 * PAD

    def xy(moment: datetime, value: float) -> tuple[float, float]:
        x = WIDTH * (moment - start).total_seconds() / span
        y = PAD + inner * (1 - min(value, ceiling) / ceiling)
        return x, y

    coords = [xy(moment, value) for (moment, _), value in zip(points, values, strict=True)]
    line = "M" + " L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in coords)
    bottom = _fmt(HEIGHT - PAD)
    area = f"{line} L{_fmt(coords[-1][0])},{bottom} L{_fmt(coords[0][0])},{bottom} Z"
    return TrendChart(width=WIDTH, height=HEIGHT, line=line, area=area,
                      grid=[PAD, PAD + inner / 2, HEIGHT - PAD], top=ceiling, first=start, last=end,
                      low=min(values), high=max(values), start=values[0], end=values[-1], points=len(points))
