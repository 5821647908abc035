"""Discovery for a campaign (crm.campaigns.discovery): the ordering formula (pure), and candidates,
filters, exclusions, "more like this person" and the roster's data on a real database (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.campaigns import discovery, service
from crm.campaigns.discovery import DiscoverQuery, Exclusion, RosterQuery
from crm.campaigns.models import CampaignIn, CampaignStatus, MemberIn, MembersIn, Stage
from crm.db import session_scope, utcnow
from crm.errors import InvalidInput
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Profile
from crm.ranking import scoring
from tests.factories import make_profile


def test_fit_combines_relevance_and_score() -> None:
    assert discovery.fit(1.0, 100) == 1.0
    assert discovery.fit(0.5, 40) == pytest.approx(0.25 + 0.2)
    assert discovery.fit(None, 73) == pytest.approx(0.73)  # no topics or keywords: the score alone
    assert discovery.fit(0.0, 250) == 0.5  # scores are clamped to 0..100


@pytest.mark.parametrize(("topics", "text", "wanted", "keywords"), [
    (["python", "data"], "a bio about pandas", ["python", "rust"], ["pandas", "numpy"]),
    ([], "pandas", [], ["pandas", "numpy", "polars"]),
    (["rust"], "", ["rust", "go"], []),
])
def test_relevance_matches_the_scoring_formula(topics: list[str], text: str, wanted: list[str], keywords: list[str]) -> None:
    topic_hits = len({t for t in topics} & set(wanted))
    keyword_hits = sum(1 for k in keywords if k in text)
    assert discovery.relevance_of(topic_hits, len(wanted), keyword_hits, len(keywords)) == pytest.approx(
        scoring.relevance(topics, text, wanted, keywords))


def test_jaccard_and_likeness() -> None:
    assert discovery.jaccard(["Python", "data"], ["python", "rust"]) == pytest.approx(1 / 3)
    assert discovery.jaccard([], []) == 0.0
    assert discovery.likeness(1.0, 1.0, True) == 1.0
    assert discovery.likeness(0.5, 0.5, False) == pytest.approx(0.25 + 0.15)


def _person(engine: Engine, name: str, *, score: float = 0.0, level: int = 4, **fields: Any) -> int:
    fields.setdefault("may_contact", True)
    pid = make_profile(engine, name, **fields).id or 0
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == pid).values(score=score, level=level))  # type: ignore[arg-type]
    return pid


def _campaign(engine: Engine, **fields: Any) -> int:
    fields.setdefault("name", "Python launch")
    with session_scope(engine, write=True) as session:
        return service.create_campaign(CampaignIn(**fields), session=session, actor=SYSTEM).id or 0


def _discover(engine: Engine, campaign: int, **query: Any) -> discovery.Discovery:
    discovery.clear_cache()
    with Session(engine) as session:
        return discovery.discover(campaign, DiscoverQuery(**query), session=session)


def test_candidates_are_ordered_by_fit_with_reasons(engine: Engine) -> None:
    both = _person(engine, "Both topics", score=10, topics=["python", "data"])
    one = _person(engine, "One topic, famous", score=90, topics=["python"])
    posts = _person(engine, "Posts about pandas", score=50, topics=["cooking"])
    _person(engine, "Unrelated", score=99, topics=["cooking"])
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=posts, kind="post", title="Why Pandas beats spreadsheets",
                                url="https://example.com/p", occurred_at=utcnow() - timedelta(days=5)))
        session.add(Interaction(profile_id=posts, kind="post", title="Old pandas post",
                                occurred_at=utcnow() - timedelta(days=900)))  # too old to count
    campaign = _campaign(engine, topics=["python", "data"], keywords=["pandas"])
    found = _discover(engine, campaign)
    assert found.mode == "relevance"
    names = [c.name for c in found.cards]
    # fits: both 0.5×0.6+0.05=0.35; famous 0.5×0.3+0.45=0.6; posts 0.5×0.4+0.25=0.45
    assert names == ["One topic, famous", "Posts about pandas", "Both topics"]
    by_id = {c.profile_id: c for c in found.cards}
    assert by_id[both].topics == ["python", "data"] and by_id[both].relevance == pytest.approx(0.6)
    assert by_id[one].fit == pytest.approx(0.6)
    assert by_id[posts].keywords == ["pandas"] and [p.title for p in by_id[posts].posts] == ["Why Pandas beats spreadsheets"]
    assert found.total == 3


def test_without_topics_or_keywords_the_score_alone(engine: Engine) -> None:
    _person(engine, "Low", score=10)
    _person(engine, "High", score=80)
    found = _discover(engine, _campaign(engine))
    assert found.mode == "score"
    assert [c.name for c in found.cards] == ["High", "Low"]
    assert found.cards[0].fit == pytest.approx(0.8)


def test_exclusions_are_counted_and_can_be_turned_off(engine: Engine) -> None:
    ok = _person(engine, "Fine", topics=["python"])
    _person(engine, "DNC", topics=["python"], status="do_not_contact")
    _person(engine, "No consent", topics=["python"], may_contact=False)
    _person(engine, "Team", topics=["python"], is_team_member=True)
    _person(engine, "Blocked", topics=["python"], tags=["blocklist"])
    _person(engine, "Custom block", topics=["python"], tags=["nope"])
    busy = _person(engine, "Busy", topics=["python"])
    declined_elsewhere = _person(engine, "Declined elsewhere", topics=["python"])
    other = _campaign(engine, name="Other", status=CampaignStatus.active)
    finished = _campaign(engine, name="Finished", status=CampaignStatus.completed)
    with session_scope(engine, write=True) as session:
        service.add_member(other, MemberIn(profile_id=busy), session=session, actor=SYSTEM)
        service.add_member(other, MemberIn(profile_id=declined_elsewhere, stage=Stage.declined), session=session,
                           actor=SYSTEM)
        service.add_member(finished, MemberIn(profile_id=ok), session=session, actor=SYSTEM)
    campaign = _campaign(engine, topics=["python"])
    found = _discover(engine, campaign)
    assert sorted(c.name for c in found.cards) == ["Custom block", "Declined elsewhere", "Fine"]
    assert found.left_out == {Exclusion.do_not_contact: 1, Exclusion.no_consent: 1, Exclusion.other_campaign: 1,
                              Exclusion.blocklist: 1, Exclusion.team: 1}
    custom = _discover(engine, campaign, blocklist_tag="nope")
    assert "Custom block" not in [c.name for c in custom.cards] and "Blocked" in [c.name for c in custom.cards]
    everyone = _discover(engine, campaign, exclude=[])
    assert everyone.total == 8 and everyone.left_out == {}
    only_team = _discover(engine, campaign, exclude=["team"])
    assert only_team.total == 7 and only_team.left_out == {Exclusion.team: 1}
    with_busy = _discover(engine, campaign, exclude=[e for e in Exclusion if e != Exclusion.other_campaign])
    busy_card = next(c for c in with_busy.cards if c.profile_id == busy)
    assert busy_card.other_campaigns == ["Other"]


def test_filters(engine: Engine) -> None:
    _person(engine, "Spanish", topics=["python"], language="es-MX", location="Ciudad de México", roles=["evangelist"])
    _person(engine, "English", topics=["python"], language="en", location="Leeds", tags=["vip"],
            identities=[{"platform": "x", "handle": "eng", "followers": 5000}])
    campaign = _campaign(engine, topics=["python"])
    assert [c.name for c in _discover(engine, campaign, language="es").cards] == ["Spanish"]
    assert [c.name for c in _discover(engine, campaign, location="leeds").cards] == ["English"]
    assert [c.name for c in _discover(engine, campaign, role="evangelist").cards] == ["Spanish"]
    assert [c.name for c in _discover(engine, campaign, tag="vip").cards] == ["English"]
    assert [c.name for c in _discover(engine, campaign, platform="x", followers_min=1000).cards] == ["English"]
    assert _discover(engine, campaign, followers_min=6000).cards == []
    assert [c.name for c in _discover(engine, campaign, level=4).cards] == ["Spanish", "English"]  # ties: by id
    assert _discover(engine, campaign, level=1).cards == []


def test_people_already_in_the_campaign_are_marked_not_hidden(engine: Engine) -> None:
    pid = _person(engine, "Member", topics=["python"])
    campaign = _campaign(engine, topics=["python"])
    with session_scope(engine, write=True) as session:
        added = discovery.add_to_pipeline(campaign, [pid], Stage.shortlisted, session=session, actor=SYSTEM)
        assert len(added.added) == 1
    found = _discover(engine, campaign)
    assert [(c.name, c.stage) for c in found.cards] == [("Member", "shortlisted")]
    with session_scope(engine, write=True) as session:
        again = service.add_members(campaign, MembersIn(profile_ids=[pid]), session=session, actor=SYSTEM)
        assert again.already == [pid]


def test_pages(engine: Engine) -> None:
    for i in range(5):
        _person(engine, f"P{i}", score=i * 10, topics=["python"])
    campaign = _campaign(engine, topics=["python"])
    second = _discover(engine, campaign, per_page=2, page=2)
    assert second.total == 5 and second.pages == 3
    assert [c.name for c in second.cards] == ["P2", "P1"]


def test_more_like_this_person(engine: Engine) -> None:
    seed = _person(engine, "Seed", topics=["python", "data"])
    twin = _person(engine, "Twin topics", topics=["python", "data"])
    friend = _person(engine, "Friend of friends", topics=["knitting"])
    hub = _person(engine, "Hub", topics=["gardening"])
    _person(engine, "Stranger", topics=["knitting"])
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=seed, target_id=hub, kind="knows", strength=1.0))
        session.add(Relationship(source_id=friend, target_id=hub, kind="knows", strength=1.0))
    found = _discover(engine, _campaign(engine, topics=["python"]), like=seed)
    assert found.mode == "like" and found.seed is not None and found.seed.id == seed
    cards = {c.name: c for c in found.cards}
    assert "Seed" not in cards and "Stranger" not in cards
    assert cards["Twin topics"].topic_jaccard == 1.0 and cards["Twin topics"].shared_topics == ["python", "data"]
    assert cards["Friend of friends"].shared_connections == 1
    assert cards["Hub"].connected
    assert found.cards[0].profile_id == twin
    assert {friend, hub} <= {c.profile_id for c in found.cards}


def test_roster_from_the_database_beats_top_k_on_overlapping_stars(engine: Engine) -> None:
    stars = [_person(engine, f"Star {i}", score=90 - i, topics=["python"]) for i in range(3)]
    loners = [_person(engine, f"Loner {i}", score=10 - i, topics=["python"]) for i in range(3)]
    fans = [_person(engine, f"Fan {i}", topics=["other"]) for i in range(6)]
    with session_scope(engine, write=True) as session:
        for star in stars:  # the three stars reach the same three fans
            for fan in fans[:3]:
                session.add(Relationship(source_id=star, target_id=fan, kind="follows", strength=0.5))
        for loner, fan in zip(loners, fans[3:], strict=True):
            session.add(Relationship(source_id=fan, target_id=loner, kind="follows", strength=0.5))
    campaign = _campaign(engine, topics=["python"])
    with session_scope(engine, write=True) as session:
        service.add_member(campaign, MemberIn(profile_id=loners[0], fee=100), session=session, actor=SYSTEM)
    discovery.clear_cache()
    with Session(engine) as session:
        result = discovery.build_roster(campaign, RosterQuery(k=3, two_hop_weight=0), session=session)
        assert result.roster.top_k == stars
        assert result.roster.top_k_value == 3
        assert result.roster.value == 5  # one star (3 fans) + two loners (1 each)
        assert result.roster.ids[0] == stars[0]
        assert result.people[loners[0]].fee == 100 and result.people[loners[0]].stage == "candidate"
        default = discovery.build_roster(campaign, RosterQuery(), session=session)
        assert default.k == 6  # fewer than 10 candidates: all of them
        with pytest.raises(InvalidInput) as caught:
            discovery.build_roster(campaign, RosterQuery(k=7), session=session)
        assert "k" in caught.value.field_errors


def test_the_remembered_ranking_follows_changes(engine: Engine) -> None:
    _person(engine, "First", score=10, topics=["python"])
    campaign = _campaign(engine, topics=["python"], keywords=["pandas"])
    assert [c.name for c in _discover(engine, campaign).cards] == ["First"]
    later = _person(engine, "Later", score=5, topics=["cooking"])
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=later, kind="post", title="pandas tips", occurred_at=utcnow()))
    with Session(engine) as session:  # no clear_cache: new people and new posts show
        found = discovery.discover(campaign, DiscoverQuery(), session=session)
    assert [c.name for c in found.cards] == ["First", "Later"]
    with session_scope(engine, write=True) as session:  # a new score run (scores written without updated_at)
        from crm.ranking.models import ScoreRun

        session.add(ScoreRun(as_of=utcnow(), status="done"))
        session.execute(update(Profile).where(Profile.id == later).values(score=99))  # type: ignore[arg-type]
    with Session(engine) as session:
        found = discovery.discover(campaign, DiscoverQuery(), session=session)
    assert [c.name for c in found.cards] == ["Later", "First"]
