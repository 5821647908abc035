"""Warm introductions (crm.campaigns.intros): the pure path search with known answers, and the service
on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.campaigns import intros, service
from crm.campaigns.models import CampaignIn
from crm.db import session_scope, utcnow
from crm.errors import NotFound
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Profile
from tests.factories import make_profile

NOW = utcnow()


def test_edge_cost_from_strength_and_recency() -> None:
    assert intros.edge_cost(1.0, NOW - timedelta(days=10), NOW) == 1.0
    assert intros.edge_cost(0.0, None, NOW) == 3.0
    assert intros.edge_cost(0.5, NOW - timedelta(days=90), NOW) == 1.5
    assert intros.edge_cost(1.0, NOW - timedelta(days=410), NOW) == pytest.approx(1.5)
    assert intros.edge_cost(1.0, NOW - timedelta(days=5000), NOW) == 2.0
    assert intros.edge_cost(7.0, NOW, NOW) == 1.0  # strength is clamped to 0..1


def test_best_path_prefers_strong_ties_within_the_hop_limit() -> None:
    costs = {(1, 2): 2.5, (2, 9): 2.5,  # two weak hops: 5
             (1, 3): 1.0, (3, 4): 1.0, (4, 9): 1.0}  # three strong hops: 3
    assert intros.best_path(costs, [1], 9) == ([1, 3, 4, 9], 3.0)
    assert intros.best_path(costs, [1], 9, max_hops=2) == ([1, 2, 9], 5.0)
    assert intros.best_path(costs, [1], 9, max_hops=1) is None


def test_best_path_never_goes_past_four_hops_and_takes_the_best_source() -> None:
    chain = {(1, 2): 1.0, (2, 3): 1.0, (3, 4): 1.0, (4, 5): 1.0, (5, 9): 1.0}  # five hops
    assert intros.best_path(chain, [1], 9) is None
    assert intros.best_path(chain, [1, 2], 9) == ([2, 3, 4, 5, 9], 4.0)
    # A cheaper five-hop path does not beat a dearer four-hop one.
    chain.update({(1, 6): 3.0, (6, 7): 3.0, (7, 8): 3.0, (8, 9): 3.0})
    assert intros.best_path(chain, [1], 9) == ([1, 6, 7, 8, 9], 12.0)
    assert intros.best_path({(1, 9): 1.0}, [], 9) is None
    assert intros.best_path({(1, 9): 1.0}, [9], 9) is None  # the target is not its own introduction


def _campaign(engine: Engine) -> int:
    with session_scope(engine, write=True) as session:
        return service.create_campaign(CampaignIn(name="Launch", topics=["python"]), session=session,
                                       actor=SYSTEM).id or 0


def _link(engine: Engine, a: int, b: int, strength: float, days_ago: int | None, kind: str = "knows") -> None:
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=a, target_id=b, kind=kind, strength=strength,
                                 last_seen=None if days_ago is None else utcnow() - timedelta(days=days_ago)))


def test_warm_intro_on_the_database(engine: Engine) -> None:
    ana = make_profile(engine, "Ana", is_team_member=True).id or 0
    luis = make_profile(engine, "Luis").id or 0
    weak = make_profile(engine, "Weak link").id or 0
    target = make_profile(engine, "Target", topics=["python"]).id or 0
    campaign = _campaign(engine)
    _link(engine, ana, luis, 0.9, 10, "colleague")
    _link(engine, target, luis, 0.8, 20, "replies_to")  # the direction does not matter
    _link(engine, ana, weak, 0.1, None)
    _link(engine, weak, target, 0.1, None)
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=luis, counterpart_id=target, kind="reply", title="Re: packaging",
                                occurred_at=utcnow() - timedelta(days=20)))
        session.add(Interaction(profile_id=target, counterpart_id=luis, kind="mention", title="Thanks Luis",
                                occurred_at=utcnow() - timedelta(days=3)))
    with Session(engine) as session:
        intro = intros.warm_intro(campaign, target, session=session)
    assert intro.found and intro.path == [ana, luis, target]
    assert [intro.names[pid] for pid in intro.path] == ["Ana", "Luis", "Target"]
    assert intro.start_is_team and not intro.ours
    first, second = intro.hops
    assert first.kinds == ["colleague"] and first.strength == 0.9 and first.interactions == 0
    assert second.kinds == ["replies_to"] and second.interactions == 2 and second.latest_title == "Thanks Luis"
    assert intro.cost == pytest.approx(1.1 + 1.2)


def test_no_path_suggests_who_shares_topics(engine: Engine) -> None:
    champion = make_profile(engine, "Champ", topics=["python", "data"]).id or 0
    make_profile(engine, "Team without topics", is_team_member=True)
    target = make_profile(engine, "Alone", topics=["python"]).id or 0
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == champion).values(level=1))  # type: ignore[arg-type]
    campaign = _campaign(engine)
    with Session(engine) as session:
        intro = intros.warm_intro(campaign, target, session=session)
        assert not intro.found and intro.hops == []
        assert [s.name for s in intro.suggestions] == ["Champ"]
        assert intro.suggestions[0].shared_topics == ["python"]
        with pytest.raises(NotFound):
            intros.warm_intro(campaign, 999_999, session=session)
