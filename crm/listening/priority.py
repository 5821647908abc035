"""Crisis priority = negativity × reach factor × standing, each factor shown.

- negativity (0..1): how negative the mention is: -sentiment when below zero; a complaint without a
  negative label counts 0.5. Positive and neutral mentions are not on the radar.
- reach factor: 1 + log10(1 + audience), the audience being the larger of the author's followers and
  the post's own reach: 1 for nobody, 4 for a thousand, 7 for a million. A log, because a complaint
  seen by a million is not a thousand times more urgent than one seen by a thousand.
- standing: who the author is to us, from what only a CRM knows. A champion who complains is the
  first call (we may lose a defender, and people believe them), then colleagues and journalists;
  a long-time detractor's complaint is the usual; a stranger weighs 1.

Pure functions of plain data: the radar (crm.listening.radar) feeds them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Standing(StrEnum):
    champion = "champion"
    employee = "employee"
    journalist = "journalist"
    advocate = "advocate"
    contributor = "contributor"
    detractor = "detractor"
    stranger = "stranger"


STANDING_WEIGHT = {
    Standing.champion: 3.0,
    Standing.employee: 2.5,
    Standing.journalist: 2.5,
    Standing.advocate: 2.0,
    Standing.contributor: 1.5,
    Standing.stranger: 1.0,
    Standing.detractor: 0.8,
}
COMPLAINT_NEGATIVITY = 0.5
DETRACTOR_MEAN = -0.3  # mean sentiment of earlier interactions at or below this...
DETRACTOR_MIN = 3  # ...over at least this many of them: a long-time detractor


def standing_of(*, level: int, is_team_member: bool, roles: Iterable[str], earlier_mean_sentiment: float | None,
                earlier_count: int) -> Standing:
    """The first that applies: colleague, journalist, champion (level 1), long-time detractor, advocate
    (level 2), contributor (level 3), stranger."""
    if is_team_member:
        return Standing.employee
    if "journalist" in set(roles):
        return Standing.journalist
    if level == 1:
        return Standing.champion
    if earlier_count >= DETRACTOR_MIN and earlier_mean_sentiment is not None and earlier_mean_sentiment <= DETRACTOR_MEAN:
        return Standing.detractor
    if level == 2:
        return Standing.advocate
    if level == 3:
        return Standing.contributor
    return Standing.stranger


def negativity(sentiment: float | None, kind: str) -> float:
    value = -sentiment if sentiment is not None and sentiment < 0 else 0.0
    if kind == "complaint":
        value = max(value, COMPLAINT_NEGATIVITY)
    return round(min(value, 1.0), 3)


def reach_factor(audience: int) -> float:
    return round(1 + math.log10(1 + max(audience, 0)), 3)


@dataclass(frozen=True)
class Priority:
    value: float
    negativity: float
    reach_factor: float
    audience: int
    standing: Standing
    standing_weight: float


def crisis_priority(*, sentiment: float | None, kind: str, audience: int, standing: Standing) -> Priority:
    neg = negativity(sentiment, kind)
    rf = reach_factor(audience)
    weight = STANDING_WEIGHT[standing]
    return Priority(value=round(neg * rf * weight, 3), negativity=neg, reach_factor=rf, audience=audience,
                    standing=standing, standing_weight=weight)
