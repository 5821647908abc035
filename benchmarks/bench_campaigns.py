"""Campaign discovery, the roster builder and warm introductions at 100,000 profiles: do they answer
in under a second?

On a database made by `crm seed synthetic` (100,000 profiles, ~1.2M relationships, 1M interactions),
creates a campaign with topics and keywords inside a transaction that is rolled back at the end, then
times, over several runs (p50/p95): discovery's first page (`crm.campaigns.discovery.discover`), the
roster with k=10 (`build_roster`, its pool, neighbour sets and choice), "more like this person" and a
warm introduction. The first run of discovery reads the interactions for the keywords (kept in memory
per interactions version), so it is shown apart ("cold"). References in the same run: a bare
`SELECT … ORDER BY score DESC LIMIT 50` and `crm.ranking.relevance.relevant()` for the same topics and
keywords.

With `--demo PATH` (a database loaded with `crm seed`), it also prints the roster against the top k by
score on the demo data, for a few topics the demo has.

    .ci/.venv/bin/python benchmarks/bench_campaigns.py --database /tmp/bench9/altavoz.db [--runs 7]
        [--demo /tmp/bench9/demo.db]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common
from sqlalchemy import text
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.campaigns import discovery, intros, service
from crm.campaigns.models import CampaignIn
from crm.db import make_engine
from crm.ranking.relevance import RelevanceQuery, relevant

TOPICS = ["devops", "kubernetes"]
KEYWORDS = ["devops", "observability"]


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def line(name: str, times: list[float]) -> str:
    p50, p95 = _common.percentile(times, 50), _common.percentile(times, 95)
    return f"{name:<34} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms   (n={len(times)})"


def big(path: str, runs: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        counts = session.execute(text("SELECT (SELECT count(*) FROM profile), (SELECT count(*) FROM relationship), "
                                      "(SELECT count(*) FROM interaction)")).one()
        print(f"database: {counts[0]:,} profiles, {counts[1]:,} relationships, {counts[2]:,} interactions")
        campaign = service.create_campaign(CampaignIn(name="Bench", topics=TOPICS, keywords=KEYWORDS),
                                           session=session, actor=SYSTEM).id or 0
        session.flush()
        discovery.clear_cache()
        cold, _ = timed(lambda: discovery.discover(campaign, discovery.DiscoverQuery(), session=session), 1)
        warm, found = timed(lambda: discovery.discover(campaign, discovery.DiscoverQuery(), session=session), runs)
        filtered, _ = timed(lambda: discovery.discover(campaign, discovery.DiscoverQuery(language="es", level=2),
                                                       session=session), runs)
        def roster_fresh() -> Any:  # the discovery scan remembered (the page was seen), the graph read again
            discovery._neighbours_cache.clear()
            return discovery.build_roster(campaign, discovery.RosterQuery(k=10), session=session)

        roster_first, result = timed(roster_fresh, runs)
        roster_times, _ = timed(lambda: discovery.build_roster(campaign, discovery.RosterQuery(k=10, budget=5000,
                                                                                           default_fee=300),
                                                               session=session), runs)
        discovery.clear_cache()
        roster_cold, _ = timed(lambda: discovery.build_roster(campaign, discovery.RosterQuery(k=10), session=session), 1)
        seed = found.cards[0].profile_id
        like_times, like = timed(lambda: discovery.discover(campaign, discovery.DiscoverQuery(like=seed),
                                                            session=session), runs)
        target = found.cards[5].profile_id
        intro_times, intro = timed(lambda: intros.warm_intro(campaign, target, session=session), runs)
        bare, _ = timed(lambda: session.execute(text(
            "SELECT id, display_name, score FROM profile ORDER BY score DESC LIMIT 50")).all(), runs)
        rel, _ = timed(lambda: relevant(RelevanceQuery(topics=TOPICS, keywords=KEYWORDS), session=session), max(runs // 2, 2))
        session.rollback()
    print(f"campaign topics {TOPICS}, keywords {KEYWORDS}: {found.total:,} candidates, "
          f"left out {dict((k.value, v) for k, v in found.left_out.items())}")
    print(line("discovery, first page (cold)", cold))
    print(line("discovery, first page", warm))
    print(line("discovery, filtered (es, level 2)", filtered))
    print(line("roster k=10, nothing remembered", roster_cold))
    print(line("roster k=10, after discovery", roster_first))
    print(line("roster again (k, budget changed)", roster_times))
    r = result.roster
    print(f"   roster covers {r.value:,.0f}, top 10 by score {r.top_k_value:,.0f} "
          f"({r.difference_pct:+.1f} %), shared {len(r.shared)}, swaps {r.swaps}, "
          f"second hop partial: {result.second_hop_partial}")
    print(line("more like this person", like_times) + f"  ({like.total:,} similar)")
    print(line("warm introduction", intro_times) + f"  (path {len(intro.path) - 1 if intro.path else '-'} hops, "
          f"{intro.reached:,} people reached, limited: {intro.limited})")
    print(line("reference: bare top-50 SELECT", bare))
    print(line("reference: relevant() alone", rel))


def demo(path: str) -> None:
    engine = make_engine(f"sqlite:///{path}")
    print("\nroster vs top k by score on the demo data (k=10, default exclusions):")
    with Session(engine) as session:
        for topics in (["python"], ["devops"], ["api design"], ["observability", "kubernetes"], ["data engineering"]):
            campaign = service.create_campaign(CampaignIn(name="Demo bench", topics=topics), session=session,
                                               actor=SYSTEM).id or 0
            session.flush()
            try:
                result = discovery.build_roster(campaign, discovery.RosterQuery(k=10), session=session)
            except Exception as exc:  # noqa: BLE001 - a small pool: say so and go on
                print(f"  {topics}: {exc}")
                continue
            r = result.roster
            pct = f"{r.difference_pct:+.1f} %" if r.difference_pct is not None else "n/a"
            print(f"  topics {topics}: pool {r.pool}, k {result.k}: roster {r.value:,.1f} vs top-k {r.top_k_value:,.1f}"
                  f" ({pct}), shared {len(r.shared)}, swaps {r.swaps}")
        session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a `crm seed synthetic` SQLite database (100,000 profiles)")
    parser.add_argument("--demo", help="a SQLite database loaded with `crm seed`")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(_common.machine_line())
    if args.database:
        big(args.database, args.runs)
    if args.demo:
        demo(args.demo)


if __name__ == "__main__":
    main()
