"""Ranking: compute everyone's scores from the database, store a snapshot per computation and the
current values on each profile, and manage the weight sets.

A computation reads plain arrays (people, identities, contributions, edges) with Core, hands them to
the pure functions of crm.ranking.scoring and crm.ranking.pagerank, and writes in batches, each in
its own transaction, so it never holds SQLite's write lock for long and a killed worker leaves
whole batches (the run stays "running" and the next computation starts afresh)."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

import crm.models  # noqa: F401  (every table known, so a Job can be flushed from a bare worker process)
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import serialize_writes, utcnow, write_bind
from crm.errors import Conflict, NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction, Relationship
from crm.jobs.models import Job, JobStatus
from crm.profiles.models import Identity, Profile
from crm.ranking import scoring
from crm.ranking.models import RunStatus, ScoreRun, ScoreSnapshot, Weights, WeightSet, WeightSetIn
from crm.ranking.pagerank import pagerank

P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
IDENT = cast(Table, Identity.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
R = cast(Table, Relationship.__table__)  # type: ignore[attr-defined]
W = cast(Table, WeightSet.__table__)  # type: ignore[attr-defined]
RUN = cast(Table, ScoreRun.__table__)  # type: ignore[attr-defined]
SNAP = cast(Table, ScoreSnapshot.__table__)  # type: ignore[attr-defined]
J = cast(Table, Job.__table__)  # type: ignore[attr-defined]

BATCH = 5_000
PERIODS = (30, 90, 365)
JOB_KIND = "rank"
JOB_WAIT_SECONDS, JOB_POLL_SECONDS = 900.0, 2.0  # a job waits this long for a running computation
Progress = Callable[[str, int, int], None]


# ---- weight sets --------------------------------------------------------------------------------

def default_weights() -> dict[str, Any]:
    return Weights().model_dump(mode="json")


def ensure_active(conn: Connection) -> dict[str, Any]:
    """The active weight set as a row mapping; the defaults become version 1 when there is none yet."""
    row = conn.execute(select(W).where(W.c.active.is_(True))).mappings().first()
    if row is None:
        version = (conn.execute(select(func.max(W.c.version))).scalar() or 0) + 1
        conn.execute(insert(W).values(version=version, name="Default", note="", weights=default_weights(),
                                      active=True, created_at=utcnow(), activated_at=utcnow()))
        row = conn.execute(select(W).where(W.c.active.is_(True))).mappings().one()
    return dict(row)


def active_weight_set(*, session: Session) -> WeightSet | None:
    return session.exec(select(WeightSet).where(col(WeightSet.active).is_(True))).scalars().first()  # type: ignore[call-overload, no-any-return]


def weights_in_use(*, session: Session) -> tuple[int, dict[str, Any]]:
    """(version, weights) of the active set; the defaults (version 0) before any exists."""
    active = active_weight_set(session=session)
    return (active.version, active.weights) if active else (0, default_weights())


def list_weight_sets(*, session: Session) -> list[WeightSet]:
    return list(session.exec(select(WeightSet).order_by(col(WeightSet.version).desc())).scalars())  # type: ignore[call-overload]


def get_weight_set(weight_set_id: int, *, session: Session) -> WeightSet:
    found = session.get(WeightSet, weight_set_id)
    if found is None:
        raise NotFound(gettext("No such weight set."))
    return found


def create_weight_set(data: WeightSetIn, *, session: Session, actor: Actor) -> WeightSet:
    """A new, inactive version (editing never changes a version that scores were computed with)."""
    ensure_active(session.connection())
    version = (session.exec(select(func.max(WeightSet.version))).scalar() or 0) + 1  # type: ignore[call-overload]
    created = WeightSet(version=version, name=data.name, note=data.note, weights=data.weights.model_dump(mode="json"),
                        created_by_id=actor.user_id)
    session.add(created)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(gettext("Someone saved another version at the same moment; try again.")) from None
    audit.record(session=session, actor=actor, action=AuditAction.weights_create, object_type="weight_set",
                 object_id=created.id, after={"version": version, "name": data.name, "weights": created.weights})
    return created


def activate(weight_set_id: int, *, session: Session, actor: Actor) -> WeightSet:
    """Make this version the one scores use (the next computation applies it)."""
    target = get_weight_set(weight_set_id, session=session)
    if target.active:
        raise Conflict(gettext("That version is already active."))
    previous = active_weight_set(session=session)
    if previous is not None:
        previous.active = False
        session.add(previous)
        session.flush()
    target.active, target.activated_at, target.activated_by_id = True, utcnow(), actor.user_id
    session.add(target)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(gettext("Another version was activated at the same moment; reload and try again.")) from None
    audit.record(session=session, actor=actor, action=AuditAction.weights_activate, object_type="weight_set",
                 object_id=target.id, before={"version": previous.version if previous else None},
                 after={"version": target.version})
    return target


# ---- reading the inputs ------------------------------------------------------------------------

@dataclass
class Inputs:
    as_of: datetime
    ids: np.ndarray  # profile ids, ascending
    team: np.ndarray
    previous: dict[str, np.ndarray]  # the last finished run: level, level_below_runs, influence, known
    stored: dict[str, np.ndarray]  # what the profiles hold now: score, score_rank, level... scored
    ident_owner: np.ndarray
    ident_platform: list[str]
    ident_followers: np.ndarray
    contrib_owner: np.ndarray
    contrib_kind: np.ndarray  # index into kinds
    kinds: list[str]
    contrib_sentiment: np.ndarray
    contrib_age: np.ndarray  # days before as_of
    edge_source: np.ndarray
    edge_target: np.ndarray
    edge_kind: np.ndarray  # index into edge_kinds
    edge_kinds: list[str]
    edge_strength: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


def _age_days(conn: Connection, as_of: datetime) -> Any:
    """Days between an interaction and `as_of`, computed by the database (no datetime objects per row)."""
    if conn.dialect.name == "sqlite":
        stamp = as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return func.julianday(literal(stamp)) - func.julianday(X.c.occurred_at)
    return func.extract("epoch", literal(as_of) - X.c.occurred_at) / 86400.0


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    names = sorted(set(values))
    lookup = {name: i for i, name in enumerate(names)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int32, count=len(values)), names


def _previous_run(conn: Connection, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Levels, hysteresis counts and influence from the last finished run's snapshot (not from the
    profiles, which a killed or overlapping run may have left half written)."""
    n = len(ids)
    previous: dict[str, np.ndarray] = {"level": np.full(n, 4, dtype=np.int16), "level_below_runs": np.zeros(n, dtype=np.int32),
                "influence": np.zeros(n, dtype=np.float64), "known": np.zeros(n, dtype=bool)}
    last = conn.execute(select(func.max(RUN.c.id)).where(RUN.c.status == RunStatus.done.value)).scalar()
    if last is None or n == 0:
        return previous
    rows = conn.execute(select(SNAP.c.profile_id, SNAP.c.level, SNAP.c.level_below_runs, SNAP.c.influence)
                        .where(SNAP.c.run_id == last)).all()
    pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    at = np.searchsorted(ids, pids)
    present = (at < n) & (ids[np.minimum(at, n - 1)] == pids)  # people deleted since are left out
    at, rows_kept = at[present], [r for r, keep in zip(rows, present, strict=True) if keep]
    previous["level"][at] = [r[1] for r in rows_kept]
    previous["level_below_runs"][at] = [r[2] for r in rows_kept]
    previous["influence"][at] = [r[3] for r in rows_kept]
    previous["known"][at] = True
    return previous


def load_inputs(conn: Connection, as_of: datetime, *, contribution_kinds: list[str]) -> Inputs:
    people = conn.execute(select(P.c.id, P.c.is_team_member, P.c.score, P.c.score_rank, P.c.level, P.c.advocacy,
                                 P.c.influence, P.c.level_below_runs, P.c.scored_at.is_not(None)).order_by(P.c.id)).all()
    n = len(people)
    ids = np.fromiter((r[0] for r in people), dtype=np.int64, count=n)
    # What the profiles hold now: only what differs from it is written.
    stored: dict[str, np.ndarray] = {
        "score": np.fromiter((r[2] or 0.0 for r in people), dtype=np.float64, count=n),
        "score_rank": np.fromiter((r[3] or 0 for r in people), dtype=np.int64, count=n),
        "level": np.fromiter((r[4] or 4 for r in people), dtype=np.int16, count=n),
        "advocacy": np.fromiter((r[5] or 0.0 for r in people), dtype=np.float64, count=n),
        "influence": np.fromiter((r[6] or 0.0 for r in people), dtype=np.float64, count=n),
        "level_below_runs": np.fromiter((r[7] or 0 for r in people), dtype=np.int32, count=n),
        "scored": np.fromiter((bool(r[8]) for r in people), dtype=bool, count=n),
    }
    team = np.fromiter((bool(r[1]) for r in people), dtype=bool, count=n)
    previous = _previous_run(conn, ids)

    idents = conn.execute(select(IDENT.c.profile_id, IDENT.c.platform, IDENT.c.followers)).all()
    ident_owner = np.searchsorted(ids, np.fromiter((r[0] for r in idents), dtype=np.int64, count=len(idents)))

    age = _age_days(conn, as_of)
    contribs = conn.execute(
        select(X.c.profile_id, X.c.kind, X.c.sentiment, age)
        .where(X.c.kind.in_(contribution_kinds), X.c.occurred_at <= as_of)
    ).all()
    m = len(contribs)
    kind_codes, kinds = _codes([r[1] for r in contribs])

    edges = conn.execute(
        select(R.c.source_id, R.c.target_id, R.c.kind, R.c.strength)
        .where(func.coalesce(R.c.first_seen, R.c.created_at) <= as_of)
    ).all()
    e = len(edges)
    edge_codes, edge_kinds = _codes([r[2] for r in edges])
    return Inputs(
        as_of=as_of, ids=ids, team=team, previous=previous, stored=stored,
        ident_owner=ident_owner,
        ident_platform=[r[1] for r in idents],
        ident_followers=np.fromiter((r[2] or 0 for r in idents), dtype=np.float64, count=len(idents)),
        contrib_owner=np.searchsorted(ids, np.fromiter((r[0] for r in contribs), dtype=np.int64, count=m)),
        contrib_kind=kind_codes, kinds=kinds,
        contrib_sentiment=np.fromiter((np.nan if r[2] is None else r[2] for r in contribs), dtype=np.float64, count=m),
        contrib_age=np.fromiter((r[3] or 0.0 for r in contribs), dtype=np.float64, count=m),
        edge_source=np.searchsorted(ids, np.fromiter((r[0] for r in edges), dtype=np.int64, count=e)),
        edge_target=np.searchsorted(ids, np.fromiter((r[1] for r in edges), dtype=np.int64, count=e)),
        edge_kind=edge_codes, edge_kinds=edge_kinds,
        edge_strength=np.fromiter((r[3] or 0.0 for r in edges), dtype=np.float64, count=e),
    )


_inputs_cache: dict[str, tuple[str, float, Inputs]] = {}
_inputs_lock = threading.Lock()
INPUTS_MAX_AGE = 600.0  # seconds


def current_inputs(conn: Connection, *, contribution_kinds: list[str]) -> Inputs:
    """Today's inputs for previews, kept in memory while nothing changed (no new run, same data, same
    kinds) for up to ten minutes: reading them takes seconds at 100,000 people, comparing weight sets
    one after another should not."""
    last_run = conn.execute(select(func.max(RUN.c.id))).scalar()
    key = f"{inputs_signature(conn)}|run{last_run}|{','.join(contribution_kinds)}"
    database = conn.engine.url.render_as_string(hide_password=True)
    with _inputs_lock:
        hit = _inputs_cache.get(database)
        if hit is not None and hit[0] == key and time.monotonic() - hit[1] < INPUTS_MAX_AGE:
            return hit[2]
        inputs = load_inputs(conn, utcnow(), contribution_kinds=contribution_kinds)
        if database not in _inputs_cache and len(_inputs_cache) >= 2:
            _inputs_cache.pop(next(iter(_inputs_cache)))
        _inputs_cache[database] = (key, time.monotonic(), inputs)
        return inputs


# ---- computing ---------------------------------------------------------------------------------

@dataclass
class Scores:
    reach: np.ndarray
    reach_pct: np.ndarray
    advocacy: np.ndarray
    advocacy_pct: np.ndarray
    influence: np.ndarray
    influence_pct: np.ndarray
    score: np.ndarray
    rank: np.ndarray  # 0: not ranked (team members)
    level: np.ndarray
    level_below_runs: np.ndarray
    periods: dict[int, np.ndarray] = field(default_factory=dict)
    iterations: int = 0


def compute(inputs: Inputs, weights: dict[str, Any]) -> Scores:
    """Everyone's scores from the inputs (pure: nothing is read or written)."""
    n = inputs.n
    reach = scoring.reach_scores(n, inputs.ident_owner, inputs.ident_platform, inputs.ident_followers, weights)
    kind_weight = np.array([float(weights["kinds"].get(k, 0.0)) for k in inputs.kinds] or [0.0])[inputs.contrib_kind]
    advocacy, periods = scoring.advocacy_by_period(n, inputs.contrib_owner, kind_weight, inputs.contrib_sentiment,
                                                   inputs.contrib_age, weights, PERIODS)
    edge_weight = np.array([float(weights["edges"].get(k, 1.0)) for k in inputs.edge_kinds] or [0.0])[inputs.edge_kind]
    previous = inputs.previous["influence"]
    start = previous if previous.sum() > 0 else None
    ranked = pagerank(n, inputs.edge_source, inputs.edge_target, edge_weight * inputs.edge_strength, start=start)
    influence = ranked.vector * n
    # Rounded as stored, so that an explanation's points add up to the stored score exactly.
    pcts = {"reach": np.round(scoring.percentiles(reach), 6), "advocacy": np.round(scoring.percentiles(advocacy), 6),
            "influence": np.round(scoring.percentiles(influence), 6)}
    score = scoring.combined_score(pcts, weights["combined"])
    rank = scoring.ranks(score, ~inputs.team, advocacy, inputs.ids)
    computed = scoring.level_for(advocacy, weights["levels"])
    level, below = scoring.next_levels(inputs.previous["level"], inputs.previous["level_below_runs"],
                                       np.asarray(computed), inputs.previous["known"])
    return Scores(reach=reach, reach_pct=pcts["reach"], advocacy=advocacy, advocacy_pct=pcts["advocacy"],
                  influence=influence, influence_pct=pcts["influence"], score=score, rank=rank, level=level,
                  level_below_runs=below, periods=periods, iterations=ranked.iterations)


# ---- storing -----------------------------------------------------------------------------------

def _r(value: float) -> float:
    return round(float(value), 6)


def _store(engine: Engine, run_id: int, inputs: Inputs, scores: Scores, progress: Progress) -> None:
    bind = write_bind(engine)
    n = inputs.n
    for start in range(0, n, BATCH):
        stop = min(start + BATCH, n)
        rows = [{
            "run_id": run_id, "profile_id": int(inputs.ids[i]),
            "reach": _r(scores.reach[i]), "reach_pct": _r(scores.reach_pct[i]),
            "advocacy": _r(scores.advocacy[i]), "advocacy_pct": _r(scores.advocacy_pct[i]),
            "influence": _r(scores.influence[i]), "influence_pct": _r(scores.influence_pct[i]),
            "score": _r(scores.score[i]), "rank": int(scores.rank[i]) or None, "level": int(scores.level[i]),
            "level_below_runs": int(scores.level_below_runs[i]),
            "advocacy_30": _r(scores.periods[30][i]), "advocacy_90": _r(scores.periods[90][i]),
            "advocacy_365": _r(scores.periods[365][i]),
        } for i in range(start, stop)]
        with bind.begin() as conn:
            conn.execute(insert(SNAP), rows)
            _beat(conn, run_id)
        progress("snapshots", stop, n)
    # Only people whose values changed are written (the profile's updated_at is left alone: it is
    # the time a person edited the profile, not when scores moved).
    stored = inputs.stored
    new_rank = scores.rank
    changed = np.flatnonzero(
        ~stored["scored"]
        | (np.abs(stored["score"] - scores.score) > 1e-6)
        | (stored["score_rank"] != new_rank)
        | (stored["level"] != scores.level)
        | (stored["level_below_runs"] != scores.level_below_runs)
        | (np.abs(stored["advocacy"] - scores.advocacy) > 1e-6)
        | (np.abs(stored["influence"] - scores.influence) > 1e-6)
    )
    statement = (update(P).where(P.c.id == bindparam("pid"))
                 .values(score=bindparam("s"), score_rank=bindparam("rk"), level=bindparam("lv"),
                         level_below_runs=bindparam("lb"), advocacy=bindparam("ad"), influence=bindparam("inf"),
                         scored_at=bindparam("at"), updated_at=P.c.updated_at)
                 .execution_options(synchronize_session=False))
    for start in range(0, len(changed), BATCH):
        chunk = changed[start:start + BATCH]
        changes: list[dict[str, Any]] = [{"pid": int(inputs.ids[i]), "s": _r(scores.score[i]), "rk": int(new_rank[i]) or None,
                 "lv": int(scores.level[i]), "lb": int(scores.level_below_runs[i]), "ad": _r(scores.advocacy[i]),
                 "inf": _r(scores.influence[i]), "at": inputs.as_of} for i in chunk]
        with bind.begin() as conn:
            conn.execute(statement, changes)
            _beat(conn, run_id)
        progress("people", min(start + BATCH, len(changed)), len(changed))


def inputs_signature(conn: Connection) -> str:
    """A short text that changes whenever anything a score depends on changes: rows added (max id),
    removed (count) or edited (latest updated_at) among people, identities, interactions and
    relationships, and the active weight version. Cheap enough to check every minute at 1M rows."""
    parts = []
    for table in (P, IDENT, X, R):
        count, top, edited = conn.execute(select(func.count(), func.max(table.c.id), func.max(table.c.updated_at))).one()
        parts.append(f"{count}.{top or 0}.{edited.timestamp() if edited else 0:.6f}")
    version = conn.execute(select(W.c.version).where(W.c.active.is_(True))).scalar()
    parts.append(f"w{version or 0}")
    return "|".join(parts)


RUN_STALE = timedelta(minutes=3)  # a running run without a heartbeat for this long has died


class RecomputeBusy(Conflict):
    """Another computation is running: one at a time, or their writes to the profiles interleave."""


def _beat(conn: Connection, run_id: int) -> None:
    conn.execute(update(RUN).where(RUN.c.id == run_id).values(heartbeat_at=utcnow()))


def _start_run(conn: Connection, weight_set: dict[str, Any], as_of: datetime, trigger: str) -> int:
    """The new run's id, in the caller's write transaction; RecomputeBusy while another one runs.
    A run whose process died (no heartbeat for RUN_STALE) is marked failed and its snapshots removed."""
    if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises this check
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(b"rank-run")})
    stale = utcnow() - RUN_STALE
    running = RUN.c.status == RunStatus.running.value
    beat = func.coalesce(RUN.c.heartbeat_at, RUN.c.started_at)
    dead = [run_id for (run_id,) in conn.execute(select(RUN.c.id).where(running, beat < stale))]
    if dead:
        conn.execute(SNAP.delete().where(SNAP.c.run_id.in_(dead)))
        conn.execute(update(RUN).where(RUN.c.id.in_(dead)).values(status=RunStatus.failed.value, finished_at=utcnow()))
    alive = conn.execute(select(RUN.c.id, RUN.c.started_at).where(running).limit(1)).first()
    if alive is not None:
        raise RecomputeBusy(gettext("Scores are being recomputed already (since %(time)s UTC); try again when "
                                    "that finishes.") % {"time": alive.started_at.strftime("%H:%M:%S")})
    return int(conn.execute(insert(RUN).values(
        weight_set_id=weight_set["id"], weight_version=weight_set["version"], as_of=as_of,
        status=RunStatus.running.value, trigger=trigger[:20], started_at=utcnow(), heartbeat_at=utcnow(),
        signature=inputs_signature(conn)).returning(RUN.c.id)).scalar_one())


def recompute(engine: Engine, *, trigger: str = "cli", as_of: datetime | None = None,
              progress: Progress | None = None) -> ScoreRun:
    """Compute everyone's scores now (or as they stood at `as_of`) and store them; returns the run."""
    notify = progress or (lambda stage, done, total: None)
    began = time.perf_counter()
    as_of = as_of or utcnow()
    bind = write_bind(engine)
    with bind.begin() as conn:
        weight_set = ensure_active(conn)
        run_id = _start_run(conn, weight_set, as_of, trigger)
    weights = weight_set["weights"]
    notify("reading", 0, 1)
    with engine.connect() as conn:
        inputs = load_inputs(conn, as_of, contribution_kinds=sorted(weights["kinds"]))
    with bind.begin() as conn:
        _beat(conn, run_id)
    notify("reading", 1, 1)
    scores = compute(inputs, weights)
    _store(engine, run_id, inputs, scores, notify)
    with bind.begin() as conn:
        conn.execute(update(RUN).where(RUN.c.id == run_id).values(
            status=RunStatus.done.value, finished_at=utcnow(), profiles=inputs.n, edges=len(inputs.edge_source),
            interactions=len(inputs.contrib_owner), iterations=scores.iterations,
            seconds=round(time.perf_counter() - began, 3)))
        prune_runs(conn)
    with Session(engine) as session:
        return cast(ScoreRun, session.get(ScoreRun, run_id))


def prune_runs(conn: Connection, *, keep_days: int = 2) -> int:
    """History keeps every run of the last `keep_days` days and the last run of each earlier day:
    recomputing after every change must not grow the snapshot table without bound."""
    cutoff = utcnow() - timedelta(days=keep_days)
    old = conn.execute(select(RUN.c.id, RUN.c.as_of).where(RUN.c.as_of < cutoff)
                       .order_by(RUN.c.as_of, RUN.c.id)).all()
    last_of_day: dict[Any, int] = {}
    for run_id, as_of in old:
        last_of_day[as_of.date()] = run_id
    doomed = [run_id for run_id, _ in old if run_id not in set(last_of_day.values())]
    for start in range(0, len(doomed), 500):
        chunk = doomed[start:start + 500]
        conn.execute(SNAP.delete().where(SNAP.c.run_id.in_(chunk)))
        conn.execute(RUN.delete().where(RUN.c.id.in_(chunk)))
    return len(doomed)


def backfill(engine: Engine, *, months: int, progress: Progress | None = None) -> list[ScoreRun]:
    """Runs as the data stood at the end of each of the last `months` months, oldest first, then now:
    history and trends from the first day (the demo uses it)."""
    now = utcnow()
    runs = []
    for back in range(months, 0, -1):
        runs.append(recompute(engine, trigger="backfill", as_of=now - timedelta(days=30 * back), progress=progress))
    runs.append(recompute(engine, trigger="backfill", as_of=now, progress=progress))
    return runs


# ---- the job: recompute in the worker after imports and changes ------------------------------

def request_recompute(*, session: Session, reason: str = "") -> Job | None:
    """Queue a recompute unless one is already waiting (many changes in a row make one job)."""
    from crm.jobs import service as jobs

    serialize_writes(session, "rank-request")  # two workers ticking at once queue one job, not two
    waiting = session.exec(select(Job.id).where(col(Job.kind) == JOB_KIND,  # type: ignore[call-overload]
                                                col(Job.status) == JobStatus.queued.value).limit(1)).first()
    if waiting is not None:
        return None
    return jobs.enqueue(JOB_KIND, {"reason": reason[:100]}, session=session, title="Recompute scores")


def recompute_due(conn: Connection, *, every_hours: float, after_changes: bool) -> str | None:
    """Why scores should be recomputed now ("first", "changed", "schedule"), or None. Nothing is due
    while a recompute job is queued or running, or a computation is running (the CLI's); a run that
    never finished does not count as the last computation."""
    busy = conn.execute(select(J.c.id).where(J.c.kind == JOB_KIND, J.c.status.in_(
        (JobStatus.queued.value, JobStatus.running.value))).limit(1)).first()
    beat = func.coalesce(RUN.c.heartbeat_at, RUN.c.started_at)
    running = conn.execute(select(RUN.c.id).where(RUN.c.status == RunStatus.running.value,
                                                  beat >= utcnow() - RUN_STALE).limit(1)).first()
    if busy is not None or running is not None:
        return None
    last = conn.execute(select(RUN.c.signature, RUN.c.started_at).where(RUN.c.status == RunStatus.done.value)
                        .order_by(RUN.c.id.desc()).limit(1)).first()
    if last is None:
        return "first"
    if after_changes and last.signature != inputs_signature(conn):
        return "changed"
    if every_hours and utcnow() - last.started_at >= timedelta(hours=every_hours):
        return "schedule"
    return None


def tick(engine: Engine, *, every_hours: float = 24, after_changes: bool = True) -> int | None:
    """Queue a recompute job if one is due (the workers call this every `rank_check_seconds`); its id."""
    with engine.connect() as conn:  # the check reads only: no write lock unless a job is due
        reason = recompute_due(conn, every_hours=every_hours, after_changes=after_changes)
    if reason is None:
        return None
    with Session(write_bind(engine)) as session:
        job = request_recompute(session=session, reason=reason)
        job_id = job.id if job else None
        session.commit()
        return job_id


def run_rank_job(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None) -> Any:
    stages = {"reading": 0, "snapshots": 1, "people": 2}

    def report(stage: str, done: int, total: int) -> None:
        step = stages.get(stage, 0)
        with write_bind(engine).begin() as conn:
            conn.execute(update(J).where(J.c.id == job_id).values(progress=step * 100 + (100 * done // max(total, 1)),
                                                                   total=300))
        if progress:
            progress(step * 100 + (100 * done // max(total, 1)), 300)

    waited = 0.0
    while True:  # another computation (the CLI's, or a job on another worker) finishes first
        try:
            run = recompute(engine, trigger="job", progress=report)
            break
        except RecomputeBusy:
            if waited >= JOB_WAIT_SECONDS:
                raise
            time.sleep(JOB_POLL_SECONDS)
            waited += JOB_POLL_SECONDS
    with write_bind(engine).begin() as conn:
        conn.execute(update(J).where(J.c.id == job_id).values(
            status=JobStatus.done.value, finished_at=utcnow(), progress=300, total=300,
            counts={"run": run.id, "people": run.profiles, "seconds": run.seconds}))
    return run
