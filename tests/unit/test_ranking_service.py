"""Computing, storing and scheduling scores (crm.ranking.service and boards) on a small community whose
answers are known, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import networkx as nx
import numpy as np
import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.errors import Conflict
from crm.interactions.models import Interaction, Relationship
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.profiles.models import Identity, Profile
from crm.ranking import boards, scoring, service
from crm.ranking.explain import explain
from crm.ranking.models import ScoreRun, ScoreSnapshot, Weights, WeightSet, WeightSetIn
from crm.relationships.service import refresh_derived_edges
from tests.factories import make_profile


def _identity(engine, pid, platform, handle, followers):
    with session_scope(engine, write=True) as session:
        session.add(Identity(profile_id=pid, platform=platform, handle=handle, handle_key=handle.lower(),
                             followers=followers))


def _contribute(engine, pid, kind, days_ago, n=1, sentiment=None, counterpart=None):
    with session_scope(engine, write=True) as session:
        for _ in range(n):
            session.add(Interaction(profile_id=pid, kind=kind, occurred_at=utcnow() - timedelta(days=days_ago),
                                    sentiment=sentiment, counterpart_id=counterpart))


def _edge(engine, source, target, kind="follows", strength=1.0):
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=source, target_id=target, kind=kind, strength=strength,
                                 first_seen=utcnow() - timedelta(days=400)))


@pytest.fixture
def community(engine):
    """Ana has the audience, Bruno contributes most, Carla is the one everybody follows, Dani is on the
    team (and contributes), Eva has done nothing."""
    people = {name: make_profile(engine, name, is_team_member=(name == "Dani")).id
              for name in ("Ana", "Bruno", "Carla", "Dani", "Eva")}
    _identity(engine, people["Ana"], "youtube", "ana", 500_000)
    _identity(engine, people["Ana"], "email", "ana@example.com", 9_999_999)  # no audience: counts 0
    _identity(engine, people["Bruno"], "discourse", "bruno", 3)  # counts 100 (presence)
    _identity(engine, people["Carla"], "x", "carla", 2_000)
    _identity(engine, people["Dani"], "x", "dani", 50)
    _contribute(engine, people["Bruno"], "talk", 5, n=8)  # 64 points, fresh: champion
    _contribute(engine, people["Carla"], "forum_answer", 40, n=2)
    _contribute(engine, people["Dani"], "post", 1, n=20)
    _contribute(engine, people["Ana"], "note", 1, n=5)  # not a contribution
    for follower in ("Ana", "Bruno", "Dani", "Eva"):
        _edge(engine, people[follower], people["Carla"])
    _edge(engine, people["Carla"], people["Bruno"], kind="collaborates", strength=0.5)
    return people


def _profiles(engine) -> dict[str, Profile]:
    with Session(engine) as session:
        return {p.display_name: p for p in session.exec(select(Profile)).scalars()}


def test_recompute_stores_scores_on_people_and_a_snapshot(engine, community):
    before = _profiles(engine)
    run = service.recompute(engine, trigger="test")
    assert run.status == "done" and run.profiles == 5 and run.edges == 5 and run.interactions == 30
    assert run.weight_version == 1 and run.trigger == "test" and run.finished_at is not None
    people = _profiles(engine)
    weights = Weights().model_dump(mode="json")
    with Session(engine) as session:
        snaps = {s.profile_id: s for s in session.exec(select(ScoreSnapshot).where(ScoreSnapshot.run_id == run.id)).scalars()}
    assert len(snaps) == 5
    ana, bruno, carla, dani, eva = (people[n] for n in ("Ana", "Bruno", "Carla", "Dani", "Eva"))
    assert snaps[ana.id].reach == 500_000 and snaps[bruno.id].reach == 100 and snaps[dani.id].reach == 50
    assert bruno.advocacy == pytest.approx(8 * 8 * 0.9 ** (5 / scoring.DAYS_PER_MONTH), rel=1e-4)
    assert ana.advocacy == 0 and eva.advocacy == 0
    assert (bruno.level, carla.level, dani.level, ana.level) == (1, 3, 2, 4)
    # Influence: Carla, followed by everyone, first; it is PageRank × n on the weighted graph.
    graph = nx.DiGraph()
    graph.add_nodes_from(p.id for p in people.values())
    for name in ("Ana", "Bruno", "Dani", "Eva"):
        graph.add_edge(people[name].id, carla.id, weight=weights["edges"]["follows"] * 1.0)
    graph.add_edge(carla.id, bruno.id, weight=weights["edges"]["collaborates"] * 0.5)
    expected = nx.pagerank(graph, alpha=0.85, tol=1e-12, max_iter=1000)
    for p in people.values():
        assert p.influence == pytest.approx(expected[p.id] * 5, abs=1e-5)
    assert carla.influence == max(p.influence for p in people.values())
    # The combined score is the weighted mean of the stored percentiles, and ranks skip the team.
    for p in people.values():
        s = snaps[p.id]
        pcts = {"reach": s.reach_pct, "advocacy": s.advocacy_pct, "influence": s.influence_pct}
        assert p.score == pytest.approx(scoring.combined_score(pcts, weights["combined"]), abs=1e-5)
    assert dani.score_rank is None and snaps[dani.id].rank is None
    ranked = sorted((p for p in people.values() if p.score_rank), key=lambda p: p.score_rank)
    assert [p.score_rank for p in ranked] == [1, 2, 3, 4]
    assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)
    assert ranked[-1].display_name == "Eva"
    # Scores do not touch the time a person was last edited.
    assert all(people[n].updated_at == before[n].updated_at for n in people)
    assert all(p.scored_at is not None for p in people.values())


def test_a_community_imported_only_as_interactions_is_ranked(engine):
    ids = [make_profile(engine, f"P{i}").id for i in range(4)]
    for source in ids[1:]:
        _contribute(engine, source, "reply", 3, n=4, counterpart=ids[0])
    with engine.begin() as conn:
        refresh_derived_edges(conn, ids)
    service.recompute(engine)
    people = _profiles(engine)
    assert people["P0"].influence == max(p.influence for p in people.values())
    assert people["P0"].influence > 2 * people["P1"].influence


def test_as_of_counts_only_what_had_happened(engine, community):
    run = service.recompute(engine, as_of=utcnow() - timedelta(days=20))
    with Session(engine) as session:
        snaps = {s.profile_id: s for s in session.exec(select(ScoreSnapshot).where(ScoreSnapshot.run_id == run.id)).scalars()}
    assert snaps[community["Bruno"]].advocacy == 0  # his talks were 5 days ago
    assert snaps[community["Carla"]].advocacy > 0  # her answers were 40 days ago
    assert run.interactions == 2


def test_period_advocacy_is_stored_per_snapshot(engine, community):
    run = service.recompute(engine)
    with Session(engine) as session:
        carla = session.get(ScoreSnapshot, (run.id, community["Carla"]))
        bruno = session.get(ScoreSnapshot, (run.id, community["Bruno"]))
    assert carla.advocacy_30 == 0 and carla.advocacy_90 == pytest.approx(carla.advocacy) and carla.advocacy_365 > 0
    assert bruno.advocacy_30 == pytest.approx(bruno.advocacy)


def test_levels_drop_only_after_two_computations_below(engine, community):
    bruno = community["Bruno"]
    service.recompute(engine)
    assert _profiles(engine)["Bruno"].level == 1
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction).where(Interaction.profile_id == bruno))
    service.recompute(engine)
    held = _profiles(engine)["Bruno"]
    assert (held.level, held.level_below_runs, held.advocacy) == (1, 1, 0)
    service.recompute(engine)
    dropped = _profiles(engine)["Bruno"]
    assert (dropped.level, dropped.level_below_runs) == (4, 0)
    _contribute(engine, bruno, "talk", 0, n=2)  # 16 points: advocate at once
    service.recompute(engine)
    assert _profiles(engine)["Bruno"].level == 2


def test_weight_sets_are_versioned_one_active_and_audited(engine, community):
    service.recompute(engine)
    with session_scope(engine, write=True) as session:
        data = WeightSetIn(name="Audience first", weights=Weights.model_validate(
            {"combined": {"reach": 1, "advocacy": 0, "influence": 0}}))
        created = service.create_weight_set(data, session=session, actor=SYSTEM)
        new_id, version = created.id, created.version
    assert version == 2
    with Session(engine) as session:
        sets = {w.version: w for w in service.list_weight_sets(session=session)}
        assert sets[1].active and not sets[2].active
        actions = [e.action for e in session.exec(select(AuditEvent)).scalars()]
    assert "weights.create" in actions
    with session_scope(engine, write=True) as session:
        service.activate(new_id, session=session, actor=SYSTEM)
    with Session(engine) as session:
        sets = {w.version: w for w in service.list_weight_sets(session=session)}
        assert sets[2].active and not sets[1].active and sets[2].activated_at is not None
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "weights.activate")).scalars().one()
        assert event.object_id == new_id and event.before == {"version": 1} and event.after == {"version": 2}
    with session_scope(engine, write=True) as session, pytest.raises(Conflict):
        service.activate(new_id, session=session, actor=SYSTEM)
    run = service.recompute(engine)
    assert run.weight_version == 2
    assert _profiles(engine)["Ana"].score_rank == 1  # the biggest audience now leads


def test_the_database_refuses_two_active_weight_sets(engine, community):
    with engine.begin() as conn:
        service.ensure_active(conn)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(WeightSet.__table__).values(version=9, name="", note="", weights={}, active=True,
                                                        created_at=utcnow()))


def test_preview_shows_movers_without_writing(engine, community):
    service.recompute(engine)
    stored = {n: (p.score, p.score_rank) for n, p in _profiles(engine).items()}
    weights = Weights.model_validate({"combined": {"reach": 1, "advocacy": 0, "influence": 0}}).model_dump(mode="json")
    with Session(engine) as session:
        result = boards.preview(weights, session=session)
    assert result.people == 4
    assert result.top_after[0].name == "Ana" and result.top_after[0].rank_after == 1
    ana = next(r for r in result.up if r.name == "Ana")
    assert ana.moved == ana.rank_before - 1 > 0
    assert all(r.rank_after > r.rank_before for r in result.down)
    assert result.moved_up == len(result.up) and result.moved_down == len(result.down)
    assert {n: (p.score, p.score_rank) for n, p in _profiles(engine).items()} == stored


def test_leaderboards_filter_and_leave_the_team_out(engine, community):
    service.recompute(engine)
    with Session(engine) as session:
        overall = boards.leaderboard(boards.BoardQuery(), session=session)
        with_team = boards.leaderboard(boards.BoardQuery(include_team=True), session=session)
        month = boards.leaderboard(boards.BoardQuery(period="30"), session=session)
        quarter = boards.leaderboard(boards.BoardQuery(period="90", include_team=True), session=session)
        paged = boards.leaderboard(boards.BoardQuery(per_page=2, page=2), session=session)
    assert [r.name for r in overall.rows] == [p.display_name for p in sorted(
        (p for p in _profiles(engine).values() if p.score_rank), key=lambda p: p.score_rank)]
    assert "Dani" not in [r.name for r in overall.rows] and "Dani" in [r.name for r in with_team.rows]
    assert [r.name for r in month.rows] == ["Bruno"]
    assert [r.name for r in quarter.rows] == ["Bruno", "Dani", "Carla"]  # 64, 20 and 5 points
    assert [r.position for r in paged.rows] == [3, 4] and paged.total == 4 and paged.pages == 2


def test_rising_and_slipping_compare_with_an_earlier_run(engine, community):
    service.recompute(engine, as_of=utcnow() - timedelta(days=31))
    with session_scope(engine, write=True) as session:  # Carla's answers 40 days ago made her... nothing new
        session.execute(delete(Interaction).where(Interaction.profile_id == community["Bruno"]))
    _contribute(engine, community["Eva"], "talk", 2, n=10)
    service.recompute(engine)
    with Session(engine) as session:
        up = boards.rising(session=session)
        down = boards.slipping(session=session)
    assert up[0].name == "Eva" and up[0].change > 0
    assert all(m.change > 0 for m in up)
    # Bruno had no advocacy 31 days ago (his talks were 5 days ago): nobody was a champion then.
    assert down == []


def test_tick_queues_a_recompute_when_something_changed(engine, community):
    first = service.tick(engine)
    assert first is not None
    assert service.tick(engine) is None  # one is waiting already
    assert jobs.run_pending(engine) == 1
    with Session(engine) as session:
        job = session.get(Job, first)
        assert job.status == "done" and job.counts["people"] == 5
    assert service.tick(engine) is None  # nothing changed since
    _contribute(engine, community["Eva"], "post", 0)
    assert service.tick(engine) is not None
    jobs.run_pending(engine)
    assert service.tick(engine, after_changes=False) is None
    with engine.begin() as conn:  # the last run is old: the schedule asks for one
        conn.execute(update(ScoreRun.__table__).values(started_at=utcnow() - timedelta(hours=25)))
    assert service.tick(engine, after_changes=False, every_hours=24) is not None
    assert service.tick(engine, after_changes=False, every_hours=0) is None  # one waits already


def test_editing_a_profile_or_the_weights_changes_the_signature(engine, community):
    with engine.connect() as conn:
        before = service.inputs_signature(conn)
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == community["Eva"]).values(
            is_team_member=True, updated_at=utcnow() + timedelta(seconds=5)))
    with engine.connect() as conn:
        after_edit = service.inputs_signature(conn)
    assert after_edit != before
    with session_scope(engine, write=True) as session:
        created = service.create_weight_set(WeightSetIn(), session=session, actor=SYSTEM)
        service.activate(created.id, session=session, actor=SYSTEM)
    with engine.connect() as conn:
        assert service.inputs_signature(conn) != after_edit


def test_old_runs_are_pruned_to_one_per_day(engine, community):
    now = utcnow()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)  # whatever the time of day the test runs
    times = [noon - timedelta(days=10, hours=3), noon - timedelta(days=10) + timedelta(hours=1),
             noon - timedelta(days=9), now]
    for as_of in times:
        service.recompute(engine, as_of=as_of)
    with Session(engine) as session:
        kept = sorted(r.as_of for r in session.exec(select(ScoreRun)).scalars())
        snapshots = len(session.exec(select(ScoreSnapshot)).all())
    assert kept == times[1:]  # 09:00 ten days ago was not the last run of its day
    assert snapshots == 3 * 5


def test_explanation_points_add_up_to_the_score(engine, community):
    service.recompute(engine)
    with Session(engine) as session:
        for pid in community.values():
            ex = explain(pid, session=session)
            profile = session.get(Profile, pid)
            assert ex.total_points == pytest.approx(profile.score, abs=1e-4)
            assert sum(c.share for c in ex.components) == pytest.approx(1.0)
    with Session(engine) as session:
        bruno = explain(community["Bruno"], session=session)
    assert [d.kind for d in bruno.drivers] == ["talk"] * 5 and bruno.contributions == 8
    assert bruno.drivers[0].points == pytest.approx(8 * 0.9 ** (5 / scoring.DAYS_PER_MONTH), rel=1e-3)
    assert np.isclose(sum(d.points for d in bruno.drivers) * 8 / 5, _profiles(engine)["Bruno"].advocacy, rtol=1e-3)


# ---- one computation at a time; a killed one leaves nothing that counts ---------------------------


def _run_row(engine, **values) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(ScoreRun.__table__).values(
            weight_version=1, as_of=utcnow(), status="running", trigger="test", profiles=0, edges=0, interactions=0,
            iterations=0, seconds=0.0, signature="", started_at=utcnow(), **values).returning(ScoreRun.id)).scalar_one()


def test_a_second_computation_waits_for_the_running_one(engine, community):
    _run_row(engine, heartbeat_at=utcnow())  # someone else's, alive
    with pytest.raises(service.RecomputeBusy):
        service.recompute(engine)
    with engine.connect() as conn:
        assert service.recompute_due(conn, every_hours=24, after_changes=True) is None  # not while it runs


def test_a_dead_run_is_failed_its_snapshots_removed_and_it_does_not_count(engine, community):
    service.recompute(engine)
    with Session(engine) as session:
        first_levels = {p.id: p.level for p in session.exec(select(Profile)).scalars()}
    # A killed run: half its snapshots written, some profiles changed, no heartbeat for ten minutes.
    dead = _run_row(engine, heartbeat_at=utcnow() - timedelta(minutes=10))
    with engine.begin() as conn:
        conn.execute(insert(ScoreSnapshot.__table__).values(
            run_id=dead, profile_id=community["Bruno"], reach=0, reach_pct=0, advocacy=0, advocacy_pct=0, influence=0,
            influence_pct=0, score=0, rank=None, level=4, level_below_runs=1, advocacy_30=0, advocacy_90=0,
            advocacy_365=0))
        # as the computation writes them: its score columns only, updated_at kept
        conn.execute(update(Profile.__table__).where(Profile.id == community["Bruno"]).values(
            level_below_runs=1, updated_at=Profile.__table__.c.updated_at))
    with engine.connect() as conn:  # the last *finished* run's signature still matches: nothing due
        assert service.recompute_due(conn, every_hours=24, after_changes=True) is None
        latest = conn.execute(select(func.max(Profile.__table__.c.updated_at))).scalar_one()
        conn.execute(update(Profile.__table__).where(Profile.id == community["Eva"]).values(
            updated_at=latest + timedelta(microseconds=1)))
        conn.commit()  # an edit a microsecond after the last one still counts as a change
        assert service.recompute_due(conn, every_hours=24, after_changes=True) == "changed"
    with session_scope(engine, write=True) as session:  # Bruno drops below every threshold
        session.execute(delete(Interaction).where(Interaction.profile_id == community["Bruno"]))
    run = service.recompute(engine)
    with Session(engine) as session:
        assert session.get(ScoreRun, dead).status == "failed"
        assert session.exec(select(ScoreSnapshot).where(ScoreSnapshot.run_id == dead)).all() == []
        bruno = session.get(Profile, community["Bruno"])
    # The dead run's count does not make this the second computation below: the level is kept once.
    assert (bruno.level, bruno.level_below_runs) == (first_levels[community["Bruno"]], 1) == (1, 1)
    assert run.status == "done"


def test_ranks_stay_whole_after_runs_one_after_another_with_other_weights(engine, community):
    service.recompute(engine)
    with session_scope(engine, write=True) as session:
        created = service.create_weight_set(WeightSetIn(weights=Weights.model_validate(
            {"combined": {"reach": 1, "advocacy": 0, "influence": 0}})), session=session, actor=SYSTEM)
        service.activate(created.id, session=session, actor=SYSTEM)
    service.recompute(engine)
    ranks = sorted(p.score_rank for p in _profiles(engine).values() if p.score_rank)
    assert ranks == [1, 2, 3, 4]


def test_the_rank_job_waits_for_a_running_computation(engine, community, monkeypatch):
    run = _run_row(engine, heartbeat_at=utcnow())
    monkeypatch.setattr(service, "JOB_POLL_SECONDS", 0.05)
    calls = []
    real_sleep = service.time.sleep

    def finish_the_other(seconds):
        calls.append(seconds)
        with engine.begin() as conn:  # the other computation ends while the job waits
            conn.execute(update(ScoreRun.__table__).where(ScoreRun.id == run).values(status="done"))
        real_sleep(0)

    monkeypatch.setattr(service.time, "sleep", finish_the_other)
    with session_scope(engine, write=True) as session:
        job_id = service.request_recompute(session=session).id
    assert jobs.run_pending(engine) == 1
    with Session(engine) as session:
        assert session.get(Job, job_id).status == "done" and calls


def test_new_weights_are_not_anybody_rising(engine, community):
    service.recompute(engine, as_of=utcnow() - timedelta(days=31))
    with session_scope(engine, write=True) as session:
        created = service.create_weight_set(WeightSetIn(weights=Weights.model_validate(
            {"combined": {"reach": 1, "advocacy": 0, "influence": 0}})), session=session, actor=SYSTEM)
        service.activate(created.id, session=session, actor=SYSTEM)
    service.recompute(engine)
    with Session(engine) as session:
        assert boards.rising(session=session) == []  # Ana jumped, but only because the weights changed
    service.recompute(engine)
    with Session(engine) as session:
        assert boards.rising(session=session) == []  # same weights, nothing happened
