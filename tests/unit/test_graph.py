"""The graph service on hand-made graphs: ego networks of 1 and 2 hops, caps, communities and the explorer."""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from crm.db import session_scope
from crm.errors import NotFound
from crm.graph import service as graph
from crm.interactions.models import Relationship
from crm.profiles.models import ProfileRole
from tests.factories import make_profile


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    graph.clear_cache()
    yield
    graph.clear_cache()


def _people(engine: Engine, *names: str, **fields: object) -> list[int]:
    return [make_profile(engine, name, **fields).id or 0 for name in names]


def _link(engine: Engine, *edges: tuple[int, int, str, float], origin: str = "manual") -> None:
    with session_scope(engine, write=True) as session:
        for source, target, kind, strength in edges:
            session.add(Relationship(source_id=source, target_id=target, kind=kind, strength=strength, origin=origin))


def _session(engine: Engine) -> Session:
    return Session(engine)


def test_one_hop_has_the_neighbours_and_the_edges_among_them(engine):
    center, a, b, c, far = _people(engine, "Centre", "Ana", "Bruno", "Carla", "Far Away")
    _link(engine, (center, a, "knows", 0.9), (b, center, "follows", 0.5), (a, b, "colleague", 0.3),
          (c, far, "knows", 1.0), (center, a, "mentions", 0.2))
    with _session(engine) as session:
        ego = graph.ego_network(center, session=session, hops=1)
    assert ego.center == center and ego.hops == 1
    assert [n.id for n in ego.nodes] == [center, a, b]
    assert [n.hop for n in ego.nodes] == [0, 1, 1]
    assert {(e.source, e.target, e.kind) for e in ego.edges} == {
        (center, a, "knows"), (center, a, "mentions"), (b, center, "follows"), (a, b, "colleague")}
    assert ego.total == 2 and ego.omitted == 0
    ana, bruno = ego.neighbours
    assert (ana.name, ana.kinds, ana.direction, ana.strength) == ("Ana", ["knows", "mentions"], "out", 0.9)
    assert (bruno.name, bruno.kinds, bruno.direction) == ("Bruno", ["follows"], "in")


def test_a_link_both_ways_is_one_neighbour_marked_both(engine):
    center, a = _people(engine, "Centre", "Ana")
    _link(engine, (center, a, "follows", 0.4), (a, center, "follows", 0.6))
    with _session(engine) as session:
        ego = graph.ego_network(center, session=session)
    assert len(ego.neighbours) == 1
    assert ego.neighbours[0].direction == "both" and ego.neighbours[0].strength == 0.6


def test_two_hops_reach_friends_of_friends_through_the_strongest_link(engine):
    center, a, b, x, y = _people(engine, "Centre", "Ana", "Bruno", "Xavi", "Yolanda")
    _link(engine, (center, a, "knows", 1.0), (center, b, "knows", 0.5), (a, x, "knows", 0.2), (x, b, "knows", 0.8),
          (y, x, "knows", 1.0))
    with _session(engine) as session:
        one = graph.ego_network(center, session=session, hops=1)
        two = graph.ego_network(center, session=session, hops=2)
    assert {n.id for n in one.nodes} == {center, a, b}
    assert [(n.id, n.hop) for n in two.nodes] == [(center, 0), (a, 1), (b, 1), (x, 2)]
    xavi = two.neighbours[-1]
    assert (xavi.hop, xavi.via, xavi.via_name, xavi.strength, xavi.direction) == (2, b, "Bruno", 0.8, "in")
    assert (y not in {n.id for n in two.nodes}) and two.total == 3
    assert {(e.source, e.target) for e in two.edges} >= {(a, x), (x, b)}


def test_the_cap_keeps_the_strongest_and_says_how_many_were_left_out(engine):
    ids = _people(engine, "Centre", *[f"Person {i}" for i in range(8)])
    center, others = ids[0], ids[1:]
    _link(engine, *[(center, other, "knows", round(0.1 * (i + 1), 1)) for i, other in enumerate(others)])
    with _session(engine) as session:
        ego = graph.ego_network(center, session=session, limit=4)
    assert [n.id for n in ego.nodes] == [center, others[7], others[6], others[5]]
    assert ego.total == 8 and ego.omitted == 5
    assert all(e.source in {n.id for n in ego.nodes} and e.target in {n.id for n in ego.nodes} for e in ego.edges)


def test_the_cap_drops_second_hop_people_before_first_hop_ones(engine):
    center, a, b, x, y = _people(engine, "Centre", "Ana", "Bruno", "Xavi", "Yolanda")
    _link(engine, (center, a, "knows", 0.1), (center, b, "knows", 0.1), (a, x, "knows", 1.0), (b, y, "knows", 0.9))
    with _session(engine) as session:
        ego = graph.ego_network(center, session=session, hops=2, limit=4)
    assert [(n.id, n.hop) for n in ego.nodes] == [(center, 0), (a, 1), (b, 1), (x, 2)]
    assert ego.omitted == 1


def test_someone_without_connections_has_an_empty_network(engine):
    (alone,) = _people(engine, "Alone")
    with _session(engine) as session:
        ego = graph.ego_network(alone, session=session, hops=2)
    assert [n.id for n in ego.nodes] == [alone] and ego.edges == [] and ego.total == 0 and ego.omitted == 0


def test_an_unknown_person_is_not_found(engine):
    with _session(engine) as session, pytest.raises(NotFound):
        graph.ego_network(999, session=session)


def _two_cliques(engine: Engine) -> tuple[list[int], list[int]]:
    left = _people(engine, *[f"Left {i}" for i in range(5)], topics=["kubernetes"], roles=["evangelist"])
    right = _people(engine, *[f"Right {i}" for i in range(4)], topics=["design"], roles=["influencer"])
    edges = [(p, q, "knows", 1.0) for group in (left, right) for i, p in enumerate(group) for q in group[i + 1:]]
    _link(engine, *edges, (left[0], right[0], "mentions", 0.1))
    return left, right


def test_louvain_finds_the_two_cliques_largest_first_and_is_stable_with_the_seed():
    pairs = {(1, 2): 1.0, (1, 3): 1.0, (2, 3): 1.0, (4, 5): 1.0, (4, 6): 1.0, (5, 6): 1.0, (6, 7): 1.0, (3, 4): 0.1}
    first = graph.louvain(pairs)
    assert first == [{4, 5, 6, 7}, {1, 2, 3}]
    assert all(graph.louvain(pairs) == first for _ in range(5))
    reference = nx.Graph()
    reference.add_weighted_edges_from((u, v, w) for (u, v), w in sorted(pairs.items()))
    expected = nx.community.louvain_communities(reference, weight="weight", seed=42)
    assert sorted(map(sorted, first)) == sorted(map(sorted, expected))


def test_the_partition_is_computed_once_per_graph_version(engine, monkeypatch):
    left, right = _two_cliques(engine)
    calls = []
    real = graph._compute_partition
    monkeypatch.setattr(graph, "_compute_partition", lambda *a, **k: calls.append(1) or real(*a, **k))
    with _session(engine) as session:
        first = graph.partition(session=session)
        assert graph.partition(session=session) is first
    assert len(calls) == 1
    assert first.sizes == [5, 4]
    assert {first.community_of[p] for p in left} == {0} and {first.community_of[p] for p in right} == {1}
    _link(engine, (right[1], left[1], "knows", 0.2))  # a new edge: a new version
    with _session(engine) as session:
        second = graph.partition(session=session)
    assert len(calls) == 2 and second is not first and second.degree[right[1]] == first.degree[right[1]] + 1


def test_the_explorer_filters_by_role_and_topic_and_describes_communities(engine):
    left, right = _two_cliques(engine)
    _people(engine, "Loner")
    with _session(engine) as session:
        everyone = graph.explore(session=session)
        evangelists = graph.explore(session=session, role=ProfileRole.evangelist)
        design = graph.explore(session=session, topic="  Design ")
        nobody = graph.explore(session=session, role=ProfileRole.journalist)
    assert (everyone.total_profiles, everyone.connected, everyone.matching, everyone.shown, everyone.omitted) == (10, 9, 9, 9, 0)
    assert [(c.index, c.size, c.topics) for c in everyone.communities] == [(0, 5, ["kubernetes"]), (1, 4, ["design"])]
    assert everyone.community_count == 2
    assert {(e.source, e.target) for e in everyone.edges} >= {(left[0], right[0])}
    assert {n.id for n in evangelists.nodes} == set(left) and evangelists.matching == 5
    assert [(c.index, c.matching, c.shown) for c in evangelists.communities] == [(0, 5, 5)]
    assert {n.id for n in design.nodes} == set(right) and design.topic == "design"
    assert nobody.nodes == [] and nobody.matching == 0


def test_the_explorer_draws_at_most_the_limit_from_the_largest_communities(engine):
    big = _people(engine, *[f"Big {i}" for i in range(10)])
    small = _people(engine, *[f"Small {i}" for i in range(3)])
    clique = [(p, q, "knows", 1.0) for group in (big, small) for i, p in enumerate(group) for q in group[i + 1:]]
    _link(engine, *clique, (big[3], small[0], "knows", 0.1))  # Big 3 is the most connected
    with _session(engine) as session:
        view = graph.explore(session=session, limit=10)
        everyone = graph.explore(session=session, limit=20)
    assert view.shown == 10 and view.omitted == 3 and view.matching == 13
    drawn = [n.id for n in view.nodes]
    assert drawn[0] == big[3]  # the most connected first
    # Places are shared by size (10 : 3 of 10 -> 7 and 2), and the one left over goes to the largest.
    assert len(set(drawn) & set(big)) == 8 and len(set(drawn) & set(small)) == 2
    assert [(c.size, c.matching, c.shown) for c in view.communities] == [(10, 10, 8), (3, 3, 2)]
    assert all(e.source in drawn and e.target in drawn for e in view.edges)
    assert everyone.shown == 13 and everyone.omitted == 0


def test_find_a_person_highlights_them_and_always_draws_them(engine):
    big = _people(engine, *[f"Big {i}" for i in range(12)])
    lucia, pablo, sola = _people(engine, "Lucía Gómez Marín", "Pablo Ruiz", "Sola")
    _link(engine, *[(big[0], p, "knows", 1.0) for p in big[1:]], (lucia, pablo, "knows", 1.0))
    with _session(engine) as session:
        found = graph.explore(session=session, find="lucia gomez", limit=10)
        alone = graph.explore(session=session, find="sola")
        missing = graph.explore(session=session, find="Nadie")
    assert found.focus == lucia and found.focus_name == "Lucía Gómez Marín" and found.focus_connected
    assert lucia in {n.id for n in found.nodes} and found.shown == 10
    assert (alone.focus, alone.focus_name, alone.focus_connected) == (None, "Sola", False)
    assert (missing.focus, missing.focus_name) == (None, None)


def test_derived_edges_are_read_from_the_relationship_table(engine):
    center, a = _people(engine, "Centre", "Ana")
    _link(engine, (a, center, "replies_to", 0.4), origin="interaction")
    with _session(engine) as session:
        ego = graph.ego_network(center, session=session)
    assert [(e.source, e.target, e.kind, e.origin) for e in ego.edges] == [(a, center, "replies_to", "interaction")]
