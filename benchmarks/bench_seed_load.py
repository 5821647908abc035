"""Rows/s of `load_seed` on the shipped demo seed, against plain-driver inserts of the same rows.

    python benchmarks/bench_seed_load.py [--quick] [--repeat N] [--no-postgres] [--profile]

SQLite (a file in a temp dir, with the app's PRAGMAs): `load_seed` end to end (read + validate
the four files, then Core bulk inserts in one transaction), repeated, median reported. The
reference, measured in the same run: the very rows `load_seed` wrote (read back from its
database, minus the ids) inserted into a freshly migrated database with `sqlite3` executemany in
one `BEGIN IMMEDIATE` transaction, under the same PRAGMAs: the floor our writer could reach.

PostgreSQL, if tests/pg_server.py can start a throw-away server: the same, with psycopg
`executemany` (pipelined) and `COPY` as references.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine_line, median, print_table  # first: puts the repo root on sys.path
from sqlalchemy import Engine

from crm.db import make_engine, upgrade
from crm.imports import seed_loader
from crm.imports.seed_loader import default_seed_dir, load_seed

TABLES = ("profile", "identity", "relationship", "interaction")  # insert order (foreign keys)
GOAL_ROWS_PER_S = 150_000  # DESIGN: bulk import of interactions into SQLite


# ---- SQLite ------------------------------------------------------------------------------------------


def _sqlite_engine(directory: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{directory / name}")
    upgrade(engine)
    return engine


def _timed_load(engine: Engine, seed_dir: Path, *, gc_off: bool = False) -> tuple[float, int]:
    if gc_off:
        gc.disable()
    try:
        start = time.perf_counter()
        report = load_seed(engine, seed_dir)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, report.profiles + report.identities + report.relationships + report.interactions


def _read_rows(engine: Engine) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """What load_seed wrote, per table, without the id column (the database assigns it)."""
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY id')
            names = list(result.keys())
            columns = [c for c in names if c != "id"]
            keep = [i for i, c in enumerate(names) if c != "id"]
            out[table] = (columns, [tuple(row[i] for i in keep) for row in result])
    return out


def _sqlite_reference(path: Path, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for table in TABLES:
        columns, values = rows[table]
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        conn.executemany(sql, values)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _parse_time(seed_dir: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        seed_loader._read_seed(seed_dir)  # the validation half of load_seed, on its own
        times.append(time.perf_counter() - start)
    return median(times)


def bench_sqlite(seed_dir: Path, repeat: int) -> list[list[object]]:
    ours, refs, gc_off = [], [], []
    total_rows = 0
    with tempfile.TemporaryDirectory(prefix="altavoz-bench-seed-") as tmp:
        directory = Path(tmp)
        captured = None
        for i in range(repeat):
            engine = _sqlite_engine(directory, f"ours-{i}.db")
            elapsed, total_rows = _timed_load(engine, seed_dir)
            ours.append(elapsed)
            if captured is None:
                captured = _read_rows(engine)
            engine.dispose()
        assert captured is not None
        for i in range(repeat):  # experiment: the same call with Python's cyclic GC paused
            engine = _sqlite_engine(directory, f"gc-{i}.db")
            gc_off.append(_timed_load(engine, seed_dir, gc_off=True)[0])
            engine.dispose()
        for i in range(repeat):
            engine = _sqlite_engine(directory, f"ref-{i}.db")  # same schema and indexes
            engine.dispose()
            refs.append(_sqlite_reference(directory / f"ref-{i}.db", captured))
    parse = _parse_time(seed_dir, repeat)
    ours_s, ref_s, gc_s = median(ours), median(refs), median(gc_off)
    write_s = max(ours_s - parse, 1e-9)
    return [
        ["sqlite", "load_seed (read+validate+insert)", total_rows, ours_s * 1000, total_rows / ours_s,
         f"{ours_s / ref_s:.1f}× slower", _met(total_rows / ours_s)],
        ["sqlite", "  of which read+validate files", total_rows, parse * 1000, total_rows / parse, "", ""],
        ["sqlite", "  of which inserts (total − read)", total_rows, write_s * 1000, total_rows / write_s,
         f"{write_s / ref_s:.1f}× slower", _met(total_rows / write_s)],
        ["sqlite", "reference: sqlite3 executemany", total_rows, ref_s * 1000, total_rows / ref_s, "1.0×", ""],
        ["sqlite", "experiment: load_seed, gc disabled", total_rows, gc_s * 1000, total_rows / gc_s,
         f"{gc_s / ref_s:.1f}× slower", _met(total_rows / gc_s)],
    ]


def _met(rows_per_s: float) -> str:
    return "met" if rows_per_s >= GOAL_ROWS_PER_S else "not met"


# ---- PostgreSQL ----------------------------------------------------------------------------------------


def bench_postgres(seed_dir: Path, repeat: int) -> list[list[object]] | str:
    try:
        import psycopg
        from psycopg.types.json import Json

        from tests.pg_server import PostgresUnavailable, start_postgres
    except ImportError as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL skipped: {exc}"
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        return f"PostgreSQL skipped: could not start a server ({exc})"
    try:
        admin = psycopg.connect(server.url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        counter = iter(range(10_000))

        def fresh() -> tuple[Engine, str]:
            name = f"bench_{next(counter)}"
            admin.execute(f"CREATE DATABASE {name}")
            engine = make_engine(server.url_for(name))
            upgrade(engine)
            return engine, server.url_for(name).replace("postgresql+psycopg", "postgresql")

        ours, refs_many, refs_copy = [], [], []
        total_rows = 0
        captured: dict[str, tuple[list[str], list[tuple[Any, ...]]]] | None = None
        for _ in range(repeat):
            engine, _dsn = fresh()
            elapsed, total_rows = _timed_load(engine, seed_dir)
            ours.append(elapsed)
            if captured is None:
                captured = _read_rows(engine)
            engine.dispose()
        assert captured is not None
        adapted = {
            table: (cols, [tuple(Json(v) if isinstance(v, list | dict) else v for v in row) for row in values])
            for table, (cols, values) in captured.items()
        }

        def reference(write: Callable[[Any, str, list[str], list[tuple[Any, ...]]], None]) -> float:
            engine, dsn = fresh()
            engine.dispose()
            with psycopg.connect(dsn) as conn:
                start = time.perf_counter()
                with conn.cursor() as cur:
                    for table in TABLES:
                        columns, values = adapted[table]
                        write(cur, table, columns, values)
                conn.commit()
                return time.perf_counter() - start

        def executemany(cur: Any, table: str, columns: list[str], values: list[tuple[Any, ...]]) -> None:
            sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join(["%s"] * len(columns))})'
            cur.executemany(sql, values)

        def copy(cur: Any, table: str, columns: list[str], values: list[tuple[Any, ...]]) -> None:
            with cur.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as cp:
                for row in values:
                    cp.write_row(row)

        for _ in range(repeat):
            refs_many.append(reference(executemany))
            refs_copy.append(reference(copy))
        admin.close()
    finally:
        server.stop()
    ours_s, many_s, copy_s = median(ours), median(refs_many), median(refs_copy)
    return [
        ["postgresql", "load_seed (read+validate+insert)", total_rows, ours_s * 1000, total_rows / ours_s,
         f"{ours_s / many_s:.1f}× slower", ""],
        ["postgresql", "reference: psycopg executemany", total_rows, many_s * 1000, total_rows / many_s, "1.0×", ""],
        ["postgresql", "reference: psycopg COPY", total_rows, copy_s * 1000, total_rows / copy_s,
         f"({ours_s / copy_s:.1f}× vs ours)", ""],
    ]


def profile_once(seed_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="altavoz-bench-seed-") as tmp:
        engine = _sqlite_engine(Path(tmp), "profiled.db")
        profiler = cProfile.Profile()
        profiler.enable()
        load_seed(engine, seed_dir)
        profiler.disable()
        engine.dispose()
    print("\ncProfile of one load_seed on SQLite (top 25 by internal time):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 repetitions, no PostgreSQL")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5, quick 2)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one SQLite load")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 5)
    seed_dir = default_seed_dir()

    print(f"bench_seed_load · {machine_line()}")
    print(f"seed: {seed_dir} · {repeat} repetition(s), median reported")
    rows = bench_sqlite(seed_dir, repeat)
    pg_note = ""
    if args.quick or args.no_postgres:
        pg_note = "PostgreSQL skipped (--quick / --no-postgres)"
    else:
        pg = bench_postgres(seed_dir, repeat)
        if isinstance(pg, str):
            pg_note = pg
        else:
            rows += pg
    print_table(
        ["db", "what", "rows", "median ms", "rows/s", "ours / reference", f"goal ≥ {GOAL_ROWS_PER_S:,} rows/s"],
        rows,
    )
    if pg_note:
        print(pg_note)
    if args.profile:
        profile_once(seed_dir)


if __name__ == "__main__":
    main()
