"""Mentions: interactions matched by a topic's tracked terms. New and edited interactions are matched
as they arrive (the interaction log and the importer call `after_interactions`, in their transaction);
a topic created or edited is matched against the history by the `listen` job, in batches.

An interaction that becomes a mention and has no sentiment gets an estimate from the word list,
marked `estimated` (crm.listening.sentiment); an earlier estimate is redone when the text changed;
a sentiment from the source or a correction is never touched."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, update
from sqlmodel import Session

from crm.db import utcnow, write_bind
from crm.interactions.models import OUR_KINDS, Interaction
from crm.jobs.models import Job, JobStatus
from crm.listening import sentiment as sentiment_words
from crm.listening.models import Mention, SentimentLexicon, SentimentSource, Topic
from crm.listening.terms import Matcher, topic_terms

log = logging.getLogger("crm.listening")
X: Table = Interaction.__table__  # type: ignore[attr-defined]
M: Table = Mention.__table__  # type: ignore[attr-defined]
T: Table = Topic.__table__  # type: ignore[attr-defined]
L: Table = SentimentLexicon.__table__  # type: ignore[attr-defined]
J: Table = Job.__table__  # type: ignore[attr-defined]
BATCH = 2000
LISTEN_JOB = "listen"
OURS = tuple(k.value for k in OUR_KINDS)


def matcher(conn: Connection, topic_ids: Sequence[int] | None = None) -> Matcher:
    query = select(T.c.id, T.c.terms, T.c.exclusions).where(T.c.active.is_(True))
    if topic_ids is not None:
        query = query.where(T.c.id.in_(list(topic_ids)))
    return Matcher([topic_terms(r.id, r.terms or [], r.exclusions or []) for r in conn.execute(query)])


def lexicons(conn: Connection) -> dict[str, dict[str, int]]:
    """Each language's word list: the edited one where there is one, else the built-in."""
    edited = {r.language: dict(r.words or {}) for r in conn.execute(select(L.c.language, L.c.words))}
    return {lang: edited.get(lang, sentiment_words.BUILTIN.get(lang, {})) for lang in sentiment_words.LANGUAGES}


def is_negative(sentiment: float | None, kind: str) -> bool:
    """On the crisis radar: a negative label (given, estimated or corrected) or a complaint."""
    return (sentiment is not None and sentiment < 0) or kind == "complaint"


def refresh_negative(conn: Connection, interaction_ids: Sequence[int]) -> None:
    """After a sentiment correction: the mentions' copy of "negative" follows the interaction."""
    ids = sorted(set(interaction_ids))
    for start in range(0, len(ids), BATCH):
        for row in conn.execute(select(X.c.id, X.c.sentiment, X.c.kind).where(X.c.id.in_(ids[start:start + BATCH]))):
            conn.execute(update(M).where(M.c.interaction_id == row.id).values(negative=is_negative(row.sentiment, row.kind)))


def _text(row: Any) -> str:
    return f"{row.title or ''}\n{row.body or ''}"


def match_rows(conn: Connection, rows: Sequence[Any], found_by: Matcher, lists: dict[str, dict[str, int]],
               *, topic_ids: Sequence[int] | None = None) -> int:
    """Bring the mentions of `rows` (interaction rows) for the matcher's topics up to date and estimate
    sentiment where there is none. A mention that still matches keeps its row (and id: alerts list
    them); one that no longer matches goes; a new match is added. Returns the mentions now in place."""
    ids = [r.id for r in rows]
    if not ids:
        return 0
    existing_query = select(M.c.id, M.c.interaction_id, M.c.topic_id, M.c.negative, M.c.term, M.c.profile_id,
                            M.c.occurred_at).where(M.c.interaction_id.in_(ids))
    if topic_ids is not None:
        existing_query = existing_query.where(M.c.topic_id.in_(list(topic_ids)))
    existing = {(r.interaction_id, r.topic_id): r for r in conn.execute(existing_query)}
    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    estimates: list[dict[str, Any]] = []
    for row in rows:
        if row.kind in OURS:
            continue
        text = _text(row)
        found = found_by.match(text)
        sentiment = row.sentiment
        # Estimate where there is no label, or redo an earlier estimate; never over a person's correction
        # (not even a correction to "unknown") nor a label from the source.
        if found and (row.sentiment_source == SentimentSource.estimated.value
                      or (row.sentiment is None and row.sentiment_source != SentimentSource.corrected.value)):
            guess = sentiment_words.estimate(text, lists)
            sentiment = guess.score if guess else None
            if sentiment != row.sentiment or (sentiment is not None and row.sentiment_source != SentimentSource.estimated.value):
                estimates.append({"b_id": row.id, "b_sentiment": sentiment,
                                  "b_source": SentimentSource.estimated.value if guess else ""})
        for topic_id, term in found.items():
            wanted[(row.id, topic_id)] = {"interaction_id": row.id, "topic_id": topic_id, "profile_id": row.profile_id,
                                          "occurred_at": row.occurred_at, "term": term[:200], "created_at": utcnow(),
                                          "negative": is_negative(sentiment, row.kind)}
    gone = [r.id for key, r in existing.items() if key not in wanted]
    if gone:
        conn.execute(delete(M).where(M.c.id.in_(gone)))
    new = [values for key, values in wanted.items() if key not in existing]
    if new:
        conn.execute(insert(M), new)
    changed = [{"b_mention": existing[key].id, "b_negative": v["negative"], "b_term": v["term"],
                "b_profile": v["profile_id"], "b_when": v["occurred_at"]}
               for key, v in wanted.items() if key in existing and (
                   existing[key].negative != v["negative"] or existing[key].term != v["term"]
                   or existing[key].profile_id != v["profile_id"] or _moved(existing[key].occurred_at, v["occurred_at"]))]
    if changed:
        conn.execute(update(M).where(M.c.id == bindparam("b_mention")).values(
            negative=bindparam("b_negative"), term=bindparam("b_term"), profile_id=bindparam("b_profile"),
            occurred_at=bindparam("b_when")), changed)
    if estimates:
        conn.execute(update(X).where(X.c.id == bindparam("b_id"))
                     .values(sentiment=bindparam("b_sentiment"), sentiment_source=bindparam("b_source")), estimates)
        if topic_ids is not None:  # the other topics' mentions of these interactions follow the new label
            refresh_negative(conn, [e["b_id"] for e in estimates])
    return len(wanted)


def _moved(stored: Any, new: Any) -> bool:
    if stored is None or new is None:
        return stored is not new
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=new.tzinfo)
    return bool(stored != new)


_COLUMNS = (X.c.id, X.c.profile_id, X.c.kind, X.c.title, X.c.body, X.c.occurred_at, X.c.sentiment, X.c.sentiment_source)


def after_interactions(conn: Connection, interaction_ids: Sequence[int]) -> int:
    """Match new or edited interactions against every active topic (in the caller's transaction)."""
    ids = sorted(set(interaction_ids))
    if not ids:
        return 0
    found_by = matcher(conn)
    if not found_by.topics:
        return 0
    lists = lexicons(conn)
    written = 0
    for start in range(0, len(ids), BATCH):
        rows = conn.execute(select(*_COLUMNS).where(X.c.id.in_(ids[start:start + BATCH]))).all()
        written += match_rows(conn, rows, found_by, lists)
    return written


# ---- the `listen` job: a topic's terms against the history ------------------------------------

def enqueue_listen(topic_id: int, *, session: Session, days: int = 365, created_by_id: int | None = None) -> Job:
    """Queue matching one topic against the last `days` of interactions (after a topic is saved)."""
    from crm.jobs import service as jobs

    return jobs.enqueue(LISTEN_JOB, {"topic_id": topic_id, "days": days}, session=session,
                        title=f"Find mentions for topic #{topic_id}", created_by_id=created_by_id)


def run_listen_job(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None) -> Job:
    """Idempotent and resumable: batches of interaction ids in order, committed one at a time, the
    last id done kept in the job's counts; a killed worker resumes after it."""
    bind = write_bind(engine)
    with engine.connect() as conn:
        job = conn.execute(select(J).where(J.c.id == job_id)).one()
        params = dict(job.params or {})
        counts = dict(job.counts or {})
        topic_id = int(params["topic_id"])
        since = utcnow() - timedelta(days=int(params.get("days", 365)))
        total = conn.execute(select(func.count()).select_from(X).where(X.c.occurred_at >= since)).scalar_one()
        found_by = matcher(conn, [topic_id])
        lists = lexicons(conn)
    after = int(counts.get("last_id", 0))
    done = int(counts.get("done", 0))
    mentions = int(counts.get("mentions", 0))
    while True:
        with bind.begin() as conn:
            rows = conn.execute(select(*_COLUMNS).where(X.c.occurred_at >= since, X.c.id > after)
                                .order_by(X.c.id).limit(BATCH)).all()
            if not rows:
                conn.execute(update(J).where(J.c.id == job_id).values(
                    status=JobStatus.done.value, finished_at=utcnow(), progress=total, total=total,
                    counts={"last_id": after, "done": done, "mentions": mentions}))
                break
            if found_by.topics:  # a topic switched off or deleted since: nothing to match
                mentions += match_rows(conn, rows, found_by, lists, topic_ids=[topic_id])
            after = rows[-1].id
            done += len(rows)
            conn.execute(update(J).where(J.c.id == job_id).values(
                progress=min(done, total), total=total, heartbeat_at=utcnow(),
                counts={"last_id": after, "done": done, "mentions": mentions}))
        if progress:
            progress(min(done, total), total)
    with engine.connect() as conn:
        return Job(**conn.execute(select(J).where(J.c.id == job_id)).one()._mapping)
