"""Profile search (`list_profiles`) at 100k profiles / ~250k identities on SQLite.

    python benchmarks/bench_search.py [--quick] [--profiles N] [--runs N] [--keep PATH]

Builds a synthetic database (deterministic random: names, handles on several platforms, followers,
locations, topics, a bio for some) with `sqlite3` executemany after the real Alembic `upgrade`; the
stored columns (reach, search_text) are computed with crm.profiles.stats.search_text_of, and the
FTS5 trigram index of migration 0007 is filled by its insert trigger. Then times
`crm.profiles.search.list_profiles` (a fresh Session per call, as a request would have; 50-row pages)
for selective queries, common one- and two-term queries, the same with filters, and filters alone.
p50/p95 over --runs calls each, after warm-up calls.

Reference, measured in the same run: a bare `SELECT id FROM profile WHERE lower(display_name) LIKE ?
[AND ...] LIMIT 50` with `sqlite3` for the same terms (it stops at 50 rows and counts nothing, so it
is a floor for common terms and a full scan for rare ones). The time spent in each SQL statement of
`list_profiles` (count, page, identities) is shown too, and `EXPLAIN QUERY PLAN` of the slowest case.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import machine_line, percentile, print_table  # first: puts the repo root on sys.path
from sqlalchemy import Engine, event
from sqlmodel import Session

from crm.db import make_engine, upgrade
from crm.profiles.search import ListQuery, SortKey, list_profiles
from crm.profiles.stats import search_text_of

FIRST = (
    "Ana", "Andrea", "Alba", "Alejandro", "Alex", "Alice", "Amelia", "Arjun", "Aurora", "Beatriz", "Ben", "Bruno",
    "Camila", "Carlos", "Carmen", "Charlotte", "Chen", "Chloe", "Clara", "Daniel", "David", "Diego", "Elena", "Elias",
    "Emma", "Ethan", "Eva", "Felix", "Fernando", "Freya", "Gabriel", "Grace", "Hana", "Hugo", "Ines", "Irene", "Isabel",
    "Ivan", "Jack", "James", "Javier", "Jorge", "Julia", "Julian", "Kai", "Karin", "Laura", "Leo", "Liam", "Lucas",
    "Lucia", "Luis", "Maite", "Manuel", "Marco", "Maria", "Mario", "Marta", "Martin", "Mateo", "Maya", "Mia", "Miguel",
    "Nadia", "Noah", "Nora", "Olivia", "Omar", "Oscar", "Pablo", "Paula", "Pedro", "Priya", "Rafael", "Raquel", "Rosa",
    "Ruth", "Samuel", "Sara", "Sofia", "Tomas", "Valeria", "Victor", "Yuki", "Zoe"
)
LAST = (
    "Abbott", "Acosta", "Adams", "Aguilar", "Alonso", "Alvarez", "Arias", "Baker", "Blanco", "Brown", "Bruno",
    "Caballero", "Campos", "Castillo", "Castro", "Chen", "Clarke", "Cohen", "Cortes", "Cruz", "Delgado", "Diaz",
    "Dominguez", "Doyle", "Evans", "Fernandez", "Flores", "Fuentes", "Garcia", "Garrido", "Gil", "Gomez", "Gonzalez",
    "Green", "Gutierrez", "Hall", "Hernandez", "Herrera", "Hughes", "Iglesias", "Jimenez", "Johnson", "Kim", "Kowalski",
    "Lee", "Leon", "Lopez", "Lozano", "Marin", "Marquez", "Martin", "Martinez", "Medina", "Mendez", "Molina", "Moreno",
    "Morales", "Moya", "Munoz", "Murphy", "Navarro", "Nieto", "Nunez", "Ortega", "Ortiz", "Pascual", "Patel", "Pena",
    "Perez", "Prieto", "Ramirez", "Ramos", "Reyes", "Rios", "Rodriguez", "Romero", "Rossi", "Rubio", "Ruiz", "Sanchez",
    "Santos", "Sanz", "Schmidt", "Serrano", "Silva", "Smith", "Soto", "Suarez", "Taylor", "Torres", "Vargas", "Vazquez",
    "Vega", "Walker", "Wang", "Wilson", "Yamamoto", "Zhang"
)
PLATFORMS = ("x", "instagram", "youtube", "tiktok", "linkedin", "github", "discourse", "reddit", "blog")
STATUSES = ("prospect", "active", "inactive", "do_not_contact")
ROLES = ("influencer", "evangelist", "moderator", "customer", "journalist", "partner")
RARE = "zephyrine"  # planted in a handful of handles, in no name
RARE_COUNT = 4
RARE_BIO = "quetzalcoatl"  # planted in a handful of bios
CITIES = ("Madrid", "Barcelona", "Sevilla", "Valencia", "Bilbao", "London", "Berlin", "Paris", "Lisboa", "Mexico City",
          "Buenos Aires", "Bogota", "Lima", "Santiago", "New York", "Toronto", "Tokyo", "Mumbai", "")
TOPICS = ("kubernetes", "python", "devrel", "cloud native", "observability", "rust", "data engineering", "security",
          "frontend", "ai", "open source", "databases")
BIO_WORDS = ("speaker", "maintainer", "writer", "community", "builder", "teacher", "streamer", "podcaster")

GOAL_SELECTIVE_MS = 5.0
GOAL_ANY_MS = 50.0


@dataclass(frozen=True)
class Case:
    label: str
    query: ListQuery
    terms: tuple[str, ...]
    goal_ms: float


@dataclass
class Timings:
    calls: list[float] = field(default_factory=list)
    sql: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def cases(per_page: int) -> list[Case]:
    def q(**kw: Any) -> ListQuery:
        return ListQuery(per_page=per_page, **kw)

    return [
        Case(f"selective: handle fragment '{RARE}'", q(q=RARE), (RARE,), GOAL_SELECTIVE_MS),
        Case(f"selective: bio word '{RARE_BIO}'", q(q=RARE_BIO), (RARE_BIO,), GOAL_SELECTIVE_MS),
        Case("selective: 'lucia gomez marin'", q(q="lucia gomez marin"), ("lucia", "gomez", "marin"), GOAL_SELECTIVE_MS),
        Case("1 term, common: 'mar'", q(q="mar"), ("mar",), GOAL_ANY_MS),
        Case("1 term: 'madrid'", q(q="madrid"), ("madrid",), GOAL_ANY_MS),
        Case("1 term, 2 letters: 'li'", q(q="li"), ("li",), GOAL_ANY_MS),
        Case("2 terms: 'maria gar'", q(q="maria gar"), ("maria", "gar"), GOAL_ANY_MS),
        Case("1 term + filters: 'mar' moderator es", q(q="mar", role="moderator", language="es"), ("mar",), GOAL_ANY_MS),
        Case("2 terms + filters: 'maria gar' active reach≥100, by reach",
             q(q="maria gar", status="active", reach_min=100, sort=SortKey.reach, order="desc"), ("maria", "gar"),
             GOAL_ANY_MS),
        Case("1 term + followers on youtube ≥ 1000", q(q="kubernetes", platform="youtube", followers_min=1000),
             ("kubernetes",), GOAL_ANY_MS),
        Case("filters only: moderator, es, reach ≥ 1000, by reach", q(role="moderator", language="es", reach_min=1000,
             sort=SortKey.reach, order="desc"), (), GOAL_ANY_MS),
        Case("empty q, sort name", q(sort=SortKey.name), (), GOAL_ANY_MS),
        Case("empty q, sort reach desc", q(sort=SortKey.reach, order="desc"), (), GOAL_ANY_MS),
        Case("empty q, sort last activity desc", q(sort=SortKey.last_activity, order="desc"), (), GOAL_ANY_MS),
    ]


# ---- data ----------------------------------------------------------------------------------------------


def build_database(path: Path, n_profiles: int, seed: int = 20261124) -> tuple[Engine, int]:
    """Migrated schema, then synthetic rows with sqlite3 executemany. Returns (engine, identities)."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    rng = random.Random(seed)
    stamp = "2026-01-15 10:00:00.000000"
    profiles = []
    identities = []
    taken: set[tuple[str, str]] = set()
    for pid in range(1, n_profiles + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}" if rng.random() > 0.15 else f"{first} {last} {rng.choice(LAST)}"
        topics = rng.sample(TOPICS, rng.choice((0, 1, 2, 3)))
        bio = f"{rng.choice(BIO_WORDS)} about {' and '.join(topics)}" if rng.random() < 0.5 else ""
        profiles.append([
            pid, name, f'["{rng.choice(ROLES)}"]', 0, bio, json.dumps(topics), rng.choice(("en", "es")),
            rng.choice(CITIES), rng.choice(STATUSES), 1, 0, "", None, None, stamp, stamp, 0,
            rng.choice((0, 0, 1, 3, 12)), rng.choice((None, "2026-01-01 10:00:00.000000", "2025-06-01 10:00:00.000000")),
            "",
        ])
        for platform in rng.sample(PLATFORMS, rng.choice((1, 2, 2, 3, 3, 4))):
            while True:
                style = rng.random()
                if style < 0.4:
                    handle = f"{first[0]}{last}{rng.randint(1, 9999)}".lower()
                elif style < 0.7:
                    handle = f"{first}_{last}{rng.randint(1, 999)}".lower()
                else:
                    handle = f"{first}{rng.randint(10, 99999)}".lower()
                if (platform, handle) not in taken:
                    taken.add((platform, handle))
                    break
            followers = int(rng.paretovariate(1.2) * 50)
            identities.append([
                pid, platform, handle, handle, f"https://example.com/{platform}/{handle}", followers,
                rng.randint(0, 2000), rng.randint(0, 5000), None, 0, None, stamp, stamp,
            ])
    for i, row in enumerate(rng.sample(identities, RARE_COUNT)):
        row[2] = row[3] = f"{row[2]}_{RARE}{i}"
    for row in rng.sample(profiles, RARE_COUNT):
        row[4] = f"{row[4]} {RARE_BIO}".strip()
    # The stored columns, as crm.profiles.stats computes them (reach, search text).
    by_profile: dict[int, list[list[Any]]] = defaultdict(list)
    for ident in identities:
        by_profile[ident[0]].append(ident)
    for row in profiles:
        own = by_profile[row[0]]
        row[16] = sum(i[5] for i in own)
        row[19] = search_text_of({"display_name": row[1], "topics": json.loads(row[5]), "tags": [], "location": row[7],
                                  "bio": row[4]}, [i[2] for i in own])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(  # the insert trigger of migration 0007 fills the FTS index
        "INSERT INTO profile (id, display_name, roles, is_team_member, bio, topics, language, location, status, "
        "may_contact, may_feature, consent_basis, consent_date, owner_id, created_at, updated_at, reach, "
        "contribution_count, last_activity_at, search_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        profiles,
    )
    conn.executemany(
        "INSERT INTO identity (profile_id, platform, handle, handle_key, url, followers, following, posts, "
        "engagement_rate, verified, last_synced_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        identities,
    )
    conn.execute("COMMIT")
    conn.close()
    return engine, len(identities)


# ---- timing ----------------------------------------------------------------------------------------------


def _kind(statement: str) -> str:
    head = statement.lstrip()[:40].lower()
    if head.startswith("select count("):
        return "count"
    if head.startswith("select identity.id"):
        return "identities"
    return "page"


class StatementClock:
    """Times each cursor execute (SQLite does the work up to the first row there) by statement kind."""

    def __init__(self, engine: Engine) -> None:
        self.current: Timings | None = None
        self.captured: list[tuple[str, Any]] = []
        self.capture = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()
        if self.capture:
            self.captured.append((statement, parameters))

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.current is not None and statement.lstrip().upper().startswith("SELECT"):
            self.current.sql[_kind(statement)].append((time.perf_counter() - conn.info["bench_t0"]) * 1000)


def time_case(
    engine: Engine, clock: StatementClock, case: Case, runs: int, budget_s: float, warmup: int = 2
) -> tuple[Timings, int]:
    """Up to `runs` timed calls, stopping early (after at least 3) once `budget_s` is spent."""
    total = 0
    for _ in range(warmup):  # statement cache, page cache
        with Session(engine) as session:
            total = list_profiles(case.query, session=session).total
    timings = Timings()
    clock.current = timings
    deadline = time.perf_counter() + budget_s
    for _ in range(runs):
        with Session(engine) as session:
            start = time.perf_counter()
            listing = list_profiles(case.query, session=session)
            timings.calls.append((time.perf_counter() - start) * 1000)
        assert listing.total == total
        if len(timings.calls) >= 3 and time.perf_counter() > deadline:
            break
    clock.current = None
    return timings, total


def time_reference(path: Path, terms: tuple[str, ...], runs: int, limit: int) -> list[float]:
    conn = sqlite3.connect(path)
    where = " AND ".join(["lower(display_name) LIKE ?"] * max(1, len(terms)))
    sql = f"SELECT id FROM profile WHERE {where} LIMIT {limit}"
    params = [f"%{t.lower()}%" for t in terms] or ["%%"]
    times = []
    for i in range(runs + 2):
        start = time.perf_counter()
        conn.execute(sql, params).fetchall()
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return times


def explain(path: Path, statements: list[tuple[str, Any]]) -> None:
    conn = sqlite3.connect(path)
    for statement, params in statements:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        print(f"\n-- {_kind(statement)} statement:")
        print("   " + " ".join(statement.split())[:600] + (" …" if len(" ".join(statement.split())) > 600 else ""))
        print(f"   params: {list(params)[:8]}{' …' if len(params) > 8 else ''}")
        for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params):
            print(f"   {'  ' * _depth(row, conn)}{row[3]}")
    conn.close()


_PARENTS: dict[int, int] = {}


def _depth(row: tuple[Any, ...], conn: sqlite3.Connection) -> int:
    node, parent = row[0], row[1]
    _PARENTS[node] = parent
    depth = 0
    while parent and depth < 20:
        parent = _PARENTS.get(parent, 0)
        depth += 1
    return depth


# ---- main ----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 calls per case (3 s budget)")
    parser.add_argument("--profiles", type=int, default=100_000, help="number of profiles (default 100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per case (default 50, quick 5)")
    parser.add_argument("--budget", type=float, default=None, help="seconds per case before stopping early (default 16)")
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None, help="build the database at this path and keep it")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 50)
    budget = args.budget or (3.0 if args.quick else 16.0)

    print(f"bench_search · {machine_line()}")
    with tempfile.TemporaryDirectory(prefix="altavoz-bench-search-") as tmp:
        path = args.keep or Path(tmp) / "search.db"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        engine, n_identities = build_database(path, args.profiles)
        print(f"database: {args.profiles:,} profiles, {n_identities:,} identities, built in "
              f"{time.perf_counter() - start:.1f} s · up to {runs} timed calls per case ({budget:g} s budget each), "
              f"page size {args.per_page}")
        clock = StatementClock(engine)
        rows = []
        sql_rows = []
        results: list[tuple[Case, Timings, int, list[float]]] = []
        for case in cases(args.per_page):
            timings, total = time_case(engine, clock, case, runs, budget, warmup=1 if args.quick else 2)
            ref = time_reference(path, case.terms, len(timings.calls), args.per_page)
            results.append((case, timings, total, ref))
            p50, p95 = percentile(timings.calls, 50), percentile(timings.calls, 95)
            ref50 = percentile(ref, 50)
            rows.append([
                case.label, total, len(timings.calls), p50, p95, ref50, f"{p50 / ref50:,.0f}×" if ref50 > 0 else "",
                f"< {case.goal_ms:g}", "met" if p95 < case.goal_ms else "not met",
            ])
            parts = [percentile(timings.sql.get(k, [0.0]), 50) for k in ("count", "page", "identities")]
            sql_rows.append([case.label, *parts, p50 - sum(parts)])
        print_table(
            ["case", "matches", "runs", "p50 ms", "p95 ms", "ref p50 ms", "ours/ref", "goal p95 ms", "goal"],
            rows, title="list_profiles (ours) vs bare sqlite3 `LIKE … LIMIT 50` on names (reference, same terms, same run)",
        )
        print_table(
            ["case", "count SQL", "page SQL", "identities SQL", "rest (ORM, Python)"],
            sql_rows, title="where the time goes (ms, p50 of each statement's cursor execute)",
        )

        slowest = max(results, key=lambda r: percentile(r[1].calls, 95))
        clock.capture = True
        with Session(engine) as session:
            list_profiles(slowest[0].query, session=session)
        clock.capture = False
        print(f"\nEXPLAIN QUERY PLAN of the slowest case ({slowest[0].label}):")
        explain(path, clock.captured)
        engine.dispose()


if __name__ == "__main__":
    main()
