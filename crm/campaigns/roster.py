"""The roster builder: k people who together reach the most *distinct* audience. Pure functions on plain
data (neighbour sets, reach, community, fee); no database here (crm.campaigns.discovery loads the data).

The objective of a set S of people, in "people reached":

    coverage(S) = |N1(S)| + w2 · |N2(S) \\ N1(S)| + Σ over communities c of Σ_i reach_(i) · d^i

N1(S) is everyone directly connected to someone in S (the relationship graph, undirected), N2(S) everyone
two hops away, counted at w2 (0.5 by default). The external reach (followers) of the picks in one
community is sorted from largest to smallest and the i-th is discounted by d^i (d = 0.5): two people of
the same community mostly reach the same followers. Someone with no known community is a community
of their own. The objective is a set function (the order of picks does not change it) and it is
submodular, so the greedy choice is computed lazily (CELF) with the same result as the plain greedy.

Greedy is not guaranteed to beat the top k by score in every graph, so a bounded swap pass follows
(a swap is kept only when it increases the coverage), and the result says honestly when the top k
still covers more.

With a budget, people are chosen by gain per unit of fee among those who still fit, and the result is
compared with the best single person who fits (the classic budgeted-greedy safeguard)."""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from crm.errors import InvalidInput
from crm.i18n import gettext

TWO_HOP_WEIGHT = 0.5
COMMUNITY_DISCOUNT = 0.5
SWAP_CANDIDATES = 20  # outsiders tried in the swap pass (the best on their own)
SWAP_CHECKS = 1_000  # swap evaluations at most
EPS = 1e-9


@dataclass(frozen=True)
class Person:
    id: int
    score: float = 0.0  # the stored combined score (0..100): what "top k by score" orders by
    reach: int = 0  # followers summed over identities
    community: int | None = None
    fee: float | None = None  # None: not known
    one_hop: frozenset[int] = frozenset()
    two_hop: frozenset[int] = frozenset()  # two hops away (not themselves, not their direct connections)


def person(pid: int, *, score: float = 0.0, reach: int = 0, community: int | None = None, fee: float | None = None,
           one_hop: Iterable[int] = (), two_hop: Iterable[int] = ()) -> Person:
    """A Person with the two-hop set cleaned: no self, no direct connections."""
    first = frozenset(one_hop) - {pid}
    return Person(id=pid, score=score, reach=max(int(reach), 0), community=community, fee=fee, one_hop=first,
                  two_hop=frozenset(two_hop) - first - {pid})


def neighbour_sets(edges: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
    """Undirected adjacency from (a, b) pairs; self-loops ignored."""
    found: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            found[a].add(b)
            found[b].add(a)
    return dict(found)


def discounted(reaches: Sequence[float], discount: float) -> float:
    """Σ r_i · discount^i over the reaches sorted from largest to smallest."""
    return sum(r * discount ** i for i, r in enumerate(sorted(reaches, reverse=True)))


class Coverage:
    """The objective for a changing set: counters of how many picks cover each audience member."""

    def __init__(self, *, two_hop_weight: float = TWO_HOP_WEIGHT, community_discount: float = COMMUNITY_DISCOUNT) -> None:
        self.w2 = two_hop_weight
        self.d = community_discount
        self.first: Counter[int] = Counter()
        self.second: Counter[int] = Counter()
        self.c1: set[int] = set()  # covered directly (first > 0)
        self.c2: set[int] = set()  # covered two hops away (second > 0)
        self.reaches: dict[Hashable, list[int]] = defaultdict(list)
        self.members: list[int] = []
        self.value = 0.0

    @staticmethod
    def _group(p: Person) -> Hashable:
        return ("c", p.community) if p.community is not None else ("p", p.id)

    def _worth(self, node: int) -> float:
        if node in self.c1:
            return 1.0
        return self.w2 if node in self.c2 else 0.0

    def graph_gain(self, p: Person) -> float:
        """New direct connections count 1 (1 − w2 for those already two hops from a pick); new people two
        hops away count w2. Set operations: the sets can hold thousands of people."""
        new_first = p.one_hop - self.c1
        gain = len(new_first) - self.w2 * len(new_first & self.c2)
        if self.w2:
            gain += self.w2 * len(p.two_hop - self.c1 - self.c2)
        return float(gain)

    def reach_gain(self, p: Person) -> float:
        current = self.reaches.get(self._group(p), [])
        return discounted([*current, p.reach], self.d) - discounted(current, self.d)

    def gain(self, p: Person) -> float:
        return self.graph_gain(p) + self.reach_gain(p)

    def add(self, p: Person) -> float:
        gain = self.gain(p)
        self.first.update(p.one_hop)
        self.second.update(p.two_hop)
        self.c1 |= p.one_hop
        self.c2 |= p.two_hop
        self.reaches[self._group(p)].append(p.reach)
        self.members.append(p.id)
        self.value += gain
        return gain

    def remove(self, p: Person) -> float:
        """Take p out; returns the coverage lost."""
        loss = 0.0
        for node in p.one_hop:
            before = self._worth(node)
            self.first[node] -= 1
            if self.first[node] <= 0:
                self.c1.discard(node)
            loss += before - self._worth(node)
        for node in p.two_hop:
            before = self._worth(node)
            self.second[node] -= 1
            if self.second[node] <= 0:
                self.c2.discard(node)
            loss += before - self._worth(node)
        group = self._group(p)
        before_reach = discounted(self.reaches[group], self.d)
        self.reaches[group].remove(p.reach)
        loss += before_reach - discounted(self.reaches[group], self.d)
        self.members.remove(p.id)
        self.value -= loss
        return loss


def coverage(people: Iterable[Person], *, two_hop_weight: float = TWO_HOP_WEIGHT,
             community_discount: float = COMMUNITY_DISCOUNT) -> float:
    state = Coverage(two_hop_weight=two_hop_weight, community_discount=community_discount)
    for p in people:
        state.add(p)
    return state.value


@dataclass
class Pick:
    id: int
    gain: float  # marginal gain when added, in this order
    graph_gain: float
    reach_gain: float
    cumulative: float
    fee: float | None
    community: int | None
    swapped_in: bool = False


@dataclass
class Roster:
    picks: list[Pick] = field(default_factory=list)
    value: float = 0.0
    top_k: list[int] = field(default_factory=list)  # the k best by score, for comparison
    top_k_value: float = 0.0
    shared: list[int] = field(default_factory=list)  # in both
    swaps: int = 0  # improvements the swap pass made
    single_chosen: bool = False  # with a budget: the best single person beat the greedy set
    spent: float = 0.0
    budget: float | None = None
    unknown_fees: list[int] = field(default_factory=list)  # picks whose fee is not known
    pool: int = 0

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.picks]

    @property
    def difference_pct(self) -> float | None:
        """How much more (or less, negative) the roster covers than the top k, in percent."""
        if self.top_k_value <= 0:
            return None
        return (self.value - self.top_k_value) / self.top_k_value * 100

    @property
    def top_k_better(self) -> bool:
        return self.top_k_value > self.value + EPS


def _cost(p: Person, default_fee: float | None) -> float | None:
    return p.fee if p.fee is not None else default_fee


def _greedy(pool: list[Person], k: int, state: Coverage, budget: float | None, default_fee: float | None) -> list[Person]:
    """CELF lazy greedy; ties go to the earlier in the pool (the discovery order). With a budget the key
    is gain per unit of fee (an unknown or zero fee counts as free: ordered by gain, before the rest)."""
    order = {p.id: i for i, p in enumerate(pool)}

    def key(p: Person, gain: float) -> tuple[float, float, int]:
        cost = _cost(p, default_fee) if budget is not None else None
        ratio = math.inf if not cost else gain / cost
        return (-ratio if budget is not None else -gain, -gain, order[p.id])

    remaining = budget
    heap: list[tuple[tuple[float, float, int], int, int]] = []  # (key, round evaluated, index)
    for i, p in enumerate(pool):
        heap.append((key(p, state.gain(p)), 0, i))
    heapq.heapify(heap)
    chosen: list[Person] = []
    while heap and len(chosen) < k:
        sort_key, evaluated, index = heapq.heappop(heap)
        p = pool[index]
        if remaining is not None and (_cost(p, default_fee) or 0.0) > remaining + EPS:
            continue  # it will never fit again: the budget only shrinks
        if evaluated != len(chosen):
            heapq.heappush(heap, (key(p, state.gain(p)), len(chosen), index))
            continue
        state.add(p)
        chosen.append(p)
        if remaining is not None:
            remaining -= _cost(p, default_fee) or 0.0
    return chosen


def _swap_pass(pool: list[Person], chosen: list[Person], state: Coverage, budget: float | None,
               default_fee: float | None) -> tuple[list[Person], set[int]]:
    """Bounded local improvement: swap one pick for one outsider while that increases the coverage
    (and keeps the budget). Outsiders tried: the SWAP_CANDIDATES best on their own."""
    alone = Coverage(two_hop_weight=state.w2, community_discount=state.d)
    order = {p.id: i for i, p in enumerate(pool)}
    inside_ids = {c.id for c in chosen}
    outsiders = sorted((p for p in pool if p.id not in inside_ids),
                       key=lambda p: (-alone.gain(p), order[p.id]))[:SWAP_CANDIDATES]
    swapped: set[int] = set()
    checks = 0
    improved = True
    while improved and checks < SWAP_CHECKS:
        improved = False
        for position, inside in enumerate(chosen):
            spent = sum(_cost(p, default_fee) or 0.0 for p in chosen) - (_cost(inside, default_fee) or 0.0)
            loss = state.remove(inside)
            best: tuple[float, int] | None = None
            for j, outside in enumerate(outsiders):
                checks += 1
                if budget is not None and spent + (_cost(outside, default_fee) or 0.0) > budget + EPS:
                    continue
                delta = state.gain(outside) - loss
                if delta > EPS and (best is None or delta > best[0] + EPS):
                    best = (delta, j)
            if best is None:
                state.add(inside)
                continue
            outside = outsiders[best[1]]
            state.add(outside)
            chosen[position] = outside
            outsiders[best[1]] = inside
            swapped.add(outside.id)
            swapped.discard(inside.id)
            improved = True
            if checks >= SWAP_CHECKS:
                break
    return chosen, swapped


def build_roster(pool: Sequence[Person], k: int, *, budget: float | None = None, default_fee: float | None = None,
                 two_hop_weight: float = TWO_HOP_WEIGHT, community_discount: float = COMMUNITY_DISCOUNT,
                 swaps: bool = True) -> Roster:
    """Choose up to k people of `pool` (in discovery order: earlier wins ties) covering the most distinct
    audience; compare with the k best by score. k larger than the pool is refused (InvalidInput on k)."""
    people = list(dict((p.id, p) for p in pool).values())
    if k < 1:
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors={"k": gettext("Choose at least one person.")})
    if not people:
        return Roster(budget=budget, pool=0)
    if k > len(people):
        raise InvalidInput(
            gettext("Check the highlighted fields."),
            field_errors={"k": gettext("Only %(n)s candidates are left after the filters and exclusions: ask for at most %(n)s.")
                          % {"n": len(people)}})
    settings = {"two_hop_weight": two_hop_weight, "community_discount": community_discount}
    order = {p.id: i for i, p in enumerate(people)}
    state = Coverage(**settings)
    chosen = _greedy(people, k, state, budget, default_fee)
    single_chosen = False
    if budget is not None:
        fits = [p for p in people if (_cost(p, default_fee) or 0.0) <= budget + EPS]
        if fits:
            empty = Coverage(**settings)
            best = min(fits, key=lambda p: (-empty.gain(p), order[p.id]))
            if empty.gain(best) > state.value + EPS:
                state = Coverage(**settings)
                state.add(best)
                chosen = [best]
                single_chosen = True
    swapped: set[int] = set()
    if swaps and chosen:
        chosen, swapped = _swap_pass(people, chosen, state, budget, default_fee)
    # The gains as shown: each pick's marginal gain in the final order.
    shown = Coverage(**settings)
    picks = []
    for p in chosen:
        graph_gain, reach_gain = shown.graph_gain(p), shown.reach_gain(p)
        shown.add(p)
        picks.append(Pick(id=p.id, gain=graph_gain + reach_gain, graph_gain=graph_gain, reach_gain=reach_gain,
                          cumulative=shown.value, fee=p.fee, community=p.community, swapped_in=p.id in swapped))
    top = sorted(people, key=lambda p: (-p.score, order[p.id]))[:k]
    chosen_ids = {p.id for p in chosen}
    spent = sum(_cost(p, default_fee) or 0.0 for p in chosen)
    return Roster(picks=picks, value=shown.value, top_k=[p.id for p in top], top_k_value=coverage(top, **settings),
                  shared=[p.id for p in top if p.id in chosen_ids], swaps=len(swapped), single_chosen=single_chosen,
                  spent=spent, budget=budget, unknown_fees=[p.id for p in chosen if p.fee is None], pool=len(people))
