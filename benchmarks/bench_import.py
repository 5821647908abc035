"""Rows/s of a bulk interaction import through the importer (upload -> Job -> parse -> validate with
the API's schema -> resolve/create people -> batches of INSERT ... ON CONFLICT DO NOTHING -> stats
and derived edges per batch) into SQLite, beside raw `sqlite3.executemany` of the same rows in the
same run: into a bare table (no indexes, the driver's floor) and into a copy of the real schema
(the interaction table's unique key and four indexes, foreign keys on).

    python benchmarks/bench_import.py [ROWS] [--quick] [--help]

Default 100,000 rows (about a minute on a shared 2-core machine); --quick: 20,000.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (first: puts the repository root on sys.path)
from _common import machine_line
from sqlmodel import Session

from crm.db import make_engine, upgrade
from crm.imports import importer
from crm.imports import service as imports
from crm.imports.importer import BATCH, ImportSpec
from crm.imports.rows import Entity
from crm.interactions.models import Interaction
from crm.jobs import service as jobs
from crm.profiles import stats
from crm.relationships import service as relationships

STAGES: Counter[str] = Counter()


def _timed(owner: Any, name: str, label: str) -> None:
    """Add the time spent in owner.name to STAGES[label] (the importer looks these up at call time)."""
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            STAGES[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def _content(rows: int) -> bytes:
    return "\n".join(json.dumps({
        "external_id": f"e{n}", "person_platform": "github", "person_handle": f"dev{n % 2000}", "kind": "post",
        "channel": "github", "occurred_at": f"2026-01-{1 + n % 28:02d}T10:00:00Z", "title": f"Post {n}",
        "reach": n % 1000, "engagements": n % 7}) for n in range(rows)).encode()


def _raw(path: Path, table_sql: str, cols: list[str], values: list[tuple[Any, ...]]) -> float:
    """Seconds for one executemany of `values` in one transaction, as our engine's PRAGMAs set it up."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    if table_sql:
        raw.execute(table_sql)
    sql = f"INSERT INTO interaction ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    start = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(sql, values)
    raw.execute("COMMIT")
    took = time.perf_counter() - start
    raw.close()
    return took


def main(rows: int) -> None:
    _timed(importer, "read_file", "read (decode, JSON lines)")
    _timed(importer, "validate", "validate (InteractionIn over batches, duplicates)")
    _timed(importer.Writer, "ensure_people", "people: find by handle/key, create missing (bulk)")
    _timed(importer.Writer, "_insert_interactions", "INSERT ... ON CONFLICT DO NOTHING (executemany)")
    _timed(stats, "refresh_on_connection", "stats.refresh_on_connection (per batch)")
    _timed(relationships, "refresh_derived_edges", "derived edges (per batch)")
    content = _content(rows)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        with Session(engine) as session:
            upload = imports.save_upload("bench.jsonl", content, session=session, created_by_id=None)
            job = imports.start_import(upload, ImportSpec(entity=Entity.interactions, format="jsonl", source="bench"),
                                       session=session, created_by_id=None)
            session.commit()
            job_id = int(job.id or 0)
        start = time.perf_counter()
        assert jobs.run_job(engine, job_id) == "done"
        ours = time.perf_counter() - start
        table = Interaction.__table__  # type: ignore[attr-defined]
        cols = [c.name for c in table.columns if c.name != "id"]
        with engine.connect() as conn:
            # The rows as stored (driver-native values: text for times), the same for both references.
            values = [tuple(r) for r in conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM interaction ORDER BY id")]
            schema = [sql for (sql,) in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE tbl_name IN ('interaction', 'profile', 'user') AND sql IS NOT NULL "
                "AND type IN ('table', 'index') "
                "ORDER BY CASE WHEN type = 'table' THEN 0 ELSE 1 END, CASE tbl_name WHEN 'user' THEN 0 "
                "WHEN 'profile' THEN 1 ELSE 2 END")]
            profiles = conn.exec_driver_sql("SELECT * FROM profile").fetchall()
        engine.dispose()
        assert len(values) == rows
        bare = _raw(Path(tmp) / "bare.db", f"CREATE TABLE interaction ({', '.join(cols)})", cols, values)
        # The real schema: the same unique key, indexes and foreign keys (the people must exist).
        indexed_path = Path(tmp) / "indexed.db"
        setup = sqlite3.connect(indexed_path, isolation_level=None)
        setup.execute("PRAGMA journal_mode=WAL")
        for statement in schema:
            setup.execute(statement)
        if profiles:
            setup.executemany(f"INSERT INTO profile VALUES ({', '.join('?' * len(profiles[0]))})", profiles)
        setup.close()
        indexed = _raw(indexed_path, "", cols, values)
    print(machine_line())
    print(f"{rows:,} interaction rows (JSON lines, 2,000 people named by platform + handle, created by the import), "
          f"batches of {BATCH[Entity.interactions]:,}")
    print(f"importer, end to end: {rows / ours:,.0f} rows/s ({ours:.2f} s)")
    print(f"raw sqlite3.executemany of the same rows into a bare table: {rows / bare:,.0f} rows/s ({bare:.2f} s)")
    print(f"raw sqlite3.executemany into the real schema (unique key, 4 indexes, foreign keys): "
          f"{rows / indexed:,.0f} rows/s ({indexed:.2f} s)")
    print(f"ratio importer / raw bare: {bare / ours:.2f}; importer / raw real schema: {indexed / ours:.2f}")
    print("where the importer's time went:")
    for label, seconds in STAGES.most_common():
        print(f"  {label}: {seconds:.2f} s ({seconds / ours:.0%})")


if __name__ == "__main__":
    if "--help" in sys.argv:
        print(__doc__)
        sys.exit(0)
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(numbers[0] if numbers else 20_000 if "--quick" in sys.argv else 100_000)
