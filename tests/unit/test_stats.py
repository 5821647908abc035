"""The stored, derived columns of a profile (crm/profiles/stats.py): what lists filter and sort by."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlmodel import Session

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.profiles import stats
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile


def _add(engine, *rows) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        for row in rows:
            session.add(row)


def test_reach_contributions_last_activity_and_search_text(engine):
    ana = make_profile(engine, "Lucía Gómez Marín", bio="Kubernetes en producción", topics=["devops"], tags=["vip"],
                       location="Madrid, España")
    other = make_profile(engine, "Bruno")
    now = utcnow()
    _add(engine,
         Identity(profile_id=ana.id, platform="x", handle="LuciaG", handle_key="luciag", followers=1200),
         Identity(profile_id=ana.id, platform="github", handle="lgm", handle_key="lgm", followers=300),
         Interaction(profile_id=ana.id, kind="post", occurred_at=now - timedelta(days=10)),
         Interaction(profile_id=ana.id, kind="forum_answer", occurred_at=now - timedelta(days=40)),
         Interaction(profile_id=ana.id, kind="complaint", occurred_at=now - timedelta(days=5)),  # theirs, not a contribution
         Interaction(profile_id=ana.id, kind="note", occurred_at=now - timedelta(days=1)),  # ours: not their activity
         Interaction(profile_id=ana.id, kind="outreach_email", occurred_at=now),
         Interaction(profile_id=other.id, kind="post", occurred_at=now))
    with session_scope(engine, write=True) as session:
        stats.refresh([ana.id or 0], session=session)
    with Session(engine) as session:
        row = session.get(Profile, ana.id)
        assert row is not None and row.reach == 1500 and row.contribution_count == 2
        assert row.last_activity_at is not None and abs(row.last_activity_at - (now - timedelta(days=5))) < timedelta(seconds=1)
        for word in ("lucia gomez marin", "luciag", "lgm", "kubernetes en produccion", "devops", "vip", "madrid, espana"):
            assert word in row.search_text, word
        untouched = session.get(Profile, other.id)
        assert untouched is not None and untouched.contribution_count == 0  # only the people asked for


def test_nobody_active_has_no_last_activity_and_zero_counts(engine):
    quiet = make_profile(engine, "Quiet Person")
    _add(engine, Interaction(profile_id=quiet.id, kind="note", occurred_at=utcnow()))
    with session_scope(engine, write=True) as session:
        stats.refresh([quiet.id or 0], session=session)
    with Session(engine) as session:
        row = session.get(Profile, quiet.id)
        assert row is not None and (row.reach, row.contribution_count, row.last_activity_at) == (0, 0, None)


def test_unchanged_people_are_not_rewritten(engine):
    """An unchanged search text rewritten would churn the search index on every import batch."""
    ana = make_profile(engine, "Ana")
    with session_scope(engine, write=True) as session:
        stats.refresh([ana.id or 0], session=session)
    updates: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE PROFILE"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        with session_scope(engine, write=True) as session:
            stats.refresh([ana.id or 0], session=session)
        assert updates == []
        _add(engine, Identity(profile_id=ana.id, platform="x", handle="ana", handle_key="ana", followers=7))
        with session_scope(engine, write=True) as session:
            stats.refresh([ana.id or 0], session=session)
        assert len(updates) == 1
    finally:
        event.remove(engine, "before_cursor_execute", spy)
