"""The dashboard: this month against last, top contributors, negative mentions by large reach."""

from __future__ import annotations

from datetime import timedelta

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.interactions.service import Headline
from tests.factories import make_profile, soup


def _add(engine, profile_id: int, kind: str, days_ago: float, sentiment: float | None = None, title: str = "") -> None:
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=profile_id, kind=kind, title=title, sentiment=sentiment,
                                occurred_at=utcnow() - timedelta(days=days_ago)))


def _stat(page, label: str) -> str:
    for card in page.select(".stats article"):
        if card.select_one(".stat-label").get_text(strip=True) == label:
            return card.select_one(".stat").get_text(" ", strip=True)
    raise AssertionError(f"no {label} card")


def test_empty_dashboard_says_so(manager_client):
    page = soup(manager_client.get("/"))
    assert page.title.get_text() == "Dashboard · Altavoz"
    assert _stat(page, "Contributions").startswith("0")
    texts = [e.get_text(" ", strip=True) for e in page.select(".empty-state")]
    assert any("No contributions in the last 30 days" in t for t in texts)
    assert any("No contributions recorded yet" in t for t in texts)


def test_headlines_compare_with_the_previous_thirty_days(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    for days in (1, 2, 3):
        _add(engine, ana.id, "forum_answer", days)
    _add(engine, bruno.id, "review", 4)
    _add(engine, bruno.id, "post", 40)
    _add(engine, bruno.id, "post", 45)
    _add(engine, ana.id, "outreach_email", 1)  # outreach is not a contribution
    page = soup(manager_client.get("/"))
    assert _stat(page, "Contributions") == "4 ▲ 100%"
    assert _stat(page, "People contributing") == "2 ▲ 100%"
    top = [li.get_text(" ", strip=True) for li in page.select("ol.ranked li")]
    assert top == ["Ana López 3 contributions", "Bruno Díaz 1 contribution"]
    bars = page.select(".chart rect.bar")
    assert len(bars) >= 12
    assert sum(int(t.get_text().rsplit(": ", 1)[1]) for t in page.select(".chart g title")) == 6


def test_negative_mentions_only_from_large_reach(manager_client, engine):
    big = make_profile(engine, "Big Voice", identities=[{"platform": "youtube", "handle": "bigvoice", "followers": 250_000}])
    small = make_profile(engine, "Small Voice", identities=[{"platform": "x", "handle": "smallvoice", "followers": 300}])
    _add(engine, big.id, "complaint", 3, sentiment=-0.8, title="The update broke my workflow")
    _add(engine, small.id, "complaint", 3, sentiment=-0.9, title="Not happy")
    _add(engine, big.id, "post", 2, sentiment=0.9, title="Loving it")
    alerts = soup(manager_client.get("/")).select(".alerts li")
    assert len(alerts) == 1
    assert "Big Voice" in alerts[0].get_text() and "The update broke my workflow" in alerts[0].get_text()


def test_recent_changes_are_for_people_who_can_change_things(manager_client, engine):
    make_profile(engine, "Somebody")
    assert soup(manager_client.get("/")).select_one(".history") is not None


def test_viewers_do_not_see_the_activity_log(viewer_client, engine):
    make_profile(engine, "Somebody")
    assert soup(viewer_client.get("/")).select_one(".history") is None


def test_change_percentages():
    assert Headline("x", 15, 10).change_pct == 50
    assert Headline("x", 5, 10).change_pct == -50
    assert Headline("x", 5, 0).change_pct is None
