"""The roster builder (crm.campaigns.roster): pure, known answers by hand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm.campaigns.discovery import RosterQuery
from crm.campaigns.roster import build_roster, coverage, discounted, neighbour_sets, person
from crm.errors import InvalidInput


def test_small_graph_known_answer_and_top_k_comparison() -> None:
    # A and B are the best scored but overlap on 3; C reaches four people nobody else does.
    a = person(1, score=90, one_hop={10, 11, 12})
    b = person(2, score=80, one_hop={12, 13})
    c = person(3, score=10, one_hop={20, 21, 22, 23})
    result = build_roster([a, b, c], 2, two_hop_weight=0)
    assert result.ids == [3, 1]
    assert [p.gain for p in result.picks] == [4, 3]
    assert [p.cumulative for p in result.picks] == [4, 7]
    assert result.value == 7
    assert result.top_k == [1, 2] and result.top_k_value == 4  # {10, 11, 12, 13}
    assert result.shared == [1]
    assert result.difference_pct == pytest.approx(75.0)
    assert not result.top_k_better


def test_two_hop_people_count_at_their_weight_and_upgrade_to_direct() -> None:
    a = person(1, one_hop={10}, two_hop={11, 12, 10, 1})  # itself and its direct connection are not two hops away
    assert a.two_hop == frozenset({11, 12})
    assert coverage([a], two_hop_weight=0.5) == 2.0
    b = person(2, one_hop={11})
    # 11 was worth 0.5 through A; directly connected through B it is worth 1: B adds 0.5.
    result = build_roster([a, b], 2, two_hop_weight=0.5)
    assert [p.gain for p in result.picks] == [2.0, 0.5]
    assert result.value == 2.5


def test_reach_in_the_same_community_is_discounted() -> None:
    big = person(1, reach=100, community=0)
    same = person(2, reach=90, community=0)
    other = person(3, reach=60, community=1)
    result = build_roster([big, same, other], 2)
    assert result.ids == [1, 3]  # 90 × 0.5 = 45 < 60
    assert result.value == 160
    assert coverage([big, same]) == 145
    assert discounted([10, 40, 20], 0.5) == 40 + 10 + 2.5
    # Without a community each person is their own: no discount.
    assert coverage([person(1, reach=100), person(2, reach=90)]) == 190


def test_top_k_in_one_clique_with_the_same_audience_is_beaten_strictly() -> None:
    audience = set(range(100, 110))
    clique = list(range(1, 6))
    pool = [person(pid, score=95 - pid, reach=1000, community=0, one_hop=(set(clique) - {pid}) | audience)
            for pid in clique]
    pool += [person(pid, score=20 - pid, reach=500, community=pid, one_hop=set(range(pid * 100, pid * 100 + 8)))
             for pid in range(6, 11)]
    result = build_roster(pool, 5)
    assert result.top_k == [1, 2, 3, 4, 5]
    # Top 5: the clique (all five covered by each other) + its 10 people + 1000 × (1 + ½ + ¼ + ⅛ + 1/16).
    assert result.top_k_value == 15 + 1937.5
    assert result.value > result.top_k_value
    assert result.ids[0] == 1 and sorted(result.ids[1:]) == [6, 7, 8, 9]
    assert result.value == 1014 + 4 * 508
    assert result.shared == [1]


def test_the_swap_pass_fixes_a_greedy_mistake() -> None:
    # Greedy takes A (4 people), then one of B1/B2 adds 1: 5. B1 + B2 cover all 6.
    a = person(1, one_hop={1001, 1002, 1004, 1005})
    b1 = person(2, one_hop={1001, 1002, 1003})
    b2 = person(3, one_hop={1004, 1005, 1006})
    without = build_roster([a, b1, b2], 2, two_hop_weight=0, swaps=False)
    assert without.value == 5
    improved = build_roster([a, b1, b2], 2, two_hop_weight=0)
    assert improved.value == 6
    assert sorted(improved.ids) == [2, 3]
    assert improved.swaps == 1
    assert any(p.swapped_in for p in improved.picks)
    assert improved.value == coverage([b1, b2], two_hop_weight=0)


def test_budget_gain_per_fee_and_the_best_single_safeguard() -> None:
    a = person(1, fee=10, one_hop=set(range(100, 110)))
    b = person(2, fee=2, one_hop=set(range(200, 206)))
    c = person(3, fee=2, one_hop=set(range(300, 306)))
    result = build_roster([a, b, c], 3, budget=4)
    assert sorted(result.ids) == [2, 3] and result.value == 12 and result.spent == 4
    # A cheap small pick first would leave no room for the big one: the best single person wins.
    big = person(1, fee=10, one_hop=set(range(100, 200)))
    small = person(2, fee=0.1, one_hop={300, 301})
    chosen = build_roster([big, small], 2, budget=10)
    assert chosen.single_chosen and chosen.ids == [1] and chosen.value == 100
    # Unknown fees are reported; an assumed fee makes them count.
    unknown = build_roster([person(1, one_hop={1}), person(2, one_hop={2})], 2, budget=5)
    assert unknown.unknown_fees == [1, 2] and unknown.spent == 0
    assumed = build_roster([person(1, one_hop={1}), person(2, one_hop={2, 3})], 2, budget=5, default_fee=5)
    assert assumed.ids == [2] and assumed.spent == 5


def test_no_budget_ignores_fees() -> None:
    result = build_roster([person(1, fee=1e9, one_hop={1, 2}), person(2, fee=1, one_hop={3})], 1)
    assert result.ids == [1]


def test_bad_k_and_empty_pool() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_roster([person(1), person(2)], 3)
    assert "k" in caught.value.field_errors and "2" in caught.value.field_errors["k"]
    with pytest.raises(InvalidInput):
        build_roster([person(1)], 0)
    with pytest.raises(ValidationError):
        RosterQuery(k=0)
    with pytest.raises(ValidationError):
        RosterQuery(k=-3)
    empty = build_roster([], 10)
    assert empty.picks == [] and empty.value == 0 and empty.difference_pct is None


def test_ties_are_broken_by_pool_order_and_the_result_is_deterministic() -> None:
    pool = [person(pid, one_hop={pid * 10}) for pid in (7, 3, 9, 1)]
    first = build_roster(pool, 2)
    assert first.ids == [7, 3]
    assert build_roster(pool, 2).ids == first.ids
    assert first.top_k == [7, 3]  # equal scores: pool order


def test_top_k_can_win_and_it_is_said() -> None:
    # With a budget that only fits cheap people, the top-by-score pair (unaffordable together) covers more.
    a = person(1, score=90, fee=100, one_hop=set(range(100, 150)))
    b = person(2, score=80, fee=100, one_hop=set(range(200, 250)))
    c = person(3, score=1, fee=1, one_hop={1})
    d = person(4, score=1, fee=1, one_hop={2})
    result = build_roster([a, b, c, d], 2, budget=100)
    assert result.top_k == [1, 2]
    assert result.top_k_value == 100 and result.value == 50
    assert result.top_k_better


def test_neighbour_sets_are_undirected() -> None:
    assert neighbour_sets([(1, 2), (2, 3), (3, 3)]) == {1: {2}, 2: {1, 3}, 3: {2}}
