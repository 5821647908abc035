"""Bridge scores on small neighbourhoods whose answer is known by hand."""

from __future__ import annotations

import itertools

import pytest

from crm.ranking.bridges import bridge_score


def _clique(ids):
    return list(itertools.combinations(ids, 2))


def test_the_only_link_between_two_groups_is_a_full_bridge():
    left, right = [1, 2, 3], [4, 5, 6]
    edges = _clique(left) + _clique(right) + [(0, 1), (0, 4)]
    community = {0: None, **{i: 0 for i in left}, **{i: 1 for i in right}}
    bridge = bridge_score(0, edges, community, direct=[1, 4])
    # Of the C(6, 2) = 15 pairs among the other six, the 3 × 3 that cross go through 0 (and only there).
    assert bridge.betweenness == pytest.approx(9 / 15, abs=1e-4)
    assert bridge.communities == 2 and bridge.neighbourhood == 7


def test_someone_inside_one_group_bridges_nothing():
    edges = _clique([0, 1, 2, 3])
    bridge = bridge_score(0, edges, {i: 0 for i in range(4)}, direct=[1, 2, 3])
    assert bridge.betweenness == 0.0 and bridge.communities == 1


def test_alone_or_with_one_contact():
    assert bridge_score(7, [], {}, direct=[]).betweenness == 0.0
    one = bridge_score(7, [(7, 8)], {8: 3}, direct=[8])
    assert (one.betweenness, one.communities, one.neighbourhood) == (0.0, 1, 2)


def test_the_middle_of_a_path_of_three_is_a_full_bridge():
    bridge = bridge_score(2, [(1, 2), (2, 3)], {1: 0, 3: 1}, direct=[1, 3])
    assert (bridge.betweenness, bridge.communities, bridge.neighbourhood) == (1.0, 2, 3)
    assert bridge_score(1, [(1, 2), (2, 3)], {2: 0}, direct=[2]).betweenness == 0.0
