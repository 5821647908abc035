"""Large graphs never run Louvain on a request: the communities job computes and stores them, and pages
use the stored ones (marked stale after a change) until the job has run again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from crm.db import session_scope
from crm.graph import service as graph
from crm.graph.models import GraphPartition
from crm.interactions.models import Relationship
from crm.jobs import service as jobs
from crm.ranking.schedule import rank_tick
from tests.factories import make_profile


@pytest.fixture(autouse=True)
def _large(monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(graph, "INLINE_PAIRS", 3)  # anything above three pairs counts as large here
    graph.clear_cache()
    yield
    graph.clear_cache()


def _link(engine, *pairs) -> None:
    with session_scope(engine, write=True) as session:
        for source, target in pairs:
            session.add(Relationship(source_id=source, target_id=target, kind="knows", strength=1.0))


def test_the_job_computes_what_requests_never_do(engine, settings, monkeypatch):
    ids = [make_profile(engine, f"P{i}").id for i in range(8)]
    # Two cliques of four, joined by nothing.
    _link(engine, *[(a, b) for group in (ids[:4], ids[4:]) for a in group for b in group if a < b])
    calls = []
    real = graph.louvain
    monkeypatch.setattr(graph, "louvain", lambda pairs, **kw: calls.append(len(pairs)) or real(pairs, **kw))

    with Session(engine) as session:
        before = graph.explore(session=session)
        assert graph.communities_due(session=session)
    assert calls == [] and before.communities_stale and before.nodes == []  # nothing stored yet: none drawn

    rank_tick(engine, settings)()  # the worker's periodic check queues the job (and a first recompute)
    with Session(engine) as session:
        assert not graph.communities_due(session=session)  # queued already: not twice
    assert jobs.run_pending(engine) == 2
    assert calls == [12]
    with Session(engine) as session:
        stored = session.exec(select(GraphPartition)).all()
        assert len(stored) == 1 and sorted(map(sorted, stored[0].communities)) == [sorted(ids[:4]), sorted(ids[4:])]
        after = graph.explore(session=session)
        assert not after.communities_stale and len(after.nodes) == 8 and after.community_count == 2
        assert not graph.communities_due(session=session)

    newcomer = make_profile(engine, "Newcomer").id
    _link(engine, (newcomer, ids[0]))
    with Session(engine) as session:
        stale = graph.explore(session=session)
        assert stale.communities_stale and len(stale.nodes) == 8  # the old communities, the newcomer not yet
        assert graph.communities_due(session=session)
    graph.refresh_communities(engine)
    with Session(engine) as session:
        fresh = graph.explore(session=session)
        assert not fresh.communities_stale and len(fresh.nodes) == 9
        assert len(session.exec(select(GraphPartition)).all()) == 1  # older partitions are removed
    assert calls == [12, 13]


def test_small_graphs_are_still_partitioned_where_needed(engine, monkeypatch):
    monkeypatch.setattr(graph, "INLINE_PAIRS", 100)
    a, b = (make_profile(engine, n).id for n in ("A", "B"))
    _link(engine, (a, b))
    with Session(engine) as session:
        explored = graph.explore(session=session)
        assert not explored.communities_stale and len(explored.nodes) == 2
        assert not graph.communities_due(session=session)
