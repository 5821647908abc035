"""The points leaderboard: lifetime and period points (earned points count on the day of their
interaction), topic and role filters, team members left out unless asked, pages; the page as full page
and fragment, and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.accounts.models import User
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition import boards, ledger, rewards
from crm.recognition.boards import PointsPeriod, PointsQuery
from crm.recognition.models import AwardIn
from crm.recognition.rewards import RewardIn
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}
MANAGER = User(email="m@example.org", name="M", role="manager", password_hash="-")


def _award(engine, pid, points):
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[pid], points=points, reason="Thanks"), session=s, actor=SYSTEM)


def _talk(engine, pid, days_ago):
    """A talk (40 points under the default rules) that happened `days_ago` days ago."""
    with session_scope(engine, write=True) as s:
        return log.log_interaction(pid, InteractionIn(kind="talk", occurred_at=utcnow() - timedelta(days=days_ago)),
                                   session=s, actor=SYSTEM).id


def _board(engine, **query):
    with session_scope(engine) as s:
        board = boards.leaderboard(PointsQuery(**query), session=s)
    return [(row.name, row.points) for row in board.rows], board


@pytest.fixture
def community(engine):
    people = {
        "Ana": make_profile(engine, "Ana", topics=["kubernetes"], roles=["evangelist"]).id,
        "Bruno": make_profile(engine, "Bruno", topics=["python"], roles=["influencer"]).id,
        "Carla": make_profile(engine, "Carla", topics=["kubernetes"], roles=["influencer"]).id,
        "Teo": make_profile(engine, "Teo", topics=["kubernetes"], roles=["evangelist"], is_team_member=True).id,
    }
    _talk(engine, people["Ana"], days_ago=200)  # 40, long ago
    _award(engine, people["Ana"], 30)  # 30, today
    _talk(engine, people["Bruno"], days_ago=10)  # 40, recent
    _talk(engine, people["Bruno"], days_ago=60)  # 40
    _award(engine, people["Carla"], 5)
    _award(engine, people["Teo"], 500)  # a team member: first on everything, but left out by default
    return people


def test_lifetime_board_leaves_team_members_out_unless_asked(engine, community):
    rows, board = _board(engine)
    assert rows == [("Bruno", 80), ("Ana", 70), ("Carla", 5)]
    assert board.total == 3 and board.rows[0].position == 1
    rows, _ = _board(engine, include_team=True)
    assert rows[0] == ("Teo", 500) and len(rows) == 4


def test_period_boards_count_earned_points_on_the_day_of_the_interaction(engine, community):
    assert _board(engine, period=PointsPeriod.d30)[0] == [("Bruno", 40), ("Ana", 30), ("Carla", 5)]
    assert _board(engine, period=PointsPeriod.d90)[0] == [("Bruno", 80), ("Ana", 30), ("Carla", 5)]
    assert _board(engine, period=PointsPeriod.d365)[0] == [("Bruno", 80), ("Ana", 70), ("Carla", 5)]


def test_a_correction_counts_on_the_day_of_what_it_corrects(engine):
    pid = make_profile(engine, "Dani").id
    old = _talk(engine, pid, days_ago=120)
    _talk(engine, pid, days_ago=5)
    with session_scope(engine, write=True) as s:  # the old talk is deleted today: its reversal is written now
        log.delete_interaction(old, session=s, actor=SYSTEM, user=MANAGER)
    assert _board(engine, period=PointsPeriod.d30)[0] == [("Dani", 40)]  # not 40 - 40
    assert _board(engine, period=PointsPeriod.d365)[0] == [("Dani", 40)]
    assert _board(engine)[0] == [("Dani", 40)]


def test_spending_does_not_lower_lifetime_points(engine):
    pid = make_profile(engine, "Eva").id
    _award(engine, pid, 100)
    with session_scope(engine, write=True) as s:
        reward = rewards.create_reward(RewardIn(name="Mug", category="swag", cost=60), session=s, actor=SYSTEM)
        rewards.redeem(reward.id, pid, session=s, actor=SYSTEM)
    _, board = _board(engine)
    assert (board.rows[0].points, board.rows[0].lifetime, board.rows[0].current) == (100, 100, 40)


def test_topic_and_role_filters(engine, community):
    assert _board(engine, topic="kubernetes")[0] == [("Ana", 70), ("Carla", 5)]
    assert _board(engine, role="influencer")[0] == [("Bruno", 80), ("Carla", 5)]
    assert _board(engine, topic="kubernetes", role="evangelist", include_team=True)[0] == [("Teo", 500), ("Ana", 70)]


def test_the_page_full_fragment_filters_and_pages(manager_client, engine):
    for n in range(12):  # page_size is 10 in the tests' settings
        _award(engine, make_profile(engine, f"Person {n:02d}").id, 100 - n)
    full = manager_client.get("/recognition/leaderboard")
    assert full.status_code == 200 and full.headers["vary"] == "HX-Request"
    page = soup(full)
    assert page.select_one(".recognition-tabs a[aria-current=page]")["href"] == "/recognition/leaderboard"
    rows = page.select(".points-table tbody tr")
    assert len(rows) == 10
    assert rows[0].select_one(".person a").get_text(strip=True) == "Person 00"
    assert rows[0].select_one("[data-col=points]").get_text(strip=True) == "100"
    assert page.select_one(".pagination a[rel=next]")["href"] == "/recognition/leaderboard?page=2"
    second = soup(manager_client.get("/recognition/leaderboard?page=2", headers=HX))
    assert second.select_one("html") is None and second.select_one("#points-filters") is None
    assert [td.get_text(strip=True) for td in second.select("td.position")] == ["11", "12"]
    past_the_end = soup(manager_client.get("/recognition/leaderboard?page=9"))
    assert [td.get_text(strip=True) for td in past_the_end.select("td.position")] == ["11", "12"]
    empty = soup(manager_client.get("/recognition/leaderboard?topic=nothing-like-this", headers=HX))
    assert empty.select_one(".empty-state h2").get_text(strip=True) == "Nobody on this board"
    forgiving = manager_client.get("/recognition/leaderboard?period=7&role=wizard&page=-1")  # a bad value: the default
    assert forgiving.status_code == 200 and len(soup(forgiving).select(".points-table tbody tr")) == 10


def test_the_period_page_shows_both_columns(viewer_client, engine, community):
    page = soup(viewer_client.get("/recognition/leaderboard?period=30"))
    assert page.select_one("#pb-period option[selected]")["value"] == "30"
    assert [r.select_one(".person a").get_text(strip=True) for r in page.select(".points-table tbody tr")] == [
        "Bruno", "Ana", "Carla"]
    ana = page.select(".points-table tbody tr")[1]
    assert (ana.select_one("[data-col=points]").get_text(), ana.select_one("[data-col=lifetime]").get_text()) == ("30", "70")
    with_team = soup(viewer_client.get("/recognition/leaderboard?include_team=true"))
    assert with_team.select_one(".points-table tbody tr .chip.team") is not None


def test_the_api(viewer_client, engine, community):
    body = viewer_client.get("/api/v1/points/leaderboard").json()
    assert (body["total"], body["page"], body["pages"], body["period"]) == (3, 1, 1, "all")
    assert [(r["name"], r["points"], r["position"]) for r in body["items"]] == [("Bruno", 80, 1), ("Ana", 70, 2),
                                                                               ("Carla", 5, 3)]
    assert set(body["items"][0]) == {"position", "profile_id", "name", "is_team_member", "points", "lifetime",
                                     "current", "badges"}
    body = viewer_client.get("/api/v1/points/leaderboard?period=30&include_team=true&per_page=2").json()
    assert [(r["name"], r["points"]) for r in body["items"]] == [("Teo", 500), ("Bruno", 40)]
    assert body["pages"] == 2
    bad = viewer_client.get("/api/v1/points/leaderboard?period=7")
    assert bad.status_code == 422 and bad.json()["detail"]
