"""The dashboard's ranking widgets: the top five advocates by score (team left out, with their level)
and the five biggest gains, from the same services as /ranking; on SQLite and PostgreSQL."""

from __future__ import annotations

from crm.ranking import service
from tests import ranking_boards_community as community
from tests.factories import make_profile, soup


def test_top_advocates_and_rising(viewer_client, engine):
    ids = community.build(engine, fillers=3)
    community.compute_with_history(engine)
    page = soup(viewer_client.get("/"))
    top = page.select("#top-advocates ol.top-advocates li")
    # Five, by score, Eva (team) left out; the fifth is the first of those who did nothing.
    assert [li.select_one("a").get_text(strip=True) for li in top] == [*community.ORDER, "Filler 01"]
    assert [li.select_one(".level").get_text(strip=True) for li in top][:3] == ["Champion", "Advocate", "Contributor"]
    assert top[0].select_one("a")["href"] == f"/people/{ids['Ana']}"
    assert top[0].select_one(".score").get_text(" ", strip=True) == "score 68.6"  # 100 × 0.8 × 6/7
    assert page.select_one("#top-advocates a[href='/ranking']") is not None
    rising = page.select("#rising-advocates ol.movers li")
    assert [li.select_one("a").get_text(strip=True) for li in rising] == ["Ana", "Bruno"]
    assert rising[0].select_one(".delta.up") is not None
    assert page.select_one("#rising-advocates a[href='/ranking#rising']") is not None
    assert page.select_one("link[href='/static/css/ranking.css']") is not None


def test_before_the_first_computation(viewer_client, engine):
    make_profile(engine, "Ana")
    page = soup(viewer_client.get("/"))
    assert page.select_one("#top-advocates .empty-state").get_text(strip=True) == "Scores have not been computed yet."
    assert page.select_one("#rising-advocates .empty-state") is not None
    assert page.select_one("#top-advocates a[href='/ranking']") is not None


def test_one_computation_has_nobody_rising(viewer_client, engine):
    community.build(engine)
    service.recompute(engine, trigger="test")
    page = soup(viewer_client.get("/"))
    assert len(page.select("#top-advocates ol li")) == 4
    assert page.select_one("#rising-advocates ol") is None
    assert "No score went up" in page.select_one("#rising-advocates .empty-state").get_text()
