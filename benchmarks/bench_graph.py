"""Graph views at 5,000 profiles: is the community explorer and the ego network still responsive?

Builds a SQLite database with N profiles in planted communities (power-law sizes, most edges inside a
community, some across) and times, through the same service the pages and JSON routes call:
the Louvain partition once (cold, beside networkx's louvain_communities on the same graph as the
same-run reference), the explorer JSON (warm: the partition is cached per graph version), and the
ego network of the best-connected person and of a typical one, 1 and 2 hops, with their JSON sizes.

    .ci/.venv/bin/python benchmarks/bench_graph.py [--profiles 5000] [--edges 25000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from crm.db import make_engine, upgrade, utcnow  # noqa: E402
from crm.graph import service as graph  # noqa: E402
from crm.interactions.models import Relationship  # noqa: E402
from crm.profiles.models import Profile  # noqa: E402

ROLES = ["influencer", "evangelist", "moderator", "employee_advocate", "customer", "journalist", "partner", "other"]
TOPICS = ["kubernetes", "python", "design", "security", "observability", "devrel", "data", "mobile", "cloud", "ai"]
KINDS = ["knows", "follows", "mentions", "replies_to", "collaborates", "referred", "colleague"]


def build(url: str, profiles: int, edges: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    now = utcnow()
    sizes: list[int] = []
    left = profiles
    while left > 0:
        size = min(left, max(5, int(rng.paretovariate(1.2) * 20)))
        sizes.append(size)
        left -= size
    community_of: list[int] = []
    for index, size in enumerate(sizes):
        community_of.extend([index] * size)
    rows = []
    for i in range(profiles):
        c = community_of[i]
        rows.append({
            "id": i + 1, "display_name": f"Person {i + 1}", "roles": [rng.choice(ROLES)],
            "topics": [TOPICS[c % len(TOPICS)], rng.choice(TOPICS)], "reach": int(rng.paretovariate(1.1) * 100),
            "is_team_member": False, "bio": "", "language": "", "location": "", "status": "active",
            "may_contact": False, "may_feature": False, "consent_basis": "", "tags": [], "contribution_count": 0,
            "search_text": f"person {i + 1}", "created_at": now, "updated_at": now,
        })
    members: dict[int, list[int]] = {}
    for i, c in enumerate(community_of):
        members.setdefault(c, []).append(i + 1)
    seen: set[tuple[int, int, str]] = set()
    links = []
    while len(links) < edges:
        source = rng.randint(1, profiles)
        inside = rng.random() < 0.9
        target = rng.choice(members[community_of[source - 1]]) if inside else rng.randint(1, profiles)
        kind = rng.choice(KINDS)
        if source == target or (source, target, kind) in seen:
            continue
        seen.add((source, target, kind))
        links.append({"source_id": source, "target_id": target, "kind": kind, "strength": round(rng.random(), 2),
                      "origin": rng.choice(["manual", "imported", "interaction"]), "created_at": now})
    with engine.begin() as conn:
        conn.execute(insert(Profile), rows)
        conn.execute(insert(Relationship), links)
    engine.dispose()


def timed(fn, repeat: int = 5):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=5000)
    parser.add_argument("--edges", type=int, default=25000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/graph.db"
        start = time.perf_counter()
        build(url, args.profiles, args.edges)
        print(f"built {args.profiles:,} profiles and {args.edges:,} relationships in {time.perf_counter() - start:.1f} s")
        engine = make_engine(url)
        with Session(engine) as session:
            graph.clear_cache()
            start = time.perf_counter()
            part = graph.partition(session=session)
            cold = time.perf_counter() - start
            reference_graph = nx.Graph()
            for (low, high), weight in sorted(part.pairs.items()):
                reference_graph.add_edge(low, high, weight=weight)
            start = time.perf_counter()
            nx.community.louvain_communities(reference_graph, weight="weight", seed=42)
            reference = time.perf_counter() - start
            print(f"partition (cold, once per graph version): {cold * 1000:.0f} ms, {len(part.sizes)} communities; "
                  f"networkx louvain alone on the same graph: {reference * 1000:.0f} ms (ratio {cold / reference:.2f})")
            _, version = timed(lambda: graph.graph_version(session=session), 20)
            print(f"graph version check (every request): {version * 1000:.2f} ms")

            def explorer_json(**filters):  # type: ignore[no-untyped-def]
                return graph.explore(session=session, **filters).model_dump_json()

            for label, filters in (("explorer, everyone", {}), ("explorer, role=evangelist", {"role": "evangelist"}),
                                   ("explorer, topic=design", {"topic": "design"}),
                                   ("explorer, find='Person 4321'", {"find": "Person 4321"})):
                if "role" in filters:
                    from crm.profiles.models import ProfileRole
                    filters = {"role": ProfileRole(filters["role"])}
                body, seconds = timed(lambda f=filters: explorer_json(**f))
                data = graph.explore(session=session, **filters)
                print(f"{label}: {seconds * 1000:.0f} ms warm, JSON {len(body) / 1024:.0f} KiB, "
                      f"{data.shown} of {data.matching} drawn, {len(data.edges)} edges")
            hub = max(part.degree, key=lambda pid: part.degree[pid])
            degrees = sorted(part.degree.values())
            typical = next(pid for pid, d in part.degree.items() if d == degrees[len(degrees) // 2])
            for who, pid in (("best-connected", hub), ("typical", typical)):
                for hops in (1, 2):
                    ego, seconds = timed(lambda p=pid, h=hops: graph.ego_network(p, session=session, hops=h))
                    body = ego.model_dump_json()
                    print(f"ego {hops} hop(s), {who} (degree {part.degree[pid]}): {seconds * 1000:.0f} ms, "
                          f"JSON {len(body) / 1024:.0f} KiB, {len(ego.nodes)} drawn of {ego.total + 1}, "
                          f"{ego.omitted} left out")
        engine.dispose()


if __name__ == "__main__":
    main()
