"""Graph views: the ego network around one person and the community explorer.

Edges are the rows of the relationship table: those added by hand or by import and those derived from
interactions that have a counterpart (origin "interaction", written by crm.relationships). Nothing
here derives edges itself.

Communities are Louvain communities (networkx, seed 42) of the whole undirected graph, strengths
summed per pair, kept in memory per graph version (counts and latest timestamps of relationships).
A small graph (up to INLINE_PAIRS connected pairs: well under a second) is partitioned where it is
first needed. A larger one never is on a request: the "communities" job computes and stores them
(the job worker queues it when the graph changed), and pages use the last stored communities,
marked stale, until it has run. The explorer draws at most `limit` people: the members of the largest communities
that are most connected and have the most reach, and says how many it left out.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from sqlalchemy import Engine, delete, func, or_, update
from sqlmodel import Session, col, select

from crm.db import utcnow, write_bind
from crm.errors import NotFound
from crm.graph.models import (
    EGO_DEFAULT_LIMIT,
    EGO_MAX_LIMIT,
    EXPLORER_DEFAULT_LIMIT,
    EXPLORER_MAX_LIMIT,
    CommunitySummary,
    EgoGraph,
    ExplorerEdge,
    ExplorerGraph,
    GraphEdge,
    GraphNode,
    GraphPartition,
    Neighbour,
)
from crm.i18n import gettext
from crm.interactions.models import Relationship
from crm.jobs.models import Job, JobStatus
from crm.profiles.models import Profile, ProfileRole

LOUVAIN_SEED = 42
INLINE_PAIRS = 20_000
COMMUNITIES_JOB = "communities"
_CHUNK = 500  # ids per IN (...) list
_TOP_TOPICS = 3


def _url(profile_id: int) -> str:
    return f"/people/{profile_id}"


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


@dataclass(frozen=True)
class _Edge:
    source: int
    target: int
    kind: str
    strength: float
    origin: str


def _edge_columns() -> tuple[Any, ...]:
    return (col(Relationship.source_id), col(Relationship.target_id), col(Relationship.kind),
            col(Relationship.strength), col(Relationship.origin))


def _edges_touching(ids: Sequence[int], *, session: Session) -> list[_Edge]:
    edges: dict[tuple[int, int, str], _Edge] = {}
    for chunk in _chunks(sorted(ids)):
        query = select(*_edge_columns()).where(
            or_(col(Relationship.source_id).in_(chunk), col(Relationship.target_id).in_(chunk))
        )
        for source, target, kind, strength, origin in session.exec(query):  # type: ignore[call-overload]
            if source != target:
                edges[(source, target, kind)] = _Edge(source, target, kind, float(strength or 0.0), origin)
    return list(edges.values())


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    roles: list[str]
    topics: list[str]
    reach: int


def _people(ids: Iterable[int] | None, *, session: Session) -> dict[int, _Person]:
    columns = (col(Profile.id), col(Profile.display_name), col(Profile.roles), col(Profile.topics), col(Profile.reach))
    rows: list[Any] = []
    if ids is None:
        rows = list(session.exec(select(*columns)))  # type: ignore[call-overload]
    else:
        for chunk in _chunks(sorted(set(ids))):
            rows.extend(session.exec(select(*columns).where(col(Profile.id).in_(chunk))))  # type: ignore[call-overload]
    return {
        int(pid): _Person(int(pid), name, list(roles or []), list(topics or []), int(reach or 0))
        for pid, name, roles, topics, reach in rows
    }


# ---- communities, cached per graph version ------------------------------------------------------


@dataclass
class Partition:
    """Everything about the whole graph that the explorer needs, computed once per version."""

    version: tuple[Any, ...]
    community_of: dict[int, int]  # profile id -> community index (0 = largest); connected people only
    sizes: list[int]
    degree: dict[int, int]  # distinct people each person is connected to
    pairs: dict[tuple[int, int], float]  # (low id, high id) -> summed strength
    neighbours: dict[int, set[int]] = field(default_factory=dict)
    stale: bool = False  # the stored communities of an earlier version (a large graph, the job not yet run)
    stored_id: int | None = None


def _table_version(table: Any, *columns: Any) -> list[Any]:
    return [select(func.count()).select_from(table).scalar_subquery(), select(func.max(table.c.id)).scalar_subquery(),
            *(select(func.max(column)).scalar_subquery() for column in columns)]


def graph_version(*, session: Session) -> tuple[Any, ...]:
    """Changes whenever a relationship is added, changed or removed: one cheap statement (counts and
    max ids come from indexes; the latest timestamps catch a changed strength or a reused id).
    Interactions count through the relationships derived from them (origin "interaction")."""
    table = Relationship.__table__  # type: ignore[attr-defined]
    row = session.connection().execute(select(*_table_version(table, table.c.created_at, table.c.updated_at))).one()
    return tuple(str(value) for value in row)


def people_version(*, session: Session) -> tuple[Any, ...]:
    """Changes whenever a profile is added, edited or removed."""
    table = Profile.__table__  # type: ignore[attr-defined]
    row = session.connection().execute(select(*_table_version(table, table.c.updated_at))).one()
    return tuple(str(value) for value in row)


_cache: dict[str, Partition] = {}
_cache_lock = threading.RLock()
_CACHE_DATABASES = 4


def _database_key(*, session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def louvain(pairs: dict[tuple[int, int], float], *, seed: int = LOUVAIN_SEED) -> list[set[int]]:
    """Louvain communities of an undirected weighted graph, largest first (ties: lowest id first).
    Edges are added in a fixed order, so the same graph and seed always give the same communities."""
    graph = nx.Graph()
    for (low, high), weight in sorted(pairs.items()):
        graph.add_edge(low, high, weight=weight)
    if graph.number_of_nodes() == 0:
        return []
    found = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    return sorted((set(c) for c in found), key=lambda c: (-len(c), min(c)))


def _pairs(*, session: Session) -> dict[tuple[int, int], float]:
    query = select(col(Relationship.source_id), col(Relationship.target_id), col(Relationship.strength))
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for source, target, strength in session.exec(query):  # type: ignore[call-overload]
        if source != target:
            key = (source, target) if source < target else (target, source)
            # An edge of strength 0 still connects two people; Louvain needs a positive weight.
            pairs[key] += max(float(strength or 0.0), 0.01)
    return dict(pairs)


def _stored(*, session: Session) -> GraphPartition | None:
    query = select(GraphPartition).order_by(col(GraphPartition.id).desc()).limit(1)
    return session.exec(query).first()


def _latest_stored_id(*, session: Session) -> int | None:
    return session.exec(select(func.max(GraphPartition.id))).one()


def _version_text(version: tuple[Any, ...]) -> str:
    return "|".join(version)[:300]


def _compute_partition(version: tuple[Any, ...], *, session: Session) -> Partition:
    pairs = _pairs(session=session)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for low, high in pairs:
        neighbours[low].add(high)
        neighbours[high].add(low)
    stored = _stored(session=session)
    stale = False
    if stored is not None and stored.version == _version_text(version):
        communities = [set(members) for members in stored.communities]
    elif len(pairs) <= INLINE_PAIRS:
        communities = louvain(pairs)
    else:  # too large for a request: people connected since the job ran have no community yet
        stale = True
        kept = ({pid for pid in members if pid in neighbours} for members in (stored.communities if stored else []))
        communities = sorted((c for c in kept if c), key=lambda c: (-len(c), min(c)))
    community_of = {pid: index for index, members in enumerate(communities) for pid in members}
    return Partition(
        version=version, community_of=community_of, sizes=[len(c) for c in communities],
        degree={pid: len(others) for pid, others in neighbours.items()}, pairs=pairs, neighbours=dict(neighbours),
        stale=stale, stored_id=stored.id if stored else None,
    )


def partition(*, session: Session) -> Partition:
    """The communities of the current graph: computed on the first call after a change, then reused.
    Concurrent callers wait for the one computation rather than each doing it."""
    version = graph_version(session=session)
    key = _database_key(session=session)

    def current(cached: Partition | None) -> bool:
        return cached is not None and cached.version == version and (
            not cached.stale or _latest_stored_id(session=session) == cached.stored_id)

    cached = _cache.get(key)
    if cached is not None and current(cached):
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and current(cached):
            return cached
        computed = _compute_partition(version, session=session)
        if key not in _cache and len(_cache) >= _CACHE_DATABASES:
            _cache.pop(next(iter(_cache)))
        _cache[key] = computed
        return computed


_people_cache: dict[str, tuple[tuple[Any, ...], dict[int, _Person]]] = {}


def everyone(*, session: Session) -> dict[int, _Person]:
    """Name, roles, topics and reach of every profile, reloaded only after a profile changes."""
    version = people_version(session=session)
    key = _database_key(session=session)
    cached = _people_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _cache_lock:
        cached = _people_cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        loaded = _people(None, session=session)
        if key not in _people_cache and len(_people_cache) >= _CACHE_DATABASES:
            _people_cache.pop(next(iter(_people_cache)))
        _people_cache[key] = (version, loaded)
        return loaded


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _people_cache.clear()


# ---- the communities job (large graphs) -----------------------------------------------------------


def refresh_communities(engine: Engine) -> int:
    """Compute the communities of the graph as it is now and store them (older ones are removed)."""
    with Session(engine) as session:
        version = graph_version(session=session)
        pairs = _pairs(session=session)
    started = time.perf_counter()
    communities = louvain(pairs)
    seconds = round(time.perf_counter() - started, 3)
    with Session(write_bind(engine)) as session:
        row = GraphPartition(version=_version_text(version), communities=[sorted(c) for c in communities],
                             seconds=seconds)
        session.add(row)
        session.flush()
        session.execute(delete(GraphPartition).where(col(GraphPartition.id) < row.id))
        session.commit()
        return int(row.id or 0)


def communities_due(*, session: Session) -> bool:
    """A large graph changed since its communities were stored, and no job is on it yet."""
    if (session.exec(select(func.count()).select_from(Relationship)).one() or 0) <= INLINE_PAIRS:
        return False
    stored = _stored(session=session)
    if stored is not None and stored.version == _version_text(graph_version(session=session)):
        return False
    busy = session.exec(select(Job.id).where(col(Job.kind) == COMMUNITIES_JOB, col(Job.status).in_(
        (JobStatus.queued.value, JobStatus.running.value))).limit(1)).first()
    return busy is None


def run_communities_job(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None) -> None:
    stored_id = refresh_communities(engine)
    with write_bind(engine).begin() as conn:
        conn.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(  # type: ignore[attr-defined]
            status=JobStatus.done.value, finished_at=utcnow(), progress=1, total=1, counts={"partition": stored_id}))


# ---- the ego network -----------------------------------------------------------------------------


def ego_network(profile_id: int, *, session: Session, hops: int = 1, limit: int = EGO_DEFAULT_LIMIT) -> EgoGraph:
    """The person, the people within `hops` (1 or 2) of them and the edges among those drawn.

    At most `limit` people are drawn, the person included: first-hop people before second-hop ones,
    each ordered by their strongest edge (then reach); `omitted` says how many were left out."""
    hops = 2 if hops >= 2 else 1
    limit = max(2, min(limit, EGO_MAX_LIMIT))
    center = _people([profile_id], session=session).get(profile_id)
    if center is None:
        raise NotFound(gettext("There is no person with id %(id)d.") % {"id": profile_id})

    first_edges = _edges_touching([profile_id], session=session)
    first: dict[int, float] = {}
    for edge in first_edges:
        other = edge.target if edge.source == profile_id else edge.source
        first[other] = max(first.get(other, 0.0), edge.strength)

    around = _edges_touching(list(first), session=session) if first else []
    second: dict[int, tuple[float, int]] = {}  # person -> (strongest edge, through whom)
    if hops == 2:
        for edge in around:
            for near, far in ((edge.source, edge.target), (edge.target, edge.source)):
                if near in first and far != profile_id and far not in first:
                    best = second.get(far)
                    if best is None or edge.strength > best[0] or (edge.strength == best[0] and first[near] > first[best[1]]):
                        second[far] = (edge.strength, near)

    people = _people([*first, *second], session=session)
    reach = {pid: people[pid].reach if pid in people else 0 for pid in (*first, *second)}
    first_order = sorted(first, key=lambda pid: (-first[pid], -reach[pid], pid))
    kept_first = first_order[: limit - 1]
    kept_set = {profile_id, *kept_first}
    second_order = sorted((pid for pid, (_, via) in second.items() if via in kept_set),
                          key=lambda pid: (-second[pid][0], -reach[pid], pid))
    kept_second = second_order[: max(0, limit - len(kept_set))]
    kept_set.update(kept_second)

    edges = [e for e in [*first_edges, *around] if e.source in kept_set and e.target in kept_set]
    edges = list({(e.source, e.target, e.kind): e for e in edges}.values())
    edges.sort(key=lambda e: (-e.strength, e.source, e.target, e.kind))

    part = partition(session=session)
    people[profile_id] = center

    def node(pid: int, hop: int) -> GraphNode:
        person = people[pid]
        return GraphNode(id=pid, name=person.name, url=_url(pid), roles=person.roles, reach=person.reach, hop=hop,
                         community=part.community_of.get(pid), degree=part.degree.get(pid, 0))

    def neighbour(pid: int, hop: int, anchor: int, strength: float) -> Neighbour:
        between = [e for e in edges if {e.source, e.target} == {anchor, pid}]
        out = any(e.source == anchor for e in between)
        into = any(e.target == anchor for e in between)
        direction = "both" if out and into else ("out" if out else "in")
        return Neighbour(id=pid, name=people[pid].name, url=_url(pid), hop=hop,
                         kinds=sorted({e.kind for e in between}), direction=direction, strength=strength,
                         via=None if hop == 1 else anchor, via_name=None if hop == 1 else people[anchor].name)

    nodes = [node(profile_id, 0)] + [node(pid, 1) for pid in kept_first] + [node(pid, 2) for pid in kept_second]
    neighbours = [neighbour(pid, 1, profile_id, first[pid]) for pid in kept_first]
    neighbours += [neighbour(pid, 2, second[pid][1], second[pid][0]) for pid in kept_second]
    total = len(first) + len(second)
    return EgoGraph(
        center=profile_id, center_name=center.name, hops=hops, limit=limit, nodes=nodes,
        edges=[GraphEdge(source=e.source, target=e.target, kind=e.kind, strength=e.strength, origin=e.origin)
               for e in edges],
        neighbours=neighbours, total=total, omitted=total - (len(kept_first) + len(kept_second)),
    )


# ---- the community explorer ----------------------------------------------------------------------


def fold(text: str) -> str:
    """Case and accents folded: "Lucia" finds "Lucía"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _find(query: str, people: dict[int, _Person], part: Partition) -> _Person | None:
    """Exact name first, then names starting with it, then containing it; among equals, the most
    connected, then the largest reach."""
    wanted = fold(query)
    if not wanted:
        return None
    best: tuple[int, int, int, int] | None = None
    found: _Person | None = None
    for person in people.values():
        name = fold(person.name)
        if wanted not in name:
            continue
        rank = 0 if name == wanted else (1 if name.startswith(wanted) else 2)
        key = (rank, -part.degree.get(person.id, 0), -person.reach, person.id)
        if best is None or key < best:
            best, found = key, person
    return found


def _select(groups: dict[int, list[int]], limit: int) -> list[int]:
    """Share `limit` places among communities in proportion to their size, largest first; members
    come in the order given (most connected first). Communities too small for a place are left out."""
    total = sum(len(members) for members in groups.values())
    if total <= limit:
        return [pid for members in groups.values() for pid in members]
    chosen: list[int] = []
    order = sorted(groups, key=lambda c: (-len(groups[c]), c))
    quota = {c: int(limit * len(groups[c]) / total) for c in order}  # small communities may get none
    for community in order:
        room = limit - len(chosen)
        if room <= 0:
            break
        chosen.extend(groups[community][: min(quota[community], room)])
    # Rounding down leaves places: give them to the largest communities' next members.
    if len(chosen) < limit:
        taken = set(chosen)
        for community in order:
            for pid in groups[community]:
                if len(chosen) >= limit:
                    break
                if pid not in taken:
                    chosen.append(pid)
                    taken.add(pid)
    return chosen


def explore(
    *, session: Session, role: ProfileRole | None = None, topic: str = "", find: str = "",
    limit: int = EXPLORER_DEFAULT_LIMIT,
) -> ExplorerGraph:
    """The community explorer: connected people matching the filters, at most `limit` of them drawn."""
    limit = max(10, min(limit, EXPLORER_MAX_LIMIT))
    topic = " ".join(topic.split()).lower()[:50]
    find = find.strip()[:200]
    part = partition(session=session)
    people = everyone(session=session)

    def matches(person: _Person) -> bool:
        return (role is None or role.value in person.roles) and (not topic or topic in person.topics)

    def strength(pid: int) -> tuple[int, int, int]:
        return (-part.degree.get(pid, 0), -people[pid].reach, pid)

    groups: dict[int, list[int]] = defaultdict(list)
    for pid, community in part.community_of.items():
        if pid in people and matches(people[pid]):
            groups[community].append(pid)
    for members in groups.values():
        members.sort(key=strength)
    matching = sum(len(m) for m in groups.values())
    chosen = _select(groups, limit)

    focus = _find(find, people, part) if find else None
    if focus is not None and focus.id in part.community_of and focus.id not in set(chosen):
        if len(chosen) >= limit:
            chosen.pop()
        chosen.append(focus.id)
    shown = set(chosen)

    nodes = [
        GraphNode(id=pid, name=people[pid].name, url=_url(pid), roles=people[pid].roles, reach=people[pid].reach,
                  hop=None, community=part.community_of[pid], degree=part.degree.get(pid, 0))
        for pid in chosen
    ]
    pairs = sorted((pid, other) for pid in shown for other in part.neighbours.get(pid, ()) if pid < other and other in shown)
    edges = [ExplorerEdge(source=low, target=high, weight=round(part.pairs[(low, high)], 3)) for low, high in pairs]

    members_of: dict[int, list[int]] = defaultdict(list)
    for pid, community in part.community_of.items():
        members_of[community].append(pid)
    shown_in = Counter(part.community_of[pid] for pid in chosen)
    summaries = []
    for community in sorted(shown_in):
        topics = Counter(t for pid in members_of[community] if pid in people for t in people[pid].topics)
        summaries.append(CommunitySummary(
            index=community, size=part.sizes[community], matching=len(groups.get(community, [])),
            shown=shown_in[community],
            topics=[t for t, _ in sorted(topics.items(), key=lambda item: (-item[1], item[0]))[:_TOP_TOPICS]],
        ))
    return ExplorerGraph(
        role=role, topic=topic, find=find, limit=limit, nodes=nodes, edges=edges, communities=summaries,
        community_count=sum(1 for size in part.sizes if size >= 2), total_profiles=len(people),
        connected=len(part.community_of), matching=matching, shown=len(shown),
        omitted=max(0, matching - len(shown & {pid for m in groups.values() for pid in m})),
        focus=focus.id if focus is not None and focus.id in shown else None,
        focus_name=focus.name if focus is not None else None,
        focus_connected=focus is not None and focus.id in part.community_of, communities_stale=part.stale,
    )


def common_topics(*, session: Session, limit: int = 40) -> list[str]:
    """Topics to offer in the explorer's filter, commonest first."""
    counts: Counter[str] = Counter()
    for topics in session.exec(select(col(Profile.topics))):
        counts.update(topics or [])
    return [t for t, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]
