"""The pure scoring functions (crm.ranking.scoring): every formula of DESIGN.md's Scores section,
checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from crm.ranking import scoring
from crm.ranking.models import LevelThresholds, Weights

W = Weights().model_dump(mode="json")
T = {"champion": 50.0, "advocate": 15.0, "contributor": 3.0}


def test_identity_reach_counts_followers_times_weight_or_a_flat_presence():
    weights = {**W, "platforms": {**W["platforms"], "youtube": 2.0}, "presence": {"email": 0.0, "discourse": 100.0}}
    assert scoring.identity_reach("youtube", 1000, weights) == 2000.0
    assert scoring.identity_reach("x", 1000, weights) == 1000.0
    assert scoring.identity_reach("discourse", 3, weights) == 100.0  # a forum account: its own weight, not 3
    assert scoring.identity_reach("email", 5000, weights) == 0.0
    assert scoring.identity_reach("x", -5, weights) == 0.0
    assert scoring.identity_reach("unknown-platform", 7, weights) == 7.0  # no weight given: 1 per follower
    assert scoring.identity_reach("x", None, weights) == 0.0  # followers unknown
    assert scoring.identity_reach("x", 0, weights) == 0.0


def test_reach_scores_sum_identities_per_person():
    weights = {**W, "platforms": {"x": 1.0, "youtube": 0.5}, "presence": {"discourse": 100.0}}
    owner = np.array([0, 0, 2, 2])
    reach = scoring.reach_scores(3, owner, ["x", "youtube", "discourse", "x"], np.array([10.0, 100.0, 3.0, 7.0]), weights)
    assert reach.tolist() == [60.0, 0.0, 107.0]
    # A platform without a weight counts 1 per follower; no followers (or a negative count) count nothing.
    other = scoring.reach_scores(2, np.array([0, 0, 1]), ["tiktok", "x", "x"], np.array([40.0, 0.0, -5.0]), weights)
    assert other.tolist() == [40.0, 0.0]
    nobody_last = scoring.reach_scores(3, np.array([0]), ["x"], np.array([5.0]), weights)
    assert nobody_last.tolist() == [5.0, 0.0, 0.0]  # a row for everyone, identities or not


def test_contribution_points_weight_sentiment_and_monthly_decay():
    weights = {**W, "sentiment": 0.5, "monthly_decay": 0.9}
    assert scoring.contribution_points(3.0, None, 0.0, weights) == pytest.approx(3.0)
    assert scoring.contribution_points(3.0, float("nan"), 0.0, weights) == pytest.approx(3.0)
    assert scoring.contribution_points(3.0, 1.0, 0.0, weights) == pytest.approx(4.5)
    assert scoring.contribution_points(3.0, -1.0, 0.0, weights) == pytest.approx(1.5)
    month = scoring.DAYS_PER_MONTH
    assert scoring.contribution_points(2.0, 0.0, month, weights) == pytest.approx(1.8)
    assert scoring.contribution_points(2.0, 0.5, 2 * month, weights) == pytest.approx(2.0 * 1.25 * 0.81)
    assert scoring.contribution_points(2.0, None, -40.0, weights) == pytest.approx(2.0)  # the future counts as today


def test_advocacy_adds_points_per_person_and_periods_cut_by_age():
    weights = {**W, "sentiment": 0.5, "monthly_decay": 0.9}
    owner = np.array([1, 1, 0, 1, 1])
    kind_weight = np.array([1.0, 3.0, 8.0, 2.0, 5.0])
    sentiment = np.array([np.nan, 1.0, -1.0, 0.0, 0.5])
    age = np.array([0.0, 10.0, 100.0, 400.0, 30.0])
    total, within = scoring.advocacy_by_period(3, owner, kind_weight, sentiment, age, weights, (30, 365))
    expected = [scoring.contribution_points(k, s, a, weights) for k, s, a in zip(kind_weight, sentiment, age, strict=True)]
    assert len(total) == 3 and total[2] == 0.0  # nobody's contributions still get a row
    assert total[0] == pytest.approx(expected[2])
    assert total[1] == pytest.approx(expected[0] + expected[1] + expected[3] + expected[4])
    # The period includes its last day: a contribution exactly 30 days old counts for 30 days.
    assert within[30].tolist() == pytest.approx([0.0, expected[0] + expected[1] + expected[4], 0.0])
    assert within[365].tolist() == pytest.approx([expected[2], expected[0] + expected[1] + expected[4], 0.0])
    assert expected[1] == pytest.approx(3.0 * 1.5 * 0.9 ** (10 / scoring.DAYS_PER_MONTH))  # sentiment counted


def test_percentile_is_the_share_of_others_strictly_below():
    values = np.array([0.0, 0.0, 5.0, 10.0, 10.0, 20.0])
    assert scoring.percentiles(values).tolist() == pytest.approx([0.0, 0.0, 0.4, 0.6, 0.6, 1.0])
    assert scoring.percentiles(np.array([3.0])).tolist() == [0.0]
    assert scoring.percentiles(np.array([2.0, 1.0])).tolist() == [1.0, 0.0]
    assert scoring.percentiles(np.array([], dtype=float)).tolist() == []


def test_combined_score_is_the_weighted_mean_of_percentiles():
    pcts = {"reach": 1.0, "advocacy": 0.5, "influence": 0.0}
    assert scoring.combined_score(pcts, {"reach": 0.3, "advocacy": 0.5, "influence": 0.2}) == pytest.approx(55.0)
    assert scoring.combined_score(pcts, {"reach": 3, "advocacy": 5, "influence": 2}) == pytest.approx(55.0)
    assert scoring.combined_score(pcts, {"reach": 0, "advocacy": 1, "influence": 0}) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        scoring.combined_score(pcts, {"reach": 0, "advocacy": 0, "influence": 0})


def test_level_thresholds_are_inclusive():
    assert scoring.level_for(50.0, T) == 1 and isinstance(scoring.level_for(50.0, T), int)
    assert scoring.level_for(49.99, T) == 2
    assert scoring.level_for(15.0, T) == 2
    assert scoring.level_for(14.99, T) == 3
    assert scoring.level_for(3.0, T) == 3
    assert scoring.level_for(2.99, T) == 4
    assert scoring.level_for(0.0, T) == 4
    assert scoring.level_for(np.array([60.0, 20.0, 5.0, 0.0]), T).tolist() == [1, 2, 3, 4]


def test_hysteresis_upgrades_at_once_and_downgrades_after_two_runs_below():
    def step(previous, runs, computed, known=True):
        levels, below = scoring.next_levels(np.array([previous]), np.array([runs]), np.array([computed]),
                                            np.array([known]))
        return int(levels[0]), int(below[0])

    assert step(3, 0, 1) == (1, 0)  # better: at once
    assert step(2, 1, 2) == (2, 0)  # back at the level: the count restarts
    assert step(1, 0, 3) == (1, 1)  # first run below: kept
    assert step(1, 1, 3) == (3, 0)  # second in a row: down to what advocacy gives
    assert step(1, 1, 1) == (1, 0)
    assert step(4, 0, 2, known=False) == (2, 0)  # first computation: no history to hold
    assert step(2, 0, 4, known=False) == (4, 0)
    # A whole series: 1, below, below -> dropped on the second; then up again at once.
    level, runs = 1, 0
    seen = []
    for computed in (1, 3, 3, 3, 2):
        level, runs = step(level, runs, computed)
        seen.append(level)
    assert seen == [1, 1, 3, 3, 2]


def test_to_next_level():
    assert scoring.to_next_level(60.0, 1, T) is None
    assert scoring.to_next_level(20.0, 2, T) == (1, 30.0)
    assert scoring.to_next_level(5.0, 3, T) == (2, 10.0)
    assert scoring.to_next_level(1.0, 4, T) == (3, 2.0)
    assert scoring.to_next_level(16.0, 3, T) == (2, 0.0)  # held down by nothing but the next run


def test_ranks_order_by_score_then_tiebreak_then_id_and_skip_the_ineligible():
    scores = np.array([50.0, 80.0, 80.0, 10.0, 90.0])
    eligible = np.array([True, True, True, True, False])
    tiebreak = np.array([0.0, 1.0, 2.0, 0.0, 0.0])
    ids = np.array([1, 2, 3, 4, 5])
    result = scoring.ranks(scores, eligible, tiebreak, ids)
    assert result.tolist() == [3, 2, 1, 4, 0] and result.dtype.kind == "i"
    same = scoring.ranks(np.array([5.0, 5.0]), np.array([True, True]), np.array([1.0, 1.0]), np.array([9, 4]))
    assert same.tolist() == [2, 1]


def test_relevance_mixes_topic_overlap_and_keywords_ignoring_accents():
    assert scoring.relevance(["APIs", "diseño"], "Hablo de Kubernetes", ["apis", "diseno"], ["kubernetes", "rust"]) \
        == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)
    assert scoring.relevance(["rust"], "", ["rust", "go"], []) == pytest.approx(0.5)
    assert scoring.relevance([], "Café y código", [], ["cafe"]) == pytest.approx(1.0)
    assert scoring.relevance(["x"], "y", [], []) == 0.0
    assert scoring.relevance([], "nothing here", [], ["rust"]) == 0.0  # keywords only, none found
    assert scoring.relevance([], "", ["a"], ["b"]) == 0.0


def test_weights_refuse_nonsense():
    with pytest.raises(ValidationError):
        Weights.model_validate({"combined": {"reach": 0, "advocacy": 0, "influence": 0}})
    with pytest.raises(ValidationError):
        LevelThresholds(champion=10, advocate=20, contributor=1)
    with pytest.raises(ValidationError):
        Weights.model_validate({"kinds": {"note": 1}})  # not a contribution
    with pytest.raises(ValidationError):
        Weights.model_validate({"kinds": {"post": -1}})
    with pytest.raises(ValidationError):
        Weights.model_validate({"platforms": {"x": 1}, "presence": {"x": 5}})
    with pytest.raises(ValidationError):
        Weights.model_validate({"monthly_decay": 0})
    with pytest.raises(ValidationError):
        Weights.model_validate({"surprise": 1})
    ok = Weights.model_validate({"kinds": {"talk": 10}, "levels": {"champion": 100, "advocate": 20, "contributor": 2}})
    assert ok.kinds["talk"] == 10 and ok.kinds["post"] == 1.0 and ok.levels.champion == 100  # the rest: defaults
    moved = Weights.model_validate({"platforms": {"discourse": 0.5}, "presence": {}})
    assert moved.platforms["discourse"] == 0.5 and "discourse" not in moved.presence and moved.presence["email"] == 0
    assert moved.platforms["x"] == 1.0
    assert math.isclose(Weights().combined.reach + Weights().combined.advocacy + Weights().combined.influence, 1.0)
