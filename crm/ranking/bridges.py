"""Bridge scores: how much a person connects people who would otherwise be apart, measured on their
own neighbourhood (two hops, capped), never on the whole graph (DESIGN.md: networkx for subgraphs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

SAMPLE = 40  # betweenness from at most this many sources (seeded), so a large neighbourhood stays fast


@dataclass(frozen=True)
class Bridge:
    betweenness: float  # 0..1: share of shortest paths between others in the neighbourhood that pass through them
    communities: int  # distinct communities among the people they are directly connected to
    neighbourhood: int  # people in the neighbourhood measured (the person included)


def bridge_score(center: int, edges: Iterable[tuple[int, int]], community_of: dict[int, int | None],
                 direct: Iterable[int]) -> Bridge:
    graph = nx.Graph()
    graph.add_node(center)
    graph.add_edges_from((a, b) for a, b in edges if a != b)
    n = graph.number_of_nodes()
    if n < 3:
        betweenness = 0.0
    else:
        k = min(SAMPLE, n)
        betweenness = float(nx.betweenness_centrality(graph, k=k if k < n else None, normalized=True, seed=42)[center])
    linked = {community_of.get(pid) for pid in direct} - {None}
    return Bridge(betweenness=round(betweenness, 4), communities=len(linked), neighbourhood=n)
