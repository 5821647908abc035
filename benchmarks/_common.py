"""Shared helpers for the benchmark scripts: repo on sys.path, percentiles, tables, machine line.

Imported first by every `benchmarks/bench_*.py` (run as `python benchmarks/NAME.py` from the repo
root, where `benchmarks/` is sys.path[0]); it puts the repository root on sys.path so that `crm`
and `tests` import without installing the package.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (pct in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f" · load avg {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores ({cpu}) · "
        f"Python {platform.python_version()} · SQLite {sqlite3.sqlite_version}{load}"
    )


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> None:
    """A plain fixed-width table (Markdown-compatible pipes, so it pastes into README.md)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if title:
        print(f"\n{title}")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace(".", "").replace("×", "").replace("-", "").strip()
    return stripped.isdigit()
