"""Edges derived from interactions that have a counterpart (crm.relationships.service.refresh_derived_edges),
on a plain Core connection as the importer calls it, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction, Relationship
from crm.relationships.service import derived_strength, refresh_derived_edges
from tests.factories import make_profile


def _edges(engine) -> dict[tuple[int, int, str], Relationship]:
    with Session(engine) as session:
        return {(r.source_id, r.target_id, r.kind): r for r in session.exec(select(Relationship)).scalars()}


def _add(engine, profile_id, counterpart_id, kind, days_ago, **extra) -> int:
    with session_scope(engine, write=True) as session:
        item = Interaction(profile_id=profile_id, counterpart_id=counterpart_id, kind=kind,
                           occurred_at=utcnow() - timedelta(days=days_ago), **extra)
        session.add(item)
        session.flush()
        return item.id or 0


def _refresh(engine, ids) -> None:
    with engine.begin() as conn:
        refresh_derived_edges(conn, ids)


def test_strength_formula():
    now = utcnow()
    assert derived_strength(0, now, now) == 0
    assert derived_strength(1, now, now) == pytest.approx(0.228, abs=0.001)
    assert derived_strength(20, now, now) == 1.0
    assert derived_strength(200, now, now) == 1.0
    assert derived_strength(20, now - timedelta(days=180), now) == pytest.approx(0.5, abs=0.001)
    assert derived_strength(5, now, now) > derived_strength(2, now, now) > derived_strength(2, now - timedelta(days=30), now)


def test_derived_edges_are_created_updated_and_removed(engine):
    ana, bruno, carla = (make_profile(engine, n).id for n in ("Ana", "Bruno", "Carla"))
    first = _add(engine, ana, bruno, "reply", 10)
    _add(engine, ana, bruno, "forum_answer", 3)  # also replies_to: the same edge
    _add(engine, ana, bruno, "post", 5)  # no mapping: knows
    _add(engine, ana, carla, "mention", 1)
    _add(engine, ana, ana, "mention", 1)  # oneself: no edge
    _add(engine, bruno, None, "post", 1)  # no counterpart: no edge
    _refresh(engine, [ana])
    edges = _edges(engine)
    assert set(edges) == {(ana, bruno, "replies_to"), (ana, bruno, "knows"), (ana, carla, "mentions")}
    replies = edges[(ana, bruno, "replies_to")]
    assert replies.origin == "interaction"
    assert (utcnow() - replies.first_seen).days == 10 and (utcnow() - replies.last_seen).days == 3
    assert replies.strength == derived_strength(2, replies.last_seen, utcnow())
    assert edges[(ana, bruno, "knows")].strength < replies.strength

    # more interactions: the edge grows stronger, it is not duplicated
    _add(engine, ana, bruno, "reply", 0)
    _refresh(engine, [ana, bruno])
    edges = _edges(engine)
    assert len(edges) == 3
    assert edges[(ana, bruno, "replies_to")].strength > replies.strength
    assert edges[(ana, bruno, "replies_to")].id == replies.id

    # interactions gone: the derived edge goes; re-pointed: a new one appears
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction).where(Interaction.kind == "mention"))
        session.execute(update(Interaction).where(Interaction.id == first).values(counterpart_id=carla))
    _refresh(engine, [ana])
    edges = _edges(engine)
    assert (ana, carla, "mentions") not in edges
    assert (ana, carla, "replies_to") in edges and (ana, bruno, "replies_to") in edges


def test_manual_and_imported_edges_are_left_alone(engine):
    ana, bruno, carla = (make_profile(engine, n).id for n in ("Ana", "Bruno", "Carla"))
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ana, target_id=bruno, kind="knows", strength=0.9, origin="manual"))
        session.add(Relationship(source_id=ana, target_id=carla, kind="follows", strength=0.4, origin="imported"))
    _add(engine, ana, bruno, "post", 1)
    _refresh(engine, [ana])
    edges = _edges(engine)
    assert set(edges) == {(ana, bruno, "knows"), (ana, carla, "follows")}
    assert edges[(ana, bruno, "knows")].origin == "manual" and edges[(ana, bruno, "knows")].strength == 0.9
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction))
    _refresh(engine, [ana])
    assert set(_edges(engine)) == {(ana, bruno, "knows"), (ana, carla, "follows")}


def test_other_peoples_edges_are_not_touched(engine):
    ana, bruno = (make_profile(engine, n).id for n in ("Ana", "Bruno"))
    _add(engine, bruno, ana, "reply", 1)
    _refresh(engine, [bruno])
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction))
    _refresh(engine, [ana])  # Ana's own interactions: Bruno's edge is not hers to remove
    assert set(_edges(engine)) == {(bruno, ana, "replies_to")}
    _refresh(engine, [])
    _refresh(engine, [bruno])
    assert _edges(engine) == {}


def test_a_batch_larger_than_one_chunk(engine):
    hub = make_profile(engine, "Hub").id
    from crm.profiles.models import Profile

    with engine.begin() as conn:
        conn.execute(Profile.__table__.insert(), [{"display_name": f"P{n}", "roles": [], "topics": [], "tags": [],
                                                    "created_at": utcnow(), "updated_at": utcnow()} for n in range(1200)])
        ids = [pid for (pid,) in conn.execute(select(Profile.id).where(Profile.id != hub))]
        now = utcnow()
        conn.execute(Interaction.__table__.insert(), [
            {"profile_id": pid, "counterpart_id": hub, "kind": "reply", "occurred_at": now, "channel": "", "url": "",
             "title": "", "body": "", "reach": 0, "engagements": 0, "source": "test", "created_at": now}
            for pid in ids
        ])
        refresh_derived_edges(conn, ids)
    assert len(_edges(engine)) == 1200
