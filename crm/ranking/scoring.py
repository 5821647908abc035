"""The scores as pure functions of plain arrays: no database, no web. crm.ranking.service feeds
them and stores what they return; explanations call the same functions, so a shown breakdown adds up
to the stored score.

- reach: per identity, followers × the platform's weight, or a flat amount for platforms that carry
  no audience (e-mail, a forum account); summed per person.
- advocacy: Σ weight(kind) × (1 + s × sentiment) × decay^(months since), over contributions.
- influence: weighted PageRank × number of people (1.0 is the average person).
- percentile: the share of the other people with a strictly lower value (0 = nobody below, 1 = everyone).
- combined score: 100 × Σ wₖ × percentileₖ / Σ wₖ over reach, advocacy and influence.
- level: from advocacy and the thresholds, with hysteresis (a downgrade needs two runs in a row).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from crm.profiles.stats import fold

DAYS_PER_MONTH = 30.4375
COMPONENTS = ("reach", "advocacy", "influence")
CHAMPION, ADVOCATE, CONTRIBUTOR, OBSERVER = 1, 2, 3, 4
DOWNGRADE_AFTER = 2  # consecutive computations below the threshold before a level is lost


def identity_reach(platform: str, followers: int, weights: Mapping[str, Any]) -> float:
    """What one identity adds to reach."""
    presence = weights["presence"]
    if platform in presence:
        return float(presence[platform])
    return float(weights["platforms"].get(platform, 1.0)) * max(int(followers or 0), 0)


def reach_scores(n: int, owner: np.ndarray, platforms: Sequence[str], followers: np.ndarray,
                 weights: Mapping[str, Any]) -> np.ndarray:
    """Weighted reach per person: `owner[i]` is the person (0..n-1) of identity i."""
    presence = weights["presence"]
    per_platform = weights["platforms"]
    flat = np.array([presence.get(p, np.nan) for p in platforms], dtype=np.float64)
    factor = np.array([per_platform.get(p, 1.0) for p in platforms], dtype=np.float64)
    values = np.where(np.isnan(flat), factor * np.maximum(followers, 0), flat)
    return np.bincount(owner, weights=values, minlength=n).astype(np.float64)


def contribution_points(kind_weight: np.ndarray | float, sentiment: np.ndarray | float | None,
                        age_days: np.ndarray | float, weights: Mapping[str, Any]) -> Any:
    """Advocacy points of contributions (arrays or one value): weight × sentiment factor × decay.
    Unknown sentiment (None or NaN) counts as neutral; a date in the future counts as today."""
    s = np.nan_to_num(np.asarray(np.nan if sentiment is None else sentiment, dtype=np.float64))
    factor = 1.0 + float(weights["sentiment"]) * s
    months = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0) / DAYS_PER_MONTH
    return np.asarray(kind_weight, dtype=np.float64) * factor * np.power(float(weights["monthly_decay"]), months)


def advocacy_by_period(n: int, owner: np.ndarray, kind_weight: np.ndarray, sentiment: np.ndarray,
                       age_days: np.ndarray, weights: Mapping[str, Any],
                       periods: Sequence[int]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """All-time advocacy and advocacy within each period, with each contribution's points computed once."""
    points = contribution_points(kind_weight, sentiment, age_days, weights)
    total = np.bincount(owner, weights=points, minlength=n).astype(np.float64)
    within = {days: np.bincount(owner, weights=np.where(age_days <= days, points, 0.0), minlength=n).astype(np.float64)
              for days in periods}
    return total, within


def percentiles(values: np.ndarray) -> np.ndarray:
    """For each value, the share of the other people whose value is strictly lower (0..1)."""
    n = len(values)
    if n <= 1:
        return np.zeros(n, dtype=np.float64)
    below = np.searchsorted(np.sort(values), values, side="left")
    return below / (n - 1)


def combined_score(pcts: Mapping[str, Any], component_weights: Mapping[str, float]) -> Any:
    """0..100: the weighted mean of the percentiles (arrays or single values)."""
    total = sum(float(component_weights[c]) for c in COMPONENTS)
    if total <= 0:
        raise ValueError("the component weights add up to zero")
    return 100.0 * sum(float(component_weights[c]) * np.asarray(pcts[c], dtype=np.float64) for c in COMPONENTS) / total


def level_for(advocacy: Any, thresholds: Mapping[str, float]) -> Any:
    """The level advocacy alone gives (arrays or one value): 1 champion … 4 observer."""
    a = np.asarray(advocacy, dtype=np.float64)
    level = np.where(a >= thresholds["champion"], CHAMPION,
                     np.where(a >= thresholds["advocate"], ADVOCATE,
                              np.where(a >= thresholds["contributor"], CONTRIBUTOR, OBSERVER)))
    return int(level) if level.ndim == 0 else level.astype(np.int16)


def next_levels(previous: np.ndarray, below_runs: np.ndarray, computed: np.ndarray,
                known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hysteresis. A better level applies at once; a worse one only after DOWNGRADE_AFTER computations
    in a row below the threshold (then straight to the computed level). `known` marks people who had a
    level before (the others take the computed level). Returns (levels, consecutive runs below)."""
    previous = np.where(known, previous, computed)
    worse = computed > previous
    runs = np.where(worse, below_runs + 1, 0)
    downgrade = worse & (runs >= DOWNGRADE_AFTER)
    levels = np.where(worse & ~downgrade, previous, computed)
    runs = np.where(downgrade, 0, runs)
    return levels.astype(np.int16), runs.astype(np.int32)


def to_next_level(advocacy: float, level: int, thresholds: Mapping[str, float]) -> tuple[int, float] | None:
    """(the next level up, advocacy still needed), or None for a champion."""
    if level <= CHAMPION:
        return None
    target = level - 1
    needed = thresholds[{CHAMPION: "champion", ADVOCATE: "advocate", CONTRIBUTOR: "contributor"}[target]]
    return target, max(float(needed) - float(advocacy), 0.0)


def ranks(scores: np.ndarray, eligible: np.ndarray, tiebreak: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """1 = best score among eligible people (ties: higher `tiebreak`, then lower id); 0 for the others."""
    order = np.lexsort((ids, -tiebreak, -scores))
    order = order[eligible[order]]
    result = np.zeros(len(scores), dtype=np.int64)
    result[order] = np.arange(1, len(order) + 1)
    return result


def relevance(topics: Iterable[str], text: str, wanted_topics: Iterable[str], keywords: Iterable[str]) -> float:
    """0..1: 0.6 × the share of wanted topics the person has + 0.4 × the share of keywords found in
    their text (bio, recent posts), accents and case ignored. With only one of the two, it counts alone."""
    wanted = {fold(t).strip() for t in wanted_topics if t.strip()}
    words = {fold(k).strip() for k in keywords if k.strip()}
    theirs = {fold(t).strip() for t in topics}
    haystack = fold(text)
    return relevance_of(len(wanted & theirs), len(wanted), sum(1 for w in words if w in haystack), len(words))


def relevance_of(topic_hits: int, topics: int, keyword_hits: int, keywords: int) -> float:
    """relevance() from counts (campaign discovery counts in SQL): 0.6 × topic share + 0.4 × keyword
    share; either alone when only one was asked for; 0 when nothing was."""
    topic_share = topic_hits / topics if topics else None
    keyword_share = keyword_hits / keywords if keywords else None
    if topic_share is None and keyword_share is None:
        return 0.0
    if topic_share is None:
        return float(keyword_share or 0.0)
    if keyword_share is None:
        return topic_share
    return 0.6 * topic_share + 0.4 * keyword_share
