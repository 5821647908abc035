"""The people list's score columns: score, level and rank shown, sortable and filterable (level,
score range), read from the stored columns; the API list and the list export do the same. On the
community of tests/ranking_boards_community.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session

from crm.profiles.models import Profile
from crm.ranking import service
from tests import ranking_boards_community as community
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


@pytest.fixture
def people(engine):
    ids = community.build(engine)
    service.recompute(engine, trigger="test")
    return ids


def _names(page) -> list[str]:
    return [a.get_text(strip=True) for a in page.select("table.people-table tbody td[data-col=name] a.person-link")]


def _list(client, query: str) -> list[str]:
    response = client.get(f"/people?{query}")
    assert response.status_code == 200
    return _names(soup(response))


def _score(engine, profile_id: int) -> float:
    with Session(engine) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        return profile.score


def test_default_columns_show_score_and_level(manager_client, people):
    page = soup(manager_client.get("/people?sort=rank"))
    headers = [th["data-col"] for th in page.select("table.people-table thead th[data-col]")]
    assert headers == ["name", "roles", "identities", "reach", "score", "level", "contributions", "last_activity",
                       "consent", "status"]
    rows = page.select("table.people-table tbody tr")
    assert _names(page) == ["Ana", "Carla", "Bruno", "Dani", "Eva"]
    assert [r.select_one("td[data-col=score]").get_text(strip=True) for r in rows] == ["60.0", "40.0", "20.0", "0.0", "80.0"]
    assert [r.select_one("td[data-col=level]").get_text(strip=True) for r in rows] == [
        "Champion", "Advocate", "Contributor", "Observer", "Champion"]
    assert rows[0].select_one("td[data-col=level] .level.level-1") is not None
    assert rows[0].select_one("td[data-col=score]")["data-label"] == "Score"
    # Both headers sort; rank is a column to choose.
    assert page.select_one("thead th[data-col=score] a")["hx-target"] == "#results"
    assert page.select_one("thead th[data-col=level] a") is not None
    assert [box["value"] for box in page.select("fieldset.columns-choice input:checked")] == [
        "roles", "identities", "reach", "score", "level", "contributions", "last_activity", "consent", "status"]
    assert "rank" in [box["value"] for box in page.select("fieldset.columns-choice input")]


def test_the_rank_column_says_who_is_not_ranked(manager_client, people):
    page = soup(manager_client.get("/people?cols=rank,score&sort=rank"))
    assert [th["data-col"] for th in page.select("thead th[data-col]")] == ["name", "rank", "score"]
    ranks = [td.get_text(strip=True) for td in page.select("tbody td[data-col=rank]")]
    assert ranks == ["#1", "#2", "#3", "#4", "–"]  # Eva is on the team
    assert page.select_one("thead th[data-col=rank] a.sorted")["aria-sort"] == "ascending"


def test_before_the_first_computation_scores_are_not_shown_as_zero(manager_client, engine):
    make_profile(engine, "Ana")
    page = soup(manager_client.get("/people"))
    assert page.select_one("tbody td[data-col=score]").get_text(strip=True) == "–"
    assert page.select_one("tbody td[data-col=level]").get_text(strip=True) == "–"


@pytest.mark.parametrize(("query", "expected"), [
    ("sort=score&dir=desc", ["Eva", "Ana", "Carla", "Bruno", "Dani"]),
    ("sort=score&dir=asc", ["Dani", "Bruno", "Carla", "Ana", "Eva"]),
    # Unranked people (Eva, on the team) come last in both directions, on both databases.
    ("sort=rank&dir=asc", ["Ana", "Carla", "Bruno", "Dani", "Eva"]),
    ("sort=rank&dir=desc", ["Dani", "Bruno", "Carla", "Ana", "Eva"]),
    # Champions first; people of one level by id, in the direction asked.
    ("sort=level&dir=asc", ["Ana", "Eva", "Carla", "Bruno", "Dani"]),
    ("sort=level&dir=desc", ["Dani", "Bruno", "Carla", "Eva", "Ana"]),
    ("sort=advocacy&dir=desc", ["Eva", "Ana", "Carla", "Bruno", "Dani"]),
    ("sort=influence&dir=asc&q=a", ["Ana", "Carla", "Dani", "Eva"]),  # all equal: by id
])
def test_sorting_by_the_stored_scores(manager_client, people, query, expected):
    assert _list(manager_client, query) == expected


def test_unscored_people_sort_after_the_ranked_ones(manager_client, engine, people):
    make_profile(engine, "Zoe New")  # added after the computation: no rank yet
    assert _list(manager_client, "sort=rank") == [*community.ORDER, "Eva", "Zoe New"]
    assert _list(manager_client, "sort=rank&dir=desc") == [*reversed(community.ORDER), "Zoe New", "Eva"]


def test_filter_by_level_with_a_chip(manager_client, people):
    assert _list(manager_client, "level=1&sort=name") == ["Ana", "Eva"]
    assert _list(manager_client, "level=2") == ["Carla"]
    assert _list(manager_client, "level=4") == ["Dani"]
    page = soup(manager_client.get("/people?level=3&role=evangelist"))
    assert _names(page) == ["Bruno"]
    assert page.select_one("#f-level option[selected]")["value"] == "3"
    chips = {chip.select_one("span").get_text(" ", strip=True): chip.select_one("a")["href"]
             for chip in page.select(".active-filters li")}
    assert "Level: Contributor" in chips
    assert parse_qs(urlsplit(chips["Level: Contributor"]).query) == {"role": ["evangelist"], "sort": ["name"],
                                                                      "dir": ["asc"]}
    # A level that does not exist falls back to everyone on the page.
    assert len(_list(manager_client, "level=9")) == 5


def test_filter_by_score_range_with_chips(manager_client, engine, people):
    carla = _score(engine, people["Carla"])
    assert _list(manager_client, f"score_min={carla}&sort=score&dir=desc") == ["Eva", "Ana", "Carla"]
    assert _list(manager_client, f"score_max={carla}&sort=score&dir=desc") == ["Carla", "Bruno", "Dani"]
    assert _list(manager_client, "score_min=15&score_max=65&sort=score&dir=desc") == ["Ana", "Carla", "Bruno"]
    page = soup(manager_client.get("/people?score_min=15&score_max=65", headers=HX))
    chips = [chip.select_one("span").get_text(" ", strip=True) for chip in page.select(".active-filters li")]
    assert chips == ["Score at least: 15", "Score at most: 65"]
    full = soup(manager_client.get("/people?score_min=15&score_max=65.5"))
    assert full.select_one("#f-score_min")["value"] == "15" and full.select_one("#f-score_max")["value"] == "65.5"
    # Out of range or upside down: ignored on the page (everyone), refused by the API.
    assert len(_list(manager_client, "score_min=101")) == 5
    assert manager_client.get("/api/v1/profiles?score_min=101").status_code == 422
    assert manager_client.get("/api/v1/profiles?score_min=70&score_max=10").status_code == 422
    assert manager_client.get("/api/v1/profiles?level=0").status_code == 422
    assert manager_client.get("/api/v1/profiles?score_min=nan").status_code == 422


def test_the_api_list_sorts_and_filters_by_scores(manager_client, people):
    body = manager_client.get("/api/v1/profiles?sort=rank&level=1").json()
    assert [(p["display_name"], p["score_rank"], p["level"]) for p in body["items"]] == [("Ana", 1, 1), ("Eva", None, 1)]
    assert body["items"][0]["score"] == pytest.approx(60.0)
    scored = manager_client.get("/api/v1/profiles?sort=score&order=desc&score_min=30").json()
    assert [p["display_name"] for p in scored["items"]] == ["Eva", "Ana", "Carla"]


def test_the_list_export_has_the_score_columns(manager_client, people):
    rows = list(csv.DictReader(io.StringIO(manager_client.get("/people/export?format=csv&sort=rank").text)))
    ana = next(r for r in rows if r["name"] == "Ana")
    assert list(ana)[:7] == ["id", "name", "roles", "identities", "reach", "score", "level"]
    assert float(ana["score"]) == pytest.approx(60.0) and ana["level"] == "champion"
    chosen = json.loads(manager_client.get("/people/export?format=json&cols=rank,level,advocacy,influence").text)
    eva = next(r for r in chosen if r["name"] == "Eva")
    assert list(eva) == ["id", "name", "rank", "level", "advocacy", "influence"]
    assert eva["rank"] is None and eva["level"] == "champion" and eva["influence"] == pytest.approx(1.0)


def test_sort_links_keep_the_score_filters(manager_client, people):
    page = soup(manager_client.get("/people?level=2&score_min=10"))
    assert _names(page) == ["Carla"]
    next_links = [a["href"] for a in page.select("thead th a")]
    assert all("level=2" in href and "score_min=10" in href for href in next_links)


def test_the_first_click_on_an_amount_puts_the_biggest_first(manager_client, people):
    page = soup(manager_client.get("/people?cols=reach,score,level,rank"))
    links = {a.get_text(" ", strip=True).split(" ")[0]: a["href"] for a in page.select("thead th a")}
    assert "dir=desc" in links["Score"] and "dir=desc" in links["Reach"]
    assert "dir=asc" in links["Level"] and "dir=asc" in links["Rank"]
    assert "sort=name&dir=desc" in links["Name"]  # the active column turns round


@pytest.mark.parametrize("query", ["score_min=90&score_max=20", "reach_min=500&reach_max=10",
                                   "platform=x&followers_min=100&followers_max=5"])
def test_a_range_upside_down_is_dropped_not_a_crash(manager_client, people, query):
    page = manager_client.get(f"/people?{query}")
    assert page.status_code == 200
    chips = [c.get_text(" ", strip=True) for c in soup(page).select(".chips .chip, .chip")]
    assert not any("at most" in chip for chip in chips)  # the max that contradicts the min is left out
    api = manager_client.get(f"/api/v1/profiles?{query}")
    assert api.status_code == 422 and "_max" in str(api.json()["errors"][0]["loc"])
