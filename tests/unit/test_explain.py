"""Why a person has their score (crm.ranking.explain, read through crm.profiles.detail.score_panel), on a
small community built here: the score is recomputed from the explanation alone, the drivers are the
contributions worth most (scored independently here), the next level's arithmetic, the hysteresis
flag, and the trend chart's geometry. On SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlmodel import Session

from crm.charts import nice_ceiling, trend
from crm.db import session_scope, utcnow
from crm.errors import NotFound
from crm.interactions.models import Interaction
from crm.profiles.detail import level_hints, rounded_points, score_history, score_panel
from crm.profiles.models import Profile
from crm.ranking import scoring, service
from crm.ranking.models import ScoreSnapshot
from tests.score_data import community, contribute


@pytest.fixture
def people(engine):
    return community(engine)


def _stored(engine, pid):
    with Session(engine) as session:
        profile = session.get(Profile, pid)
        return profile.score, profile.advocacy, profile.level


def test_the_score_is_recomputed_from_the_explanation_alone(engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        for name, pid in people.items():
            panel = score_panel(pid, session=session)
            ex = panel.explanation
            assert ex is not None, name
            weights = ex.weights["combined"]
            total_weight = sum(weights[c] for c in scoring.COMPONENTS)
            score, _advocacy, level = _stored(engine, pid)
            # Each component's points are 100 × its weight share × its percentile ...
            for component in ex.components:
                assert component.weight == weights[component.name]
                assert component.points == pytest.approx(100 * weights[component.name] / total_weight * component.percentile,
                                                         abs=1e-9)
            # ... and they add up to the stored score, and so do the rounded ones the page shows.
            assert sum(c.points for c in ex.components) == pytest.approx(score, abs=0.01)
            assert sum(panel.shown_points) == pytest.approx(round(score, 1), abs=1e-9)
            assert ex.level == level
            snap = session.get(ScoreSnapshot, (ex.run.id, pid))
            assert [c.value for c in ex.components] == [snap.reach, snap.advocacy, snap.influence]
    with Session(engine) as session:
        dani = score_panel(people["Dani"], session=session).explanation
        bruno = score_panel(people["Bruno"], session=session).explanation
    assert dani.rank is None and dani.ranked == 4  # the team is not ranked
    assert bruno.rank is not None and 1 <= bruno.rank <= 4


def test_reach_parts_add_up_and_say_how_each_identity_counts(engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        ana = score_panel(people["Ana"], session=session)
        bruno = score_panel(people["Bruno"], session=session)
    parts = {p.platform: p for p in ana.explanation.reach_parts}
    assert parts["youtube"].counted == 500_000 and not parts["youtube"].presence and parts["youtube"].factor == 1.0
    assert parts["email"].presence and parts["email"].counted == 0  # no audience, whatever the "followers"
    assert ana.reach_counted == ana.explanation.components[0].value == 500_000
    forum = next(p for p in bruno.explanation.reach_parts if p.platform == "discourse")
    assert forum.presence and forum.counted == 100 and forum.followers == 3
    assert bruno.reach_counted == pytest.approx(bruno.explanation.components[0].value) == 1_300


def test_drivers_are_the_contributions_worth_most_scored_as_the_computation_does(engine, people):
    run = service.recompute(engine)
    with Session(engine) as session:
        ex = score_panel(people["Bruno"], session=session).explanation
        rows = session.exec(select(Interaction).where(Interaction.profile_id == people["Bruno"])).scalars().all()
    weights = ex.weights
    expected = {}
    for x in rows:
        if x.kind not in weights["kinds"]:
            continue  # notes do not count
        age = (run.as_of - x.occurred_at).total_seconds() / 86400
        expected[x.id] = float(scoring.contribution_points(weights["kinds"][x.kind], x.sentiment, age, weights))
    assert ex.contributions == len(expected) == 10
    best = sorted(expected.items(), key=lambda item: (-item[1], -item[0]))[:5]
    assert [d.interaction_id for d in ex.drivers] == [pid for pid, _ in best]
    assert [d.points for d in ex.drivers] == pytest.approx([points for _, points in best])
    assert [d.points for d in ex.drivers] == sorted((d.points for d in ex.drivers), reverse=True)
    assert ex.drivers[0].kind == "talk"  # a fresh, glowing talk: 8 × 1.4 × 0.9^(5/30.4)
    assert ex.drivers[0].points == pytest.approx(8 * (1 + 0.5 * 0.8) * 0.9 ** (5 / scoring.DAYS_PER_MONTH), rel=1e-6)
    # All of them (not just the top five) add up to the stored advocacy.
    assert sum(expected.values()) == pytest.approx(_stored(engine, people["Bruno"])[1], rel=1e-5)


def test_lenders_are_one_line_per_person_with_their_kinds(engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        carla = score_panel(people["Carla"], session=session)
    lenders = {lender.name: lender for lender in carla.lenders}
    assert set(lenders) == {"Ana", "Bruno", "Dani", "Eva"}
    assert sorted(lenders["Bruno"].kinds) == ["follows", "mentions"] and lenders["Bruno"].strength == 1.0
    influences = [lender.influence for lender in carla.lenders]
    assert influences == sorted(influences, reverse=True)


def test_next_level_says_how_many_answers_or_posts_are_missing(engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        carla = score_panel(people["Carla"], session=session)
        eva = score_panel(people["Eva"], session=session)
    _score, advocacy, level = _stored(engine, people["Carla"])
    thresholds = carla.explanation.weights["levels"]
    assert level == scoring.CONTRIBUTOR  # two answers, 40 days old: about 5.2 points
    assert carla.next_level.level == scoring.ADVOCATE
    assert carla.next_level.needed == pytest.approx(thresholds["advocate"] - advocacy)
    kinds = carla.explanation.weights["kinds"]
    assert [(h.kind, h.count) for h in carla.next_level.hints] == [
        ("forum_answer", math.ceil((thresholds["advocate"] - advocacy) / kinds["forum_answer"])),
        ("post", math.ceil((thresholds["advocate"] - advocacy) / kinds["post"])),
    ]
    assert eva.next_level.level == scoring.CONTRIBUTOR and eva.next_level.needed == thresholds["contributor"]
    assert [(h.kind, h.count) for h in eva.next_level.hints] == [("forum_answer", 1), ("post", 3)]


def test_a_champion_has_no_next_level(engine, people):
    contribute(engine, people["Bruno"], "talk", 0, n=6)
    service.recompute(engine)
    with Session(engine) as session:
        bruno = score_panel(people["Bruno"], session=session)
    assert bruno.explanation.level == scoring.CHAMPION and bruno.next_level is None and not bruno.level_held


def _hints(needed, kinds):
    return [(h.kind, h.count) for h in level_hints(needed, kinds)]


def test_level_hints_arithmetic():
    assert _hints(10.4, {"forum_answer": 3.0, "post": 1.0}) == [("forum_answer", 4), ("post", 11)]
    assert _hints(9.0, {"forum_answer": 3.0, "post": 1.0}) == [("forum_answer", 3), ("post", 9)]
    # A kind that does not count is not suggested; with neither, the kind worth most is.
    assert _hints(6.0, {"forum_answer": 0.0, "post": 2.0}) == [("post", 3)]
    assert _hints(10.0, {"post": 0.0, "talk": 8.0, "review": 4.0}) == [("talk", 2)]
    assert _hints(0.0, {"post": 1.0}) == [] and _hints(5.0, {"post": 0.0}) == []


def test_a_level_kept_by_hysteresis_is_flagged(engine, people):
    contribute(engine, people["Eva"], "talk", 0, n=2)  # 16 points: advocate
    service.recompute(engine)
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction).where(Interaction.profile_id == people["Eva"]))
    service.recompute(engine)
    with Session(engine) as session:
        eva = score_panel(people["Eva"], session=session)
    assert eva.explanation.level == scoring.ADVOCATE and eva.explanation.computed_level == scoring.OBSERVER
    assert eva.level_held and eva.level_threshold == eva.explanation.weights["levels"]["advocate"]
    assert eva.next_level.level == scoring.CHAMPION  # from the level kept
    service.recompute(engine)
    with Session(engine) as session:
        eva = score_panel(people["Eva"], session=session)
    assert eva.explanation.level == scoring.OBSERVER and not eva.level_held


def test_before_any_computation_there_is_nothing_to_explain(engine, people):
    with Session(engine) as session:
        panel = score_panel(people["Ana"], session=session)
        assert score_history(people["Ana"], session=session) == []
        with pytest.raises(NotFound):
            score_panel(999_999, session=session)
        with pytest.raises(NotFound):
            score_history(999_999, session=session)
    assert not panel.computed and panel.explanation is None and panel.history == [] and panel.next_level is None
    assert panel.score_chart is None and panel.advocacy_chart is None


def test_history_has_a_point_per_computation_and_a_chart_from_two(engine, people):
    now = utcnow()
    service.recompute(engine, as_of=now - timedelta(days=60))
    with Session(engine) as session:
        one = score_panel(people["Bruno"], session=session)
    assert len(one.history) == 1 and one.score_chart is None  # a single point is no trend
    service.recompute(engine, as_of=now - timedelta(days=30))
    service.recompute(engine, as_of=now)
    with Session(engine) as session:
        panel = score_panel(people["Bruno"], session=session)
        history = score_history(people["Bruno"], session=session)
    assert [h.as_of for h in panel.history] == sorted(h.as_of for h in panel.history) and len(history) == 3
    chart = panel.score_chart
    assert chart.points == 3 and chart.top == 100 and chart.first == history[0].as_of and chart.last == history[-1].as_of
    assert chart.start == pytest.approx(history[0].score) and chart.end == pytest.approx(history[-1].score)
    assert panel.advocacy_chart.top >= max(h.advocacy for h in history)


def test_nice_ceilings_and_trend_geometry():
    assert [nice_ceiling(v) for v in (0, 0.4, 1, 1.2, 3, 7, 10, 11, 24, 26, 99, 101, 4_999)] == [
        1, 1, 1, 2, 5, 10, 10, 20, 25, 50, 100, 200, 5_000]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert trend([(start, 5.0)]) is None and trend([]) is None
    chart = trend([(start, 0.0), (start + timedelta(days=1), 50.0), (start + timedelta(days=4), 100.0)], top=100)
    # x by time (day 1 of 4 is a quarter of the width), y from the bottom line (0) to the top line (100).
    assert chart.line == "M0,114 L150,60 L600,6"
    assert chart.area == "M0,114 L150,60 L600,6 L600,114 L0,114 Z"
    assert chart.grid == [6, 60, 114] and (chart.low, chart.high, chart.points) == (0, 100, 3)
    flat = trend([(start, 7.0), (start, 7.0)])  # two runs at the same moment: no division by zero
    assert flat is not None and flat.top == 10


def test_rounded_points_always_add_up_to_the_rounded_score():
    assert rounded_points([9.83277, 27.0903, 5.35118], 42.27425) == [9.8, 27.1, 5.4]
    assert sum(rounded_points([16.66666, 16.66666, 16.66667], 49.99999)) == pytest.approx(50.0)
    assert rounded_points([0.0, 0.0, 0.0], 0.0) == [0.0, 0.0, 0.0]
    assert sum(rounded_points([33.35, 33.35, 33.3], 100.0)) == pytest.approx(100.0)
    assert sum(rounded_points([0.04, 0.04, 0.04], 0.12)) == pytest.approx(0.1)
