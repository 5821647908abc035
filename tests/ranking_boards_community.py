"""A small community whose leaderboards are known by hand, for the ranking board, API, people list and
dashboard tests (tests/web/test_ranking_board.py and neighbours).

- Ana: influencer on kubernetes, 50,000 followers on X, 8 talks in the last ten days (64 points):
  champion, first overall and first in the last 30 days.
- Carla: moderator, 20,000 on YouTube, 10 talks 200 days ago (about 40 points now, 46 forty days
  ago): advocate, second overall, absent from period boards, and slipping away.
- Bruno: evangelist on kubernetes and python, 5,000 on GitHub, 3 forum answers this week (9 points):
  contributor, third overall, second in the last 30 days.
- Dani: customer, nothing: observer, last.
- Eva: a team member with the largest audience and 20 fresh talks: first only when the team is included.

Reach and advocacy fall strictly from Ana to Carla to Bruno to Dani and nobody is connected (everyone's
influence is the same), so the combined scores fall in that order whatever the weights of the two."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.ranking import service
from tests.factories import make_profile

ORDER = ["Ana", "Carla", "Bruno", "Dani"]


def contribute(engine: Engine, profile_id: int, kind: str, days_ago: float, n: int = 1) -> None:
    with session_scope(engine, write=True) as session:
        for _ in range(n):
            session.add(Interaction(profile_id=profile_id, kind=kind, occurred_at=utcnow() - timedelta(days=days_ago)))


def build(engine: Engine, *, fillers: int = 0) -> dict[str, int]:
    """The five people (and `fillers` people who did nothing, "Filler 01"...); their ids by name.
    Nothing is computed yet."""
    ids = {
        "Ana": make_profile(engine, "Ana", roles=["influencer"], topics=["kubernetes"],
                            identities=[{"platform": "x", "handle": "ana", "followers": 50_000}]).id,
        "Bruno": make_profile(engine, "Bruno", roles=["evangelist"], topics=["kubernetes", "python"],
                              identities=[{"platform": "github", "handle": "bruno", "followers": 5_000}]).id,
        "Carla": make_profile(engine, "Carla", roles=["moderator"],
                              identities=[{"platform": "youtube", "handle": "carla", "followers": 20_000}]).id,
        "Dani": make_profile(engine, "Dani", roles=["customer"]).id,
        "Eva": make_profile(engine, "Eva", roles=["evangelist"], is_team_member=True,
                            identities=[{"platform": "x", "handle": "eva", "followers": 900_000}]).id,
    }
    for n in range(fillers):
        ids[f"Filler {n + 1:02d}"] = make_profile(engine, f"Filler {n + 1:02d}").id
    for day in range(1, 9):
        contribute(engine, ids["Ana"], "talk", day)
    contribute(engine, ids["Carla"], "talk", 200, n=10)
    contribute(engine, ids["Bruno"], "forum_answer", 2, n=3)
    contribute(engine, ids["Eva"], "talk", 3, n=20)
    return {name: int(pid or 0) for name, pid in ids.items()}


def compute_with_history(engine: Engine) -> None:
    """A computation as the data stood forty days ago, then one now: rising and slipping have
    something to compare."""
    service.recompute(engine, trigger="test", as_of=utcnow() - timedelta(days=40))
    service.recompute(engine, trigger="test")


def build_one(engine: Engine, name: str, *, talks: int) -> int:
    """One more person who gave `talks` talks today (after the computations above); their id."""
    profile_id = int(make_profile(engine, name, roles=["evangelist"]).id or 0)
    contribute(engine, profile_id, "talk", 0.1, n=talks)
    return profile_id
