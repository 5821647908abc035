"""The roster builder (crm.campaigns.roster): pure, known answers by hand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm.campaigns import roster as roster_module
from crm.campaigns.discovery import RosterQuery
from crm.campaigns.roster import (
    EPS,
    SWAP_CANDIDATES,
    Coverage,
    Pick,
    build_roster,
    coverage,
    discounted,
    neighbour_sets,
    person,
)
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


def test_person_keeps_its_score_and_defaults_to_zero() -> None:
    assert person(5).score == 0.0
    assert person(5, score=42.5).score == 42.5


def test_coverage_add_and_remove_round_trip_two_hop_counters() -> None:
    a = person(1, one_hop={10}, two_hop={11, 12})
    b = person(2, one_hop={12}, two_hop={11, 13})
    state = Coverage(two_hop_weight=0.5)
    assert state.add(a) == 2.0  # 10 + ½ (11) + ½ (12)
    assert state.add(b) == 1.0  # 12 upgraded from ½ to 1, 13 new at ½; 11 already counted
    assert state.value == 3.0
    # Without A: 10 is lost (1), 12 stays direct through B (0), 11 is still two hops from B (0);
    # the coverage left is exactly B's own.
    assert state.remove(a) == 1.0
    assert state.value == 2.0 == coverage([b])
    assert state.members == [2]
    # Without B too: 12 (1) and the two-hop 11 and 13 (½ each) are lost.
    assert state.remove(b) == 2.0
    assert state.value == 0.0
    assert state.c1 == set() and state.c2 == set()
    # Everything is free again: adding A back gains what it gained at first.
    assert state.gain(a) == 2.0


def test_coverage_remove_takes_the_community_discount_back() -> None:
    big = person(1, reach=100, community=7)
    small = person(2, reach=60, community=7)
    state = Coverage()
    state.add(big)
    state.add(small)
    assert state.value == 130  # 100 + 60 × ½
    assert state.remove(small) == 30
    assert state.value == 100
    state.add(small)
    # Removing the larger: the smaller is no longer discounted (130 → 60).
    assert state.remove(big) == 70
    assert state.value == 60


def test_coverage_function_uses_the_given_weights() -> None:
    a = person(1, one_hop={10}, two_hop={11, 12})
    assert coverage([a], two_hop_weight=0.25) == 1.5
    assert coverage([person(1, reach=100, community=7), person(2, reach=60, community=7)],
                    community_discount=0.25) == 115


def test_budget_ratio_uses_the_assumed_fee_for_unknown_fees() -> None:
    unknown = person(1, one_hop={101, 102})  # assumed fee 10: 0.2 per unit
    known = person(2, fee=1, one_hop={103, 104, 105})  # 3 per unit
    result = build_roster([unknown, known], 2, budget=11, default_fee=10)
    assert result.ids == [2, 1]
    assert result.spent == 11 and result.unknown_fees == [1]
    assert result.budget == 11 and result.pool == 2


def test_free_people_with_a_budget_are_ordered_by_gain() -> None:
    result = build_roster([person(1, one_hop={101}), person(2, one_hop={102, 103})], 2, budget=10)
    assert result.ids == [2, 1]
    assert [p.gain for p in result.picks] == [2, 1]


def test_free_people_fit_any_budget_and_spend_nothing() -> None:
    pool = [person(pid, one_hop={100 + pid}) for pid in (1, 2, 3)]
    result = build_roster(pool, 3, budget=0.5)
    assert result.ids == [1, 2, 3]
    assert result.value == 3 and result.spent == 0
    assert result.single_chosen is False
    assert result.unknown_fees == [1, 2, 3]


def test_someone_over_budget_is_skipped_and_cheaper_people_still_chosen() -> None:
    star = person(1, fee=10, one_hop=set(range(1000, 1100)))  # the best ratio, but it does not fit
    b = person(2, fee=1, one_hop={101, 102})
    c = person(3, fee=1, one_hop={103})
    result = build_roster([star, b, c], 2, budget=5)
    assert result.ids == [2, 3]
    assert result.value == 3 and result.spent == 2
    assert not result.single_chosen


def test_the_best_single_person_must_fit_with_the_assumed_fee() -> None:
    unknown = person(1, one_hop=set(range(101, 111)))  # assumed fee 10 > budget 5
    cheap = person(2, fee=1, one_hop={201})
    result = build_roster([unknown, cheap], 1, budget=5, default_fee=10)
    assert result.ids == [2]
    assert result.value == 1 and result.spent == 1
    assert not result.single_chosen and result.swaps == 0


def test_fees_within_eps_of_the_budget_still_fit() -> None:
    # Greedy: the only person costs the budget + EPS; it is taken by greedy, not by the safeguard.
    alone = build_roster([person(1, fee=1 + EPS, one_hop={101})], 1, budget=1)
    assert alone.ids == [1] and alone.single_chosen is False
    # The safeguard: the big one costs 10 + EPS with a budget of 10; after the cheap pick it no longer fits,
    # but on its own it does and it covers more.
    big = person(1, fee=10 + EPS, one_hop=set(range(100, 200)))
    small = person(2, fee=0.1, one_hop={300, 301})
    chosen = build_roster([big, small], 2, budget=10)
    assert chosen.single_chosen and chosen.ids == [1] and chosen.value == 100
    # The swap pass: B2 costs 1 + EPS with a budget of 1 and A, B1 free.
    a = person(1, one_hop={1001, 1002, 1004, 1005})
    b1 = person(2, one_hop={1001, 1002, 1003})
    b2 = person(3, fee=1 + EPS, one_hop={1004, 1005, 1006})
    swapped = build_roster([a, b1, b2], 2, budget=1, two_hop_weight=0)
    assert swapped.ids == [3, 2] and swapped.value == 6


def test_the_single_safeguard_needs_more_than_eps() -> None:
    # The big one covers 1 + EPS (one direct + one two hops at weight EPS), the greedy set exactly 1.
    small = person(1, fee=0.1, one_hop={101})
    big = person(2, fee=10, one_hop={201}, two_hop={202})
    result = build_roster([small, big], 2, budget=10, two_hop_weight=EPS, swaps=False)
    assert result.ids == [1] and result.single_chosen is False


def test_a_swap_must_gain_more_than_eps() -> None:
    # X and Y are free and cover the same person; W (fee 1) would only add a two-hop person worth EPS.
    x = person(1, one_hop={101})
    y = person(2, one_hop={101})
    w = person(3, fee=1, one_hop={101}, two_hop={105})
    result = build_roster([x, y, w], 2, budget=1, two_hop_weight=EPS)
    assert result.ids == [1, 2] and result.swaps == 0 and result.single_chosen is False


def _gadget(fees: tuple[float | None, float | None, float | None]) -> list:
    """Greedy takes A (4) then B1 (+1): 5; swapping A for B2 covers all 6."""
    return [person(1, fee=fees[0], one_hop={1001, 1002, 1004, 1005}),
            person(2, fee=fees[1], one_hop={1001, 1002, 1003}),
            person(3, fee=fees[2], one_hop={1004, 1005, 1006})]


def test_swaps_keep_to_the_budget_and_skip_outsiders_that_do_not_fit() -> None:
    star = person(4, fee=100, one_hop=set(range(1, 11)))  # the best outsider on its own, far over budget
    result = build_roster([*_gadget((1, 1, 1)), star], 2, budget=2, two_hop_weight=0)
    assert result.ids == [3, 2]
    assert result.value == 6 and result.spent == 2 and result.budget == 2
    assert result.swaps == 1
    assert [p.swapped_in for p in result.picks] == [True, False]
    assert not result.single_chosen


def test_swaps_count_the_assumed_fees() -> None:
    # A and B1 have no fee (assumed 1); B2 costs 2: swapping A for B2 would spend 3 > 2.
    kept = build_roster(_gadget((None, None, 2)), 2, budget=2, default_fee=1, two_hop_weight=0)
    assert kept.ids == [1, 2] and kept.value == 5 and kept.spent == 2 and kept.swaps == 0
    # A has no fee (assumed 1), B2 costs 1: taking A out frees 1, so B2 fits.
    swapped = build_roster(_gadget((None, 1, 1)), 2, budget=2, default_fee=1, two_hop_weight=0)
    assert swapped.ids == [3, 2] and swapped.value == 6 and swapped.spent == 2
    assert swapped.unknown_fees == []


def test_swaps_with_free_people() -> None:
    # A is free (no fee, none assumed): taking it out frees nothing, and B2 (2) does not fit next to B1 (1).
    kept = build_roster(_gadget((None, 1, 2)), 2, budget=2, two_hop_weight=0)
    assert kept.ids == [1, 2] and kept.value == 5 and kept.spent == 1 and kept.unknown_fees == [1]
    # All free: any budget allows the swap.
    free = build_roster(_gadget((None, None, None)), 2, budget=0.5, two_hop_weight=0)
    assert free.ids == [3, 2] and free.value == 6 and free.spent == 0


def test_equal_swaps_go_to_the_first_outsider() -> None:
    twin = person(4, one_hop={1004, 1005, 1007})  # improves exactly as much as B2, but later in the pool
    result = build_roster([*_gadget((None, None, None)), twin], 2, two_hop_weight=0)
    assert result.ids == [3, 2] and result.value == 6


def test_a_swap_takes_the_outsider_that_improves_most(monkeypatch: pytest.MonkeyPatch) -> None:
    a = person(1, one_hop={101, 102, 103, 104, 105, 106})
    b = person(2, one_hop={101, 102, 109, 110})
    o1 = person(3, one_hop={103, 104, 105, 106, 107, 108})  # without A: +2
    o2 = person(4, one_hop={103, 104, 105, 106, 111})  # without A: +1
    pool = [a, b, o1, o2]
    assert build_roster(pool, 2, two_hop_weight=0, swaps=False).ids == [1, 2]
    monkeypatch.setattr(roster_module, "SWAP_CHECKS", 2)  # one swap decision only
    result = build_roster(pool, 2, two_hop_weight=0)
    assert result.ids == [3, 2] and result.value == 10


def test_an_outsider_better_only_by_eps_does_not_replace_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    x = person(1, one_hop={101, 102, 103})
    y = person(2, one_hop={101, 102, 103})  # X is redundant next to Y
    o1 = person(3, fee=1, one_hop={101, 107})  # without X: +1
    o2 = person(4, fee=1, one_hop={108}, two_hop={109})  # without X: +1 + EPS
    monkeypatch.setattr(roster_module, "SWAP_CHECKS", 2)  # one swap decision only
    result = build_roster([x, y, o1, o2], 2, budget=1, two_hop_weight=EPS)
    assert result.ids == [3, 2]


def test_no_swap_for_one_pick_does_not_stop_the_pass() -> None:
    big = person(1, one_hop=set(range(11, 21)))
    gadget = [person(pid + 1, one_hop=p.one_hop) for pid, p in enumerate(_gadget((None, None, None)), start=1)]
    result = build_roster([big, *gadget], 3, two_hop_weight=0)
    assert result.ids == [1, 4, 3]  # the big one stays; A (2) is swapped for B2 (4)
    assert result.value == 16 and result.swaps == 1


def test_swap_candidates_are_the_best_outsiders_on_their_own_at_the_given_weight() -> None:
    # SWAP_CANDIDATES decoys: worth 1 on their own with two-hop people not counted (B2 is worth 3), and
    # nothing next to the picks. B2 must stay among the candidates and be swapped in.
    decoys = [person(100 + i, one_hop={1001}, two_hop=set(range(5000 + 10 * i, 5010 + 10 * i)))
              for i in range(SWAP_CANDIDATES)]
    result = build_roster([*_gadget((None, None, None)), *decoys], 2, two_hop_weight=0)
    assert result.ids == [3, 2] and result.value == 6


def _two_pass_pool() -> list:
    # Greedy: 2, 1, 3 (6 people). Pass 1 swaps 1 for 6 (7), pass 2 swaps 2 for 4 (8).
    sets = {1: {4, 10}, 2: {1, 8, 9}, 3: {5, 9, 10}, 4: {1, 6}, 5: {8, 10}, 6: {4, 7, 8}}
    return [person(pid, one_hop={100 + n for n in nodes}) for pid, nodes in sets.items()]


def test_the_swap_pass_repeats_while_it_improves(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _two_pass_pool()
    greedy = build_roster(pool, 3, two_hop_weight=0, swaps=False)
    assert greedy.ids == [2, 1, 3] and greedy.value == 6
    result = build_roster(pool, 3, two_hop_weight=0)
    assert result.ids == [4, 6, 3] and result.value == 8 and result.swaps == 2
    assert [p.swapped_in for p in result.picks] == [True, True, False]
    # 3 picks × 3 outsiders = 9 checks a pass; the first swap comes at check 6, the second at check 12.
    expected = {1: ([2, 6, 3], 7), 9: ([2, 6, 3], 7), 10: ([4, 6, 3], 8)}
    for limit, (ids, value) in expected.items():
        monkeypatch.setattr(roster_module, "SWAP_CHECKS", limit)
        limited = build_roster(pool, 3, two_hop_weight=0)
        assert (limited.ids, limited.value) == (ids, value), limit


def test_the_swap_pass_stops_right_after_the_swap_that_reaches_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Greedy: 1, 4, 3 (6). Pass 1 swaps 1 for 6 at check 3 (7) and 4 for 5 at check 6 (8).
    sets = {1: {2, 8, 9}, 2: {1}, 3: {2, 4}, 4: {1, 7, 8}, 5: {1, 8, 10}, 6: {3, 7, 9}}
    pool = [person(pid, one_hop={100 + n for n in nodes}) for pid, nodes in sets.items()]
    assert build_roster(pool, 3, two_hop_weight=0, swaps=False).ids == [1, 4, 3]
    full = build_roster(pool, 3, two_hop_weight=0)
    assert full.ids == [6, 5, 3] and full.value == 8 and full.swaps == 2
    monkeypatch.setattr(roster_module, "SWAP_CHECKS", 3)
    limited = build_roster(pool, 3, two_hop_weight=0)
    assert limited.ids == [6, 4, 3] and limited.value == 7 and limited.swaps == 1


def test_picks_report_their_gains_fee_and_community() -> None:
    a = person(1, reach=10, community=3, fee=2.5, one_hop={101, 102})
    b = person(2, reach=8, community=3, one_hop={102, 103})
    result = build_roster([a, b], 2, two_hop_weight=0)
    assert result.picks == [
        Pick(id=1, gain=12, graph_gain=2, reach_gain=10, cumulative=12, fee=2.5, community=3),
        Pick(id=2, gain=5, graph_gain=1, reach_gain=4, cumulative=17, fee=None, community=3),  # 8 × ½
    ]
    assert result.value == 17 and result.pool == 2 and result.budget is None
    assert result.single_chosen is False and result.swaps == 0


def test_top_k_value_uses_the_given_weights() -> None:
    a = person(1, score=9, reach=8, community=1, one_hop={101}, two_hop={102, 103})
    b = person(2, score=5, reach=4, community=1)
    result = build_roster([a, b], 2, two_hop_weight=0.25, community_discount=0.25)
    assert result.top_k == [1, 2]
    assert result.top_k_value == 1 + 0.25 * 2 + 8 + 4 * 0.25


def test_refusals_say_why() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_roster([person(1)], 0)
    assert caught.value.message == "Check the highlighted fields."
    assert caught.value.field_errors == {"k": "Choose at least one person."}
    with pytest.raises(InvalidInput) as caught:
        build_roster([person(1), person(2)], 3)
    assert caught.value.message == "Check the highlighted fields."
    assert caught.value.field_errors == {
        "k": "Only 2 candidates are left after the filters and exclusions: ask for at most 2."}


def test_an_empty_pool_keeps_the_budget() -> None:
    empty = build_roster([], 3, budget=7.5)
    assert empty.budget == 7.5 and empty.pool == 0 and empty.picks == []
