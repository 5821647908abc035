"""The crisis radar's first page at 1,000,000 interactions (issue 11: p95 < 100 ms).

    python benchmarks/bench_radar.py --database /tmp/COPY.db [--runs 50] [--window 7d]

On a copy of the `crm seed synthetic` database (100k people, 1M interactions over two years), upgraded
(`crm db upgrade`). Setup, once per copy: four product topics whose terms hit about a quarter of the
interactions (observability, DevOps, machine learning, databases, English and Spanish titles), their
Mention rows inserted in bulk with one INSERT ... SELECT per topic (what the `listen` job would write,
without stemming a million texts first). The synthetic data's own sentiment is kept: about 10 % of the
interactions are negative or complaints, so ~1 in 10 mentions is on the radar.

Timed, p50/p95 over --runs calls after 3 warm-up calls, a fresh Session each (as a request has):
- `radar_page`: the ranked list alone (the API's GET /api/v1/radar);
- `radar_view`: everything GET /listening reads (list, bursts and who is talking, tone changes, channels);
- GET /listening through the app (sign-in cookie, template rendering), in-process with TestClient.
Reference, same run: the plain SELECT of the same window's negative mention rows (the same columns,
no ranking, no authors), with SQLAlchemy Core on the same engine.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from _common import machine_line, percentile, print_table  # first: puts the repo root on sys.path
from sqlalchemy import and_, select
from sqlmodel import Session

from crm.db import make_engine
from crm.listening import radar
from crm.listening.people import MENTION_COLUMNS, M, X

TOPICS = {
    "Bench: observability": ("%observab%",),
    "Bench: DevOps": ("%devops%",),
    "Bench: machine learning": ("%machine learning%", "%aprendizaje autom%"),
    "Bench: databases": ("%database%", "%bases de datos%"),
}


def setup(path: Path) -> None:
    """Topics and their mentions, once per database copy."""
    db = sqlite3.connect(path)
    try:
        if db.execute("SELECT count(*) FROM topic WHERE name LIKE 'Bench: %'").fetchone()[0] == len(TOPICS):
            return
        started = time.perf_counter()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        for name, patterns in TOPICS.items():
            cur = db.execute("INSERT INTO topic (name, kind, terms, exclusions, active, created_at, updated_at) "
                             "VALUES (?, 'product', ?, '[]', 1, ?, ?)",
                             (name, '["' + name.removeprefix("Bench: ") + '"]', now, now))
            where = " OR ".join("title LIKE ?" for _ in patterns)
            db.execute(f"INSERT INTO mention (interaction_id, topic_id, profile_id, occurred_at, term, created_at, negative) "
                       f"SELECT id, ?, profile_id, occurred_at, ?, ?, (sentiment < 0 OR kind = 'complaint') "
                       f"FROM interaction WHERE {where}",
                       (cur.lastrowid, name.removeprefix("Bench: "), now, *patterns))
        db.commit()
        print(f"setup: {db.execute('SELECT count(*) FROM mention').fetchone()[0]:,} mentions "
              f"in {time.perf_counter() - started:.1f} s")
    finally:
        db.close()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    for _ in range(3):
        result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 95), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True, help="an upgraded copy of the synthetic database")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--window", default="7d", choices=[w.value for w in radar.Window])
    parser.add_argument("--no-http", action="store_true", help="skip the GET /listening measurement")
    args = parser.parse_args()

    setup(args.database)
    engine = make_engine(f"sqlite:///{args.database}")
    query = radar.RadarQuery(window=radar.Window(args.window))
    now = datetime.now(UTC)
    start, end = query.bounds(now)

    with engine.connect() as conn:
        interactions = conn.exec_driver_sql("SELECT count(*) FROM interaction").scalar()
        mentions = conn.exec_driver_sql("SELECT count(*) FROM mention").scalar()
        window_rows = conn.execute(select(MENTION_COLUMNS[0]).join(X, X.c.id == M.c.interaction_id)
                                   .where(M.c.occurred_at >= start, M.c.occurred_at <= end)).all()
    print(machine_line())
    print(f"{interactions:,} interactions, {mentions:,} mentions; window {args.window}: "
          f"{len(window_rows):,} mentions")

    def reference() -> object:
        with Session(engine) as session:
            return session.connection().execute(
                select(*MENTION_COLUMNS).join(X, X.c.id == M.c.interaction_id)
                .where(and_(M.c.occurred_at >= start, M.c.occurred_at <= end, radar.negative_clause()))).all()

    def page() -> object:
        with Session(engine) as session:
            return radar.radar_page(query, session=session, now=now)

    def view() -> object:
        with Session(engine) as session:
            return radar.radar_view(query, session=session, now=now)

    rows = []
    r50, r95, ref = timed(reference, args.runs)
    rows.append(("reference: plain SELECT of the window's negative mention rows", f"{r50:.1f}", f"{r95:.1f}", "1.0×"))
    p50, p95, listing = timed(page, args.runs)
    rows.append(("radar_page (ranked list, first 25)", f"{p50:.1f}", f"{p95:.1f}", f"{p50 / r50:.1f}×"))
    v50, v95, shown = timed(view, args.runs)
    rows.append(("radar_view (list + bursts + tone + channels)", f"{v50:.1f}", f"{v95:.1f}", f"{v50 / r50:.1f}×"))
    if not args.no_http:
        h50, h95 = http_page(args.database, args.window, args.runs)
        rows.append(("GET /listening (whole page, in-process)", f"{h50:.1f}", f"{h95:.1f}", f"{h50 / r50:.1f}×"))
    assert isinstance(listing, radar.RadarPage) and isinstance(shown, radar.RadarView)
    print(f"negative mentions in the window: {len(ref):,} rows, {listing.total:,} interactions on the radar; "
          f"{len(shown.bursts)} bursts shown, {len(shown.tone)} tone changes")
    print_table(("work (ms)", "p50", "p95", "p50 vs reference"), rows)


def http_page(database: Path, window: str, runs: int) -> tuple[float, float]:
    from starlette.testclient import TestClient

    from crm.app import create_app
    from crm.settings import Settings
    from tests.factories import make_user, sign_in

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{database}",  # type: ignore[call-arg]
                            data_dir=Path(data_dir), secret_key="bench-radar-not-a-secret-" + "x" * 16,
                            job_worker=False)  # the request alone: no job worker competing in this process
        app = create_app(settings)
        with TestClient(app, follow_redirects=False) as client:
            email = f"radar-bench-{int(time.time())}@example.com"
            make_user(app.state.engine, email, role="viewer")
            sign_in(client, email)
            url = f"/listening?window={window}"

            def get() -> object:
                response = client.get(url)
                assert response.status_code == 200, response.status_code
                return response

            p50, p95, _ = timed(get, runs)
    return p50, p95


if __name__ == "__main__":
    main()
