"""Spike detection across all topics over 1,000,000 interactions: how long does one live evaluation take?

On a COPY of a synthetic database (`crm seed synthetic`, 100k people / 1M interactions; migrate the copy
first with `crm db upgrade`), it makes 15 topics with heavy-tailed volumes (a brand at ~5 % of all
interactions down to niche products at a few mentions a week) and their mentions in bulk (one INSERT ...
SELECT per topic, ~0.15 M mentions), a burst in the last day on two topics, and one alert rule per topic
plus an all-topics rule and a negative-only rule (24 h window against 14 days, the defaults). Then it times
`crm.listening.alerts.evaluate_due` at a fixed `now`, 20 runs, resetting each rule's `evaluated_through`
(and deleting the alerts it made) before each run:

- tick: the rules were evaluated an hour ago (what the worker does every hour);
- catch-up: the rules were last evaluated 7 days ago (168 hourly tests per topic and rule, the most
  live evaluation ever does after an outage).

The same-run reference is a plain `SELECT topic_id, COUNT(*) FROM mention WHERE occurred_at in the
window + baseline GROUP BY topic_id` over the same range: the least any evaluation has to read.

    .ci/.venv/bin/python benchmarks/bench_spikes.py --database /tmp/copy/altavoz.db [--runs 20]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import _common  # noqa: F401  (puts the repo on sys.path)
from _common import machine_line, percentile, print_table
from sqlalchemy import Engine, delete, func, select, text, update

from crm.db import make_engine
from crm.listening.models import Alert, AlertDelivery, AlertRule, Mention, Topic

# (name, kind, mentions per 1000 interactions): a brand, its products, competitors, niche things.
TOPICS = [("Altavoz", "brand", 50), ("Altavoz Cloud", "product", 25), ("Altavoz Mobile", "product", 15),
          ("Orbit", "competitor", 12), ("Common Room", "competitor", 10), ("Savannah", "competitor", 6),
          ("Refunds", "other", 8), ("Pricing", "other", 7), ("Outage", "other", 5), ("Dashboard", "product", 4),
          ("API", "product", 3), ("Webhooks", "product", 2), ("SSO", "product", 1), ("Exports", "product", 1),
          ("Plugin SDK", "product", 1)]
BURST_TOPICS = ("Outage", "SSO")  # a burst in the last day: these should fire
PRIMES = [7919, 104729, 1299709, 15485863, 179424673, 2038074743, 982451653, 32452843, 49979687, 67867967,
          86028121, 104395301, 122949823, 141650939, 160481183]


def build(engine: Engine, now: datetime) -> dict[str, int]:
    """Topics, mentions (bulk INSERT ... SELECT from the interactions) and rules; idempotent."""
    with engine.begin() as conn:
        conn.execute(delete(Alert.__table__))  # type: ignore[arg-type]
        conn.execute(delete(AlertDelivery.__table__))  # type: ignore[arg-type]
        conn.execute(delete(AlertRule.__table__))  # type: ignore[arg-type]
        conn.execute(delete(Mention.__table__))  # type: ignore[arg-type]
        conn.execute(delete(Topic.__table__))  # type: ignore[arg-type]
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        ids: dict[str, int] = {}
        for i, (name, kind, per_thousand) in enumerate(TOPICS):
            topic_id = conn.execute(Topic.__table__.insert().values(  # type: ignore[attr-defined]
                name=name, kind=kind, terms=[name.lower()], exclusions=[], active=True,
                created_at=datetime.now(UTC), updated_at=datetime.now(UTC))).inserted_primary_key[0]
            ids[name] = int(topic_id)
            conn.execute(text(
                "INSERT INTO mention (interaction_id, topic_id, profile_id, occurred_at, term, created_at) "
                "SELECT id, :topic, profile_id, occurred_at, :term, :stamp FROM interaction "
                "WHERE (id * :prime) % 1000 < :rate"),
                {"topic": topic_id, "term": name.lower(), "stamp": stamp, "prime": PRIMES[i], "rate": per_thousand})
            if name in BURST_TOPICS:  # 3 % of the last day's interactions on top
                conn.execute(text(
                    "INSERT OR IGNORE INTO mention (interaction_id, topic_id, profile_id, occurred_at, term, created_at) "
                    "SELECT id, :topic, profile_id, occurred_at, :term, :stamp FROM interaction "
                    "WHERE occurred_at > :lo AND occurred_at <= :hi AND (id * 31) % 100 < 3"),
                    {"topic": topic_id, "term": name.lower(), "stamp": stamp,
                     "lo": (now - timedelta(hours=20)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                     "hi": now.strftime("%Y-%m-%d %H:%M:%S.%f")})
        rules = [{"name": f"Spike: {name}", "topic_id": topic_id} for name, topic_id in ids.items()]
        rules += [{"name": "Any topic", "topic_id": None},
                  {"name": "Negative: Altavoz", "topic_id": ids["Altavoz"], "negative_only": True}]
        for r in rules:
            conn.execute(AlertRule.__table__.insert().values(  # type: ignore[attr-defined]
                **{**AlertRule(name=r["name"]).model_dump(exclude={"id"}), **r}))
        conn.execute(text("ANALYZE"))
        return {"mentions": int(conn.execute(select(func.count()).select_from(Mention.__table__)).scalar_one()),  # type: ignore[arg-type]
                "rules": len(rules), "topics": len(ids)}


def reset(engine: Engine, evaluated_through: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(delete(AlertDelivery.__table__))  # type: ignore[arg-type]
        conn.execute(delete(Alert.__table__))  # type: ignore[arg-type]
        conn.execute(update(AlertRule.__table__).values(evaluated_through=evaluated_through))  # type: ignore[arg-type]


def reference(engine: Engine, lo: datetime, hi: datetime) -> int:
    m = Mention.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(m.c.topic_id, func.count()).where(m.c.occurred_at > lo, m.c.occurred_at <= hi)
                            .group_by(m.c.topic_id)).all()
    return sum(n for _, n in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a COPY of a synthetic database (it is changed)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from crm.listening.alerts import evaluate_due, hour_floor

    engine = make_engine(f"sqlite:///{args.database}")
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(occurred_at) FROM interaction")).scalar_one()
        interactions = conn.execute(text("SELECT count(*) FROM interaction")).scalar_one()
    now = hour_floor(datetime.fromisoformat(str(latest)).replace(tzinfo=UTC))
    started = time.perf_counter()
    sizes = build(engine, now)
    built = time.perf_counter() - started
    print(machine_line())
    print(f"{interactions:,} interactions · {sizes['topics']} topics · {sizes['mentions']:,} mentions "
          f"(made in {built:.1f} s) · {sizes['rules']} rules · now = {now:%Y-%m-%d %H:%M} UTC")
    rows = []
    for label, since in (("tick (last hour)", now - timedelta(hours=1)), ("catch-up (7 days)", now - timedelta(days=7))):
        timings, refs, fired = [], [], 0
        lo = since - timedelta(hours=24) - timedelta(days=14)
        for _ in range(args.runs):
            reset(engine, since)
            t = time.perf_counter()
            fired = len(evaluate_due(engine, now=now))
            timings.append(time.perf_counter() - t)
            t = time.perf_counter()
            reference(engine, lo, now)
            refs.append(time.perf_counter() - t)
        p50, p95, r50 = percentile(timings, 50), percentile(timings, 95), percentile(refs, 50)
        rows.append((label, f"{p50 * 1000:.0f} ms", f"{p95 * 1000:.0f} ms", f"{r50 * 1000:.0f} ms",
                     f"{p50 / r50:.1f}×", fired, "yes" if p95 < 1 else "NO"))
    print_table(["evaluation", "p50", "p95", "reference p50 (COUNT GROUP BY)", "ratio", "alerts fired", "< 1 s"], rows,
                title=f"evaluate_due over all rules, {args.runs} runs")
    reset(engine, now - timedelta(hours=1))
    engine.dispose()


if __name__ == "__main__":
    main()
