"""Warm introductions: the strongest short path from one of ours (team members and champions) to a
person, through the relationship graph, with the evidence for each hop.

Each pair of people connected by any relationship (either direction, any kind) is one undirected link;
its cost is

    cost = 1 + (1 − strength) + age_penalty

with strength the strongest of their relationships (0..1) and age_penalty 0 when they were last seen
together within 90 days, growing to 1 at two years (1 when never dated). A path's cost is the sum of its
links' costs: fewer hops first (each costs at least 1), then stronger and more recent ties.

The search never touches the whole graph: a breadth-first walk out from the person, at most MAX_HOPS
hops and MAX_PEOPLE people, reads the links with indexed queries; networkx's multi-source Dijkstra
then runs on that subgraph, layered by hop count so that no path is longer than MAX_HOPS."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import networkx as nx
from sqlalchemy import Table, Text, and_, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlmodel import Session

from crm.campaigns import service
from crm.campaigns.models import Campaign
from crm.db import utcnow
from crm.errors import NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Profile

P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
R = cast(Table, Relationship.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]

MAX_HOPS = 4
MAX_PEOPLE = 5_000  # people the walk reaches at most
MAX_LINKS = 100_000  # relationship rows it reads at most
FRESH_DAYS = 90
STALE_DAYS = 730
CHUNK = 500


# ---- pure ----------------------------------------------------------------------------------------


def age_penalty(last_seen: datetime | None, now: datetime) -> float:
    if last_seen is None:
        return 1.0
    days = (now - last_seen).total_seconds() / 86400
    if days <= FRESH_DAYS:
        return 0.0
    return min(1.0, (days - FRESH_DAYS) / (STALE_DAYS - FRESH_DAYS))


def edge_cost(strength: float, last_seen: datetime | None, now: datetime) -> float:
    """1 + (1 − strength) + age_penalty(last_seen): between 1 (strong and recent) and 3."""
    return 1.0 + (1.0 - min(max(float(strength), 0.0), 1.0)) + age_penalty(last_seen, now)


def best_path(costs: Mapping[tuple[int, int], float], sources: Iterable[int], target: int,
              max_hops: int = MAX_HOPS) -> tuple[list[int], float] | None:
    """The cheapest path of at most `max_hops` links from any source to target over the undirected links
    in `costs` ((a, b) -> cost; a pair given both ways keeps the cheaper). None when there is none.
    Ties: fewer hops, then the path through lower ids (deterministic)."""
    adjacency: dict[int, dict[int, float]] = defaultdict(dict)
    for (a, b), cost in costs.items():
        if a == b:
            continue
        for u, v in ((a, b), (b, a)):
            if v not in adjacency[u] or cost < adjacency[u][v]:
                adjacency[u][v] = cost
    starts = sorted({s for s in sources if s != target and s in adjacency})
    if not starts or target not in adjacency:
        return None
    # Hops still needed to reach the target from each person (breadth-first from the target).
    to_target = {target: 0}
    frontier = [target]
    for hop in range(1, max_hops + 1):
        following = []
        for u in frontier:
            for v in sorted(adjacency[u]):
                if v not in to_target:
                    to_target[v] = hop
                    following.append(v)
        frontier = following
    starts = [s for s in starts if s in to_target]
    if not starts:
        return None
    # Layered graph: (person, hops so far); a layer exists only if the target is still within reach.
    graph = nx.DiGraph()
    end = ("end", 0)
    for u, others in adjacency.items():
        if u not in to_target:
            continue
        for h in range(0, max_hops - to_target[u] + 1):
            for v, cost in others.items():
                if v in to_target and h + 1 + to_target[v] <= max_hops:
                    graph.add_edge((u, h), (v, h + 1), weight=cost + 1e-9 * (h + 1))
    for h in range(1, max_hops + 1):
        if (target, h) in graph:
            graph.add_edge((target, h), end, weight=0.0)
    heads = [(s, 0) for s in starts if (s, 0) in graph]
    if not heads or end not in graph:
        return None
    try:
        cost, path = nx.multi_source_dijkstra(graph, heads, target=end, weight="weight")
    except nx.NetworkXNoPath:
        return None
    people = [node[0] for node in path[:-1]]
    return people, round(sum(costs_between(adjacency, people)), 6)


def costs_between(adjacency: Mapping[int, Mapping[int, float]], people: list[int]) -> list[float]:
    return [adjacency[a][b] for a, b in zip(people, people[1:], strict=False)]


# ---- from the database ---------------------------------------------------------------------------


@dataclass
class Hop:
    source_id: int
    source_name: str
    target_id: int
    target_name: str
    kinds: list[str]
    strength: float
    last_seen: datetime | None
    cost: float
    interactions: int = 0
    latest_title: str | None = None
    latest_at: datetime | None = None


@dataclass
class Suggestion:
    profile_id: int
    name: str
    shared_topics: list[str]


@dataclass
class Intro:
    campaign: Campaign
    target: Profile
    path: list[int] = field(default_factory=list)  # ids, from one of ours to the target
    names: dict[int, str] = field(default_factory=dict)
    hops: list[Hop] = field(default_factory=list)
    cost: float | None = None
    ours: bool = False  # the target is a team member or a champion
    limited: bool = False  # the walk stopped at MAX_PEOPLE or MAX_LINKS
    reached: int = 0  # people the walk reached
    suggestions: list[Suggestion] = field(default_factory=list)
    start_is_team: bool = False

    @property
    def found(self) -> bool:
        return bool(self.path)


def _is_ours() -> Any:
    return or_(P.c.is_team_member.is_(True), P.c.level == 1)


def _ours_among(ids: list[int], *, session: Session) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(int(pid) for pid, in session.connection().execute(
            select(P.c.id).where(P.c.id.in_(ids[start:start + CHUNK]), _is_ours())))
    return found


def _walk(target: int, now: datetime, *, session: Session
          ) -> tuple[dict[tuple[int, int], dict[str, Any]], set[int], set[int], bool]:
    """Breadth-first from the target, at most MAX_HOPS hops: the links among the people reached, keyed
    by (low id, high id), with their strongest strength, latest last-seen and kinds; the people; ours
    among them. It stops early once a path is found that no longer path can beat (each link costs at
    least 1)."""
    links: dict[tuple[int, int], dict[str, Any]] = {}
    seen = {target}
    ours: set[int] = set()
    frontier = [target]
    rows_read = 0
    limited = False
    for hop in range(1, MAX_HOPS + 1):
        following: list[int] = []
        for start in range(0, len(frontier), CHUNK):
            chunk = frontier[start:start + CHUNK]
            for column in (R.c.source_id, R.c.target_id):
                rows = session.connection().execute(
                    select(R.c.source_id, R.c.target_id, R.c.kind, R.c.strength, R.c.last_seen)
                    .where(column.in_(chunk))).all()
                rows_read += len(rows)
                for a, b, kind, strength, last_seen in rows:
                    if a == b:
                        continue
                    other = b if column is R.c.source_id else a
                    if other not in seen:
                        if len(seen) >= MAX_PEOPLE:
                            limited = True
                            continue
                        seen.add(other)
                        following.append(other)
                    key = (a, b) if a < b else (b, a)
                    link = links.get(key)
                    if link is None:
                        link = links[key] = {"strength": 0.0, "last_seen": None, "kinds": set()}
                    if strength > link["strength"]:
                        link["strength"] = float(strength)
                    if last_seen is not None and (link["last_seen"] is None or last_seen > link["last_seen"]):
                        link["last_seen"] = last_seen
                    link["kinds"].add(kind)
            if rows_read >= MAX_LINKS:
                limited = True
                break
        ours |= _ours_among(following, session=session)
        if ours or limited:
            costs = {key: edge_cost(link["strength"], link["last_seen"], now) for key, link in links.items()}
            found = best_path(costs, ours, target, max_hops=hop)
            if limited or (found is not None and found[1] <= hop + 1):
                break
        frontier = following
        if not frontier:
            break
    return links, seen, ours, limited


def _evidence(a: int, b: int, *, session: Session) -> tuple[int, str | None, datetime | None]:
    between = or_(and_(X.c.profile_id == a, X.c.counterpart_id == b), and_(X.c.profile_id == b, X.c.counterpart_id == a))
    count = session.connection().execute(select(func.count()).select_from(X).where(between)).scalar_one()
    latest = session.connection().execute(select(X.c.title, X.c.occurred_at).where(between)
                                          .order_by(X.c.occurred_at.desc(), X.c.id.desc()).limit(1)).first()
    return int(count or 0), (latest[0] if latest else None), (latest[1] if latest else None)


def _suggest(target: Profile, *, session: Session, limit: int = 3) -> list[Suggestion]:
    """With no path: the team members and champions who share most topics with the person."""
    topics = list(target.topics or [])
    if not topics:
        return []
    matches = [sql_cast(P.c.topics, Text).like("%" + json.dumps(t).replace("\\", "\\\\").replace("%", "\\%")
                                               .replace("_", "\\_") + "%", escape="\\") for t in topics]
    rows = session.connection().execute(
        select(P.c.id, P.c.display_name, P.c.topics, P.c.score).where(_is_ours(), or_(*matches), P.c.id != target.id)
        .order_by(P.c.score.desc(), P.c.id).limit(200)).all()
    wanted = set(topics)
    ranked = sorted(rows, key=lambda r: (-len(wanted & set(r[2] or [])), -float(r[3] or 0), r[0]))
    return [Suggestion(profile_id=int(r[0]), name=r[1], shared_topics=[t for t in topics if t in set(r[2] or [])])
            for r in ranked[:limit]]


def warm_intro(campaign_id: int, profile_id: int, *, session: Session, now: datetime | None = None) -> Intro:
    campaign = service.get_campaign(campaign_id, session=session)
    target = session.get(Profile, profile_id)
    if target is None:
        raise NotFound(gettext("There is no person with id %(id)s.") % {"id": profile_id})
    now = now or utcnow()
    intro = Intro(campaign=campaign, target=target, ours=bool(target.is_team_member or target.level == 1))
    links, seen, ours, limited = _walk(profile_id, now, session=session)
    intro.limited, intro.reached = limited, len(seen) - 1
    costs = {key: edge_cost(link["strength"], link["last_seen"], now) for key, link in links.items()}
    found = best_path(costs, ours, profile_id)
    if found is None:
        intro.suggestions = _suggest(target, session=session)
        return intro
    path, cost = found
    intro.path, intro.cost = path, cost
    names = {int(pid): (name, team) for pid, name, team in session.connection().execute(
        select(P.c.id, P.c.display_name, P.c.is_team_member).where(P.c.id.in_(path)))}
    intro.names = {pid: names[pid][0] for pid in path}
    intro.start_is_team = bool(names[path[0]][1])
    for a, b in zip(path, path[1:], strict=False):
        link = links[(min(a, b), max(a, b))]
        count, title, when = _evidence(a, b, session=session)
        intro.hops.append(Hop(source_id=a, source_name=intro.names[a], target_id=b, target_name=intro.names[b],
                              kinds=sorted(link["kinds"]), strength=round(link["strength"], 3),
                              last_seen=link["last_seen"], cost=round(costs[(min(a, b), max(a, b))], 3),
                              interactions=count, latest_title=title, latest_at=when))
    return intro
