"""The "why this score" panel: on the profile page, on its own page and as an htmx fragment; its numbers
add up to the shown score; inputs, drivers, lenders, the next level, hysteresis, the trend chart and the
empty states."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import Session

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.profiles.models import Profile
from crm.ranking import service
from crm.ranking.explain import explain
from tests.factories import make_profile, soup
from tests.score_data import community, contribute

HX = {"HX-Request": "true"}


@pytest.fixture
def people(engine):
    return community(engine)


def _number(text: str) -> float:
    """"1,234.5" -> 1234.5 (English pages)."""
    return float(text.replace(",", "").strip())


def _panel(client, pid, *, fragment=False, path=None, headers=None):
    response = client.get(path or f"/people/{pid}", headers={**(HX if fragment else {}), **(headers or {})})
    assert response.status_code == 200, response.text[:500]
    page = soup(response)
    panel = page.select_one("section#score-panel")
    assert panel is not None
    return page, panel


def test_before_the_first_computation_the_panel_says_so(manager_client, people):
    _page, panel = _panel(manager_client, people["Ana"])
    assert panel.select_one(".score-empty") is not None
    assert panel.select_one(".score-value") is None and panel.select_one("table") is None
    assert panel.select_one(".score-empty a")["href"] == "/ranking"


def test_the_panel_explains_the_score_with_points_that_add_up(manager_client, engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        bruno = session.get(Profile, people["Bruno"])
        ex = explain(people["Bruno"], session=session)
    _page, panel = _panel(manager_client, people["Bruno"])
    shown = panel.select_one(".score-value").get_text(strip=True)
    assert re.fullmatch(r"\d+\.\d", shown) and float(shown) == round(bruno.score, 1)
    assert panel.select_one(".score-rank").get_text(" ", strip=True) == f"Rank #{bruno.score_rank} of 4"
    assert panel.select_one(".level").get_text(strip=True) == "Advocate"
    rows = panel.select("table.score-components tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == ["Reach", "Advocacy", "Influence"]
    points = [_number(row.select_one("td.points").get_text()) for row in rows]
    total = _number(panel.select_one("table.score-components tfoot td.points").get_text())
    assert total == float(shown) and sum(points) == pytest.approx(total, abs=1e-9)
    for row, component in zip(rows, ex.components, strict=True):
        assert row.select_one("td.points").get_text(strip=True) == f"{_number(row.select_one('td.points').get_text()):.1f}"
        assert _number(row.select_one("td.points").get_text()) == pytest.approx(component.points, abs=0.051)
        pct = row.select_one("td.percentile").get_text(" ", strip=True)
        assert pct == f"higher than {round(component.percentile * 100)}% of people"
        assert row.select_one("td.share").get_text(strip=True) == f"{round(component.share * 100)}%"
    assert rows[0].select_one("td.value").get_text(" ", strip=True) == "1,300 weighted followers"
    assert rows[1].select_one("td.value").get_text(strip=True) == f"{ex.components[1].value:.1f} points"
    assert rows[2].select_one("td.value").get_text(strip=True) == f"×{ex.components[2].value:.1f} the average"
    formula = panel.select_one(".score-formula").get_text(" ", strip=True)
    assert " + ".join(f"{p:.1f}" for p in points) + f" = {shown}" in formula
    version = panel.select_one(".score-formula a")
    assert version.get_text(strip=True) == "Weights version 1" and version["href"] == f"/ranking/weights/{ex.run.weight_set_id}"
    assert "computed" in formula
    assert panel.select_one(".next-level").get_text(" ", strip=True).startswith("To reach Champion: ")


def test_a_champion_is_told_it_is_the_highest_level(manager_client, engine, people):
    contribute(engine, people["Bruno"], "talk", 0, n=4)
    service.recompute(engine)
    _page, panel = _panel(manager_client, people["Bruno"])
    assert panel.select_one(".level").get_text(strip=True) == "Champion"
    assert panel.select_one(".next-level").get_text(" ", strip=True) == "Champion: the highest level."


def test_reach_parts_drivers_and_lenders(manager_client, engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        ex = explain(people["Bruno"], session=session)
    _page, panel = _panel(manager_client, people["Bruno"])
    parts = [li.get_text(" ", strip=True) for li in panel.select("ul.reach-parts li")]
    assert parts == ["X @bruno_x 1,200 followers × 1 = 1,200", "Discourse bruno counted as 100: no audience"]
    drivers = panel.select("ol.drivers li")
    assert [li.a["href"] for li in drivers] == [f"/people/{people['Bruno']}/interactions/{d.interaction_id}"
                                                for d in ex.drivers]
    assert drivers[0].a.get_text(strip=True) == "Keynote at the summit"
    shown_points = [float(li.select_one(".driver-points").get_text().split()[0]) for li in drivers]
    assert shown_points == sorted(shown_points, reverse=True)
    assert "10 contributions count" in panel.select_one("#drivers-heading").find_next("p").get_text()
    # Carla is followed by four people, Bruno in two ways: one line each, linked.
    _page, carla = _panel(manager_client, people["Carla"])
    lenders = carla.select("ul.lenders li")
    assert sorted(li.a.get_text(strip=True) for li in lenders) == ["Ana", "Bruno", "Dani", "Eva"]
    bruno_line = next(li for li in lenders if li.a.get_text(strip=True) == "Bruno")
    assert bruno_line.a["href"] == f"/people/{people['Bruno']}"
    assert "follows, mentions" in bruno_line.get_text(" ", strip=True)
    # Eva did nothing: the panel says where points would come from.
    _page, eva = _panel(manager_client, people["Eva"])
    assert eva.select_one("ol.drivers") is None and "No contributions yet" in eva.get_text()
    assert "Nobody points at this person yet" in eva.get_text()


def test_the_next_level_in_points_answers_and_posts(manager_client, engine, people):
    service.recompute(engine)
    with Session(engine) as session:
        carla = session.get(Profile, people["Carla"])
    needed = 15 - carla.advocacy
    _page, panel = _panel(manager_client, people["Carla"])
    text = panel.select_one(".next-level").get_text(" ", strip=True)
    answers, posts = -(-needed // 3), -(-needed // 1)
    assert text == (f"To reach Advocate: {needed:.1f} more advocacy points — about {answers:.0f} forum answers "
                    f"or {posts:.0f} posts.")
    _page, eva = _panel(manager_client, people["Eva"])
    assert eva.select_one(".next-level").get_text(" ", strip=True) == (
        "To reach Contributor: 3.0 more advocacy points — about 1 forum answer or 3 posts.")


def test_a_level_kept_by_hysteresis_says_it_may_drop(manager_client, engine, people):
    contribute(engine, people["Eva"], "talk", 0, n=2)
    service.recompute(engine)
    _page, panel = _panel(manager_client, people["Eva"])
    assert panel.select_one(".level-held") is None
    with session_scope(engine, write=True) as session:
        session.execute(delete(Interaction).where(Interaction.profile_id == people["Eva"]))
    service.recompute(engine)
    _page, panel = _panel(manager_client, people["Eva"])
    held = panel.select_one(".level-held").get_text(" ", strip=True)
    assert panel.select_one(".level").get_text(strip=True) == "Advocate"
    assert "below the Advocate threshold (15.0 points)" in held
    assert "the level drops if the next computation is also below" in held


def test_a_team_member_is_not_ranked(manager_client, engine, people):
    service.recompute(engine)
    _page, panel = _panel(manager_client, people["Dani"])
    assert "Not ranked" in panel.select_one(".score-rank").get_text()


def test_the_trend_needs_two_computations_and_has_a_text_alternative(manager_client, engine, people):
    now = utcnow()
    service.recompute(engine, as_of=now - timedelta(days=30))
    _page, panel = _panel(manager_client, people["Bruno"])
    assert panel.select_one(".trend-empty") is not None and panel.select_one("svg") is None
    service.recompute(engine, as_of=now)
    _page, panel = _panel(manager_client, people["Bruno"])
    charts = panel.select("figure.trend")
    assert [f.figcaption.get_text(strip=True) for f in charts] == ["Score", "Advocacy"]
    svg = charts[0].select_one("svg")
    assert svg["role"] == "img" and svg["aria-label"].startswith("Score from ") and "(2 computations)" in svg["aria-label"]
    assert re.fullmatch(r"M0,[\d.]+ L600,[\d.]+", svg.select_one("path.trend-line")["d"])
    assert charts[0].select_one(".trend-top").get_text(strip=True) == "100"
    rows = panel.select(".trend-numbers tbody tr")
    assert len(rows) == 2
    with Session(engine) as session:
        bruno = session.get(Profile, people["Bruno"])
    assert rows[0].select("td")[1].get_text(strip=True) == f"{bruno.score:.1f}"  # newest first
    # CSP: nothing inline.
    assert not panel.select("[style]") and not panel.select("script") and not panel.select("style")


def test_the_panel_on_its_own_page_and_as_a_fragment(manager_client, engine, people):
    service.recompute(engine)
    path = f"/people/{people['Bruno']}/score"
    page, panel = _panel(manager_client, people["Bruno"], path=path)
    assert page.title.get_text(strip=True).startswith("Why Bruno has this score")
    assert page.select_one(f"nav.breadcrumb a[href='/people/{people['Bruno']}']") is not None
    response = manager_client.get(path, headers=HX)
    assert response.headers["vary"] == "HX-Request"
    fragment = soup(response)
    assert fragment.select_one("html") is None and fragment.select_one("nav.breadcrumb") is None
    assert fragment.select_one("section#score-panel .score-value").get_text(strip=True) == \
        panel.select_one(".score-value").get_text(strip=True)
    assert manager_client.get("/people/999999/score").status_code == 404


def test_a_viewer_sees_the_panel(viewer_client, engine, people):
    service.recompute(engine)
    _page, panel = _panel(viewer_client, people["Bruno"])
    assert panel.select_one(".score-value") is not None


def test_numbers_follow_the_reader_locale(manager_client, engine, people):
    service.recompute(engine)
    _page, panel = _panel(manager_client, people["Bruno"], headers={"Accept-Language": "es-ES"})
    assert re.fullmatch(r"\d+,\d", panel.select_one(".score-value").get_text(strip=True))
    points = [row.select_one("td.points").get_text(strip=True) for row in panel.select("table.score-components tbody tr")]
    assert all(re.fullmatch(r"\d+,\d", p) for p in points), points


def test_a_whole_score_still_shows_its_decimal(manager_client, engine):
    # Alone, a person is at the 0th percentile of everything: a score of exactly 0.
    lone = make_profile(engine, "Lone").id
    service.recompute(engine)
    _page, panel = _panel(manager_client, lone)
    assert panel.select_one(".score-value").get_text(strip=True) == "0.0"
    assert [row.select_one("td.points").get_text(strip=True)
            for row in panel.select("table.score-components tbody tr")] == ["0.0", "0.0", "0.0"]


def test_spanish_numbers_use_the_decimal_comma_everywhere_in_the_panel(manager_client, engine, people):
    service.recompute(engine)
    for pid in people.values():
        _page, panel = _panel(manager_client, pid, headers={"Accept-Language": "es-ES"})
        text = panel.get_text(" ", strip=True)
        assert not re.findall(r"(?<![\d.,])\d+\.\d(?![\d.])", text), text  # no "21.0" (dates are 25/11/2026)
    _page, panel = _panel(manager_client, people["Bruno"], headers={"Accept-Language": "es-ES"})
    assert re.fullmatch(r"\d+,\d", panel.select_one(".score-value").get_text(strip=True))
