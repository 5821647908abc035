"""crm.ranking.pagerank against networkx.pagerank (the reference), and its input checks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from crm.ranking.pagerank import PageRankResult, pagerank

TOLERANCE = 1e-6  # max abs difference per node the issue asks for


def reference(graph: nx.DiGraph, weight: str | None = "weight") -> np.ndarray:
    ranks = nx.pagerank(graph, alpha=0.85, tol=1e-12, max_iter=1000, weight=weight)
    return np.array([ranks[node] for node in range(graph.number_of_nodes())])


def summed_graph(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> nx.DiGraph:
    """The networkx graph of edge arrays: parallel edges become one edge with the summed weight."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for s, t, w in zip(sources.tolist(), targets.tolist(), weights.tolist(), strict=True):
        if w <= 0:
            continue
        if graph.has_edge(s, t):
            graph[s][t]["weight"] += w
        else:
            graph.add_edge(s, t, weight=w)
    return graph


def assert_valid(result: PageRankResult, n: int) -> None:
    assert result.vector.dtype == np.float64 and result.vector.shape == (n,)
    assert result.vector.sum() == pytest.approx(1.0, abs=1e-12)
    assert result.converged and result.error < 1e-6


def random_graph(seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A weighted directed graph with dangling nodes (no out-edges), isolated nodes, self-loops and
    parallel edges, heavy-tailed in-degree."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 400))
    m = int(n * rng.uniform(1.5, 6))
    with_out = rng.permutation(n)[: int(n * 0.6)]  # the other 40 % have no out-edge: dangling or isolated
    fitness = rng.pareto(1.3, n) + 0.05
    isolated = rng.permutation(np.setdiff1d(np.arange(n), with_out))[:5]
    fitness[isolated] = 0  # nobody points at them, and they point nowhere
    sources = rng.choice(with_out, m)
    targets = rng.choice(n, m, p=fitness / fitness.sum())
    loops = rng.choice(with_out, 6)
    sources = np.concatenate([sources, loops])
    targets = np.concatenate([targets, loops])
    repeat = rng.choice(len(sources), 20)  # parallel edges: the same pair again
    sources = np.concatenate([sources, sources[repeat]])
    targets = np.concatenate([targets, targets[repeat]])
    weights = rng.uniform(0.01, 5.0, len(sources))
    return n, sources, targets, weights


def test_karate_club_both_directions_weighted_equals_networkx():
    graph = nx.karate_club_graph().to_directed()
    edges = list(graph.edges(data="weight"))
    assert len(edges) == 2 * 78 and len({w for _, _, w in edges}) > 1  # really weighted
    sources = np.array([s for s, _, _ in edges])
    targets = np.array([t for _, t, _ in edges])
    weights = np.array([w for _, _, w in edges], dtype=float)
    result = pagerank(34, sources, targets, weights)
    assert_valid(result, 34)
    expected = reference(graph)
    assert np.abs(result.vector - expected).max() < TOLERANCE
    # The weights matter: the unweighted ranks differ by far more than the tolerance.
    assert np.abs(reference(graph, weight=None) - expected).max() > 100 * TOLERANCE
    unweighted = pagerank(34, sources, targets)
    assert np.abs(unweighted.vector - reference(graph, weight=None)).max() < TOLERANCE


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_weighted_graphs_equal_networkx(seed):
    n, sources, targets, weights = random_graph(seed)
    graph = summed_graph(n, sources, targets, weights)
    # The graph has what the test is about.
    dangling = [v for v in graph if graph.out_degree(v) == 0]
    assert len(dangling) >= 0.3 * n
    assert sum(1 for v in graph if graph.degree(v) == 0) >= 1
    assert nx.number_of_selfloops(graph) >= 1
    assert len(set(zip(sources.tolist(), targets.tolist(), strict=True))) < len(sources)  # parallel edges
    expected = reference(graph)
    # Ranks differ enough between nodes that a wrong model could not pass by accident.
    assert expected.max() > 5 * expected.min()
    for index_type in (np.int64, np.int32):
        result = pagerank(n, sources.astype(index_type), targets.astype(index_type), weights)
        assert_valid(result, n)
        assert np.abs(result.vector - expected).max() < TOLERANCE


def test_parallel_edges_add_like_a_multidigraph():
    n, sources, targets, weights = random_graph(11)
    multi = nx.MultiDiGraph()
    multi.add_nodes_from(range(n))
    multi.add_weighted_edges_from(zip(sources.tolist(), targets.tolist(), weights.tolist(), strict=True))
    result = pagerank(n, sources, targets, weights)
    assert np.abs(result.vector - reference(multi)).max() < TOLERANCE


def test_dangling_rank_is_spread_over_everyone():
    # 0 -> 1, and 1 points nowhere: 1's rank goes back to both equally, so x1 = x0 + 0.85·x0 ...
    result = pagerank(2, np.array([0]), np.array([1]))
    expected = reference(summed_graph(2, np.array([0]), np.array([1]), np.array([1.0])))
    assert np.abs(result.vector - expected).max() < TOLERANCE
    x0, x1 = result.vector
    assert x1 == pytest.approx(x0 * 1.85, rel=1e-5)


def test_each_step_is_a_step_of_the_google_matrix():
    """At convergence, dropping the dangling rank and renormalising gives the same vector, so the
    steps themselves are checked: x_k = Gᵀ x_(k-1) from the uniform vector, G = d·(P + dangling·1/n) +
    (1−d)/n built densely here, and `error` is the L1 change of the last step."""
    n, sources, targets, weights = random_graph(71)
    dense = np.zeros((n, n))
    np.add.at(dense, (sources, targets), weights)
    out = dense.sum(axis=1)
    assert (out == 0).sum() > 0.3 * n
    transition = np.where(out[:, None] > 0, dense / np.where(out > 0, out, 1)[:, None], 1.0 / n)
    google = 0.85 * transition + 0.15 / n
    x = np.full(n, 1.0 / n)
    for steps in (1, 2, 3):
        previous, x = x, google.T @ x
        result = pagerank(n, sources, targets, weights, max_iter=steps)
        assert result.iterations == steps
        assert np.abs(result.vector - x).max() < 1e-15
        assert result.error == pytest.approx(np.abs(x - previous).sum(), rel=1e-9)


def test_edges_without_positive_weight_are_left_out():
    n, sources, targets, weights = random_graph(21)
    weights = weights.copy()
    weights[::7] = 0.0
    weights[3::11] = -2.0
    expected = reference(summed_graph(n, sources, targets, weights))
    assert np.abs(pagerank(n, sources, targets, weights).vector - expected).max() < TOLERANCE


def test_empty_graph_single_node_and_no_edges():
    empty = pagerank(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert empty.vector.shape == (0,) and empty.converged and nx.pagerank(nx.DiGraph()) == {}
    single = pagerank(1, np.array([]), np.array([]))
    assert single.vector.tolist() == [1.0] and single.converged
    single_graph = nx.DiGraph()
    single_graph.add_node(0)
    assert reference(single_graph).tolist() == pytest.approx([1.0])
    loop = pagerank(1, np.array([0]), np.array([0]), np.array([2.5]))
    assert loop.vector.tolist() == pytest.approx([1.0])
    no_edges = pagerank(5, np.array([], dtype=np.int32), np.array([], dtype=np.int32))
    assert no_edges.vector.tolist() == pytest.approx([0.2] * 5)
    five = nx.DiGraph()
    five.add_nodes_from(range(5))
    assert np.abs(no_edges.vector - reference(five)).max() < TOLERANCE


def test_stricter_tolerance_gets_closer():
    n, sources, targets, weights = random_graph(31)
    expected = reference(summed_graph(n, sources, targets, weights))
    loose = pagerank(n, sources, targets, weights, tol=1e-3)
    tight = pagerank(n, sources, targets, weights, tol=1e-12)
    assert loose.error < 1e-3 and tight.error < 1e-12 and tight.iterations > loose.iterations
    assert np.abs(tight.vector - expected).max() < 1e-10


def test_other_damping_equals_networkx():
    n, sources, targets, weights = random_graph(41)
    graph = summed_graph(n, sources, targets, weights)
    ranks = nx.pagerank(graph, alpha=0.6, tol=1e-12, max_iter=1000)
    expected = np.array([ranks[v] for v in range(n)])
    assert np.abs(pagerank(n, sources, targets, weights, damping=0.6).vector - expected).max() < TOLERANCE


def test_warm_start_converges_in_fewer_iterations():
    n, sources, targets, weights = random_graph(51)
    cold = pagerank(n, sources, targets, weights)
    again = pagerank(n, sources, targets, weights, start=cold.vector)
    assert again.converged and again.iterations < cold.iterations
    assert np.abs(again.vector - cold.vector).max() < TOLERANCE
    # After a small change (a few new edges and two new people), the old vector is still a better start.
    rng = np.random.default_rng(52)
    grown_sources = np.concatenate([sources, rng.integers(0, n + 2, 5)])
    grown_targets = np.concatenate([targets, rng.integers(0, n + 2, 5)])
    grown_weights = np.concatenate([weights, rng.uniform(0.1, 1, 5)])
    cold_grown = pagerank(n + 2, grown_sources, grown_targets, grown_weights)
    warm_grown = pagerank(n + 2, grown_sources, grown_targets, grown_weights, start=cold.vector)
    assert warm_grown.iterations < cold_grown.iterations
    expected = reference(summed_graph(n + 2, grown_sources, grown_targets, grown_weights))
    assert np.abs(warm_grown.vector - expected).max() < TOLERANCE
    # A longer start is cut; an all-zero start is the uniform one.
    shrunk = pagerank(n - 1, sources[(sources < n - 1) & (targets < n - 1)], targets[(sources < n - 1) & (targets < n - 1)],
                      start=cold.vector)
    assert shrunk.converged and shrunk.vector.shape == (n - 1,)
    zeros = pagerank(n, sources, targets, weights, start=np.zeros(n))
    assert zeros.iterations == cold.iterations and np.array_equal(zeros.vector, cold.vector)


def test_too_few_iterations_says_not_converged():
    n, sources, targets, weights = random_graph(61)
    result = pagerank(n, sources, targets, weights, max_iter=2)
    assert result.iterations == 2 and not result.converged and result.error >= 1e-6
    assert result.vector.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("n", "sources", "targets", "weights", "options"),
    [
        (-1, [], [], None, {}),
        (3, [0, 1], [1], None, {}),  # lengths differ
        (3, [0, 1], [1, 2], [1.0], {}),
        (3, [0, 3], [1, 2], None, {}),  # index out of range
        (3, [0, 1], [1, -1], None, {}),
        (3, [0.0, 1.0], [1, 2], None, {}),  # not node indices
        (3, [[0, 1]], [[1, 2]], None, {}),
        (3, [0, 1], [1, 2], [1.0, float("nan")], {}),
        (3, [0, 1], [1, 2], None, {"damping": 0.0}),
        (3, [0, 1], [1, 2], None, {"damping": 1.0}),
        (3, [0, 1], [1, 2], None, {"damping": 1.5}),
        (3, [0, 1], [1, 2], None, {"damping": -0.1}),
        (3, [0, 1], [1, 2], None, {"tol": 0}),
        (3, [0, 1], [1, 2], None, {"max_iter": 0}),
        (3, [0, 1], [1, 2], None, {"start": np.array([0.5, -0.1, 0.6])}),
        (2.5, [0, 1], [1, 0], None, {}),
    ],
)
def test_bad_input_raises_value_error(n, sources, targets, weights, options):
    with pytest.raises(ValueError):
        pagerank(n, np.array(sources), np.array(targets), None if weights is None else np.array(weights), **options)


@pytest.mark.parametrize(("sources", "targets"), [([0, 3], [1, 2]), ([0, 1], [1, -1]), ([-1, 1], [1, 2]), ([0, 1], [3, 2])])
def test_an_index_outside_the_nodes_is_named(sources, targets):
    """Refused by the range check itself, with a message that says so (not by whatever numpy trips on later)."""
    with pytest.raises(ValueError, match=r"holds a node index outside 0\.\.2"):
        pagerank(3, np.array(sources), np.array(targets))


def test_weights_of_another_length_are_named():
    with pytest.raises(ValueError, match="weights"):
        pagerank(3, np.array([0, 1]), np.array([1, 2]), np.array([1.0, 2.0, 3.0]))
