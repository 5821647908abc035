"""Leaderboard recompute over 1,000,000 interactions: how long does the aggregation take?

Builds seeded arrays like those `crm.ranking.service.load_inputs` reads (100,000 people, heavy-tailed
activity, 1M contributions of 11 kinds over two years, sentiment known for a third), then times
`crm.ranking.service.compute` without its PageRank part — advocacy (all time and the 30/90/365-day
periods), weighted reach, percentiles, combined score, ranks and levels with hysteresis — which is the
aggregation a leaderboard needs. The same-run reference computes the same advocacy with a plain Python
loop over the rows (what a naive implementation does), and the two are checked equal.

With `--database PATH` (a database made by `crm seed synthetic`), it also times reading the inputs from
it and a whole `crm.ranking.service.recompute` end to end, with the stages separately.

    .ci/.venv/bin/python benchmarks/bench_ranking.py [--interactions 1000000] [--profiles 100000]
        [--database /tmp/synth100k/altavoz.db] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np

from crm.ranking import scoring
from crm.ranking.models import Weights
from crm.ranking.service import PERIODS


def make_arrays(profiles: int, interactions: int, seed: int = 7) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    # Heavy-tailed activity: a few people do most of it (Zipf-like over a random order of people).
    weights = 1.0 / np.arange(1, profiles + 1) ** 0.9
    weights /= weights.sum()
    owner = rng.permutation(profiles)[rng.choice(profiles, size=interactions, p=weights)]
    kinds = sorted(Weights().kinds)
    kind = rng.integers(0, len(kinds), size=interactions).astype(np.int32)
    sentiment = np.where(rng.random(interactions) < 0.33, rng.uniform(-1, 1, interactions), np.nan)
    age = rng.exponential(180.0, size=interactions).clip(0, 730)
    ident_owner = rng.integers(0, profiles, size=int(profiles * 1.6))
    platforms = ["x", "youtube", "instagram", "github", "discourse", "email"]
    ident_platform = [platforms[i] for i in rng.integers(0, len(platforms), size=len(ident_owner))]
    followers = np.floor(rng.pareto(1.2, size=len(ident_owner)) * 100)
    return {"owner": owner, "kinds": kinds, "kind": kind, "sentiment": sentiment, "age": age,
            "ident_owner": ident_owner, "ident_platform": ident_platform, "followers": followers,
            "influence": rng.pareto(2.0, size=profiles), "team": rng.random(profiles) < 0.01,
            "ids": np.arange(1, profiles + 1)}


def aggregate(n: int, a: dict, w: dict) -> dict[str, np.ndarray]:
    """The leaderboard's aggregation, as service.compute does it (PageRank's vector given)."""
    kind_weight = np.array([float(w["kinds"][k]) for k in a["kinds"]])[a["kind"]]
    advocacy, periods = scoring.advocacy_by_period(n, a["owner"], kind_weight, a["sentiment"], a["age"], w, PERIODS)
    reach = scoring.reach_scores(n, a["ident_owner"], a["ident_platform"], a["followers"], w)
    pcts = {"reach": np.round(scoring.percentiles(reach), 6), "advocacy": np.round(scoring.percentiles(advocacy), 6),
            "influence": np.round(scoring.percentiles(a["influence"]), 6)}
    score = scoring.combined_score(pcts, w["combined"])
    rank = scoring.ranks(score, ~a["team"], advocacy, a["ids"])
    computed = scoring.level_for(advocacy, w["levels"])
    level, _below = scoring.next_levels(np.full(n, 4, np.int16), np.zeros(n, np.int32), computed, np.ones(n, bool))
    return {"advocacy": advocacy, "rank": rank, "level": level, **{f"p{d}": periods[d] for d in PERIODS}}


def reference_advocacy(n: int, a: dict, w: dict) -> list[float]:
    """The same advocacy, one row at a time in plain Python."""
    totals = [0.0] * n
    kind_weights = [float(w["kinds"][k]) for k in a["kinds"]]
    s_weight, decay = float(w["sentiment"]), float(w["monthly_decay"])
    for person, kind, sentiment, age in zip(a["owner"].tolist(), a["kind"].tolist(), a["sentiment"].tolist(),
                                            a["age"].tolist(), strict=True):
        factor = 1.0 + s_weight * (0.0 if math.isnan(sentiment) else sentiment)
        totals[person] += kind_weights[kind] * factor * decay ** (max(age, 0.0) / scoring.DAYS_PER_MONTH)
    return totals


def time_database(path: str) -> None:
    from crm.db import make_engine
    from crm.ranking import service

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        started = time.perf_counter()
        inputs = service.load_inputs(conn, service.utcnow(), contribution_kinds=sorted(Weights().kinds))
        read = time.perf_counter() - started
    started = time.perf_counter()
    service.compute(inputs, Weights().model_dump(mode="json"))
    computed = time.perf_counter() - started
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages[stage] = stages.get(stage, 0.0) + now - last[0]
        last[0] = now

    started = time.perf_counter()
    run = service.recompute(engine, trigger="bench", progress=progress)
    whole = time.perf_counter() - started
    print(f"database {path}: {inputs.n:,} people, {len(inputs.contrib_owner):,} contributions, "
          f"{len(inputs.edge_source):,} edges")
    print(f"  read inputs {read:.2f} s · compute (with PageRank, cold) {computed:.2f} s")
    print(f"  whole recompute {whole:.2f} s (run {run.id}, PageRank {run.iterations} iterations warm); "
          + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--database", default="")
    parser.add_argument("--quick", action="store_true", help="a tenth of the interactions and a fifth of the people")
    args = parser.parse_args()
    if args.quick:
        args.profiles, args.interactions = args.profiles // 5, args.interactions // 10
    print(_common.machine_line())
    a = make_arrays(args.profiles, args.interactions)
    w = Weights().model_dump(mode="json")
    times = []
    for _ in range(5):
        started = time.perf_counter()
        result = aggregate(args.profiles, a, w)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    reference = reference_advocacy(args.profiles, a, w)
    ref_time = time.perf_counter() - started
    error = float(np.max(np.abs(np.array(reference) - result["advocacy"])))
    ours = _common.median(times)
    _common.print_table(
        ["work", "time", "goal"],
        [[f"aggregation, {args.interactions:,} interactions / {args.profiles:,} people (median of 5)",
          f"{ours * 1000:.0f} ms", "≤ 250 ms"],
         ["reference: the same advocacy in a Python loop", f"{ref_time * 1000:.0f} ms", ""],
         ["speed-up / max abs difference", f"{ref_time / ours:.0f}×", f"{error:.1e}"]],
        title="Leaderboard recompute")
    if args.database:
        time_database(args.database)


if __name__ == "__main__":
    main()
