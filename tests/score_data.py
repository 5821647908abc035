"""A small community whose scores are known, shared by the score and weight-set tests
(tests/unit/test_explain.py, tests/web/test_score_panel.py, tests/web/test_weight_sets.py,
tests/api/test_weights_api.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Identity
from tests.factories import make_profile


def identity(engine: Engine, pid: int, platform: str, handle: str, followers: int) -> None:
    with session_scope(engine, write=True) as session:
        session.add(Identity(profile_id=pid, platform=platform, handle=handle, handle_key=handle.lower(),
                             followers=followers))


def contribute(engine: Engine, pid: int, kind: str, days_ago: float, *, n: int = 1, sentiment: float | None = None,
               title: str = "") -> None:
    with session_scope(engine, write=True) as session:
        for i in range(n):
            session.add(Interaction(profile_id=pid, kind=kind, occurred_at=utcnow() - timedelta(days=days_ago, minutes=i),
                                    sentiment=sentiment, title=title or f"{kind} {days_ago}d #{i}"))


def edge(engine: Engine, source: int, target: int, kind: str = "follows", strength: float = 1.0) -> None:
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=source, target_id=target, kind=kind, strength=strength,
                                 first_seen=utcnow() - timedelta(days=400)))


def community(engine: Engine) -> dict[str, int]:
    """Ana: the audience (and an e-mail, which counts nothing). Bruno: many contributions of several kinds,
    tones and ages, on a forum (presence) and on X. Carla: followed by everyone, a few answers. Dani: the
    team. Eva: nothing at all. Under the default weights Bruno is first; by reach alone, Ana is."""
    ids = {name: make_profile(engine, name, is_team_member=(name == "Dani")).id or 0
           for name in ("Ana", "Bruno", "Carla", "Dani", "Eva")}
    identity(engine, ids["Ana"], "youtube", "ana", 500_000)
    identity(engine, ids["Ana"], "email", "ana@example.com", 9_999)
    identity(engine, ids["Bruno"], "discourse", "bruno", 3)
    identity(engine, ids["Bruno"], "x", "bruno_x", 1_200)
    identity(engine, ids["Carla"], "x", "carla", 2_000)
    contribute(engine, ids["Bruno"], "talk", 5, n=2, sentiment=0.8, title="Keynote at the summit")
    contribute(engine, ids["Bruno"], "review", 70, sentiment=-0.6)
    contribute(engine, ids["Bruno"], "forum_answer", 1, n=3)
    contribute(engine, ids["Bruno"], "post", 200, n=4, sentiment=0.2)
    contribute(engine, ids["Bruno"], "note", 1, n=3)  # not a contribution
    contribute(engine, ids["Carla"], "forum_answer", 40, n=2)
    contribute(engine, ids["Dani"], "post", 1, n=6)
    for follower in ("Ana", "Bruno", "Dani", "Eva"):
        edge(engine, ids[follower], ids["Carla"])
    edge(engine, ids["Bruno"], ids["Carla"], kind="mentions", strength=0.5)  # Bruno twice: one line
    edge(engine, ids["Carla"], ids["Bruno"], kind="collaborates", strength=0.5)
    edge(engine, ids["Ana"], ids["Bruno"], kind="knows", strength=0.9)
    return ids
