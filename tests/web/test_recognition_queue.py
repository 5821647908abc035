"""The "not yet thanked" queue page and the dashboard widget: filters, one-click and bulk thank-you,
points and badges (plain POST and htmx), people leaving the queue, empty states, who may act."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.recognition import ledger
from crm.recognition.models import Badge, BadgeAward, PointEntry, Recognition
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _contrib(engine, pid, kind="post", days_ago=1, title=""):
    with session_scope(engine, write=True) as s:
        item = Interaction(profile_id=pid, kind=kind, title=title or f"{kind} by {pid}",
                           occurred_at=utcnow() - timedelta(days=days_ago))
        s.add(item)
        s.flush()
        ledger.grant_for_interactions(s.connection(), [item.id])


def _people(engine, n=3, **fields):
    ids = []
    for i in range(n):
        pid = make_profile(engine, f"Person {chr(65 + i)}", **fields).id
        _contrib(engine, pid, "talk" if i == 0 else "post", days_ago=1 + i, title=f"Talk {i}")
        ids.append(pid)
    return ids


def _rows(page):
    return [int(tr["data-profile"]) for tr in page.select("table.queue-table tbody tr")]


def _badge(engine, name="Helper"):
    with session_scope(engine, write=True) as s:
        badge = Badge(name=name, manual=True)
        s.add(badge)
        s.flush()
        return badge.id


def test_queue_page_full_and_fragment(manager_client, engine):
    ids = _people(engine)
    page = soup(manager_client.get("/recognition"))
    assert page.title.get_text().startswith("Not yet thanked")
    assert page.select_one('.recognition-tabs a[aria-current="page"]')["href"] == "/recognition"
    assert _rows(page) == ids  # the talk first, then by the latest contribution
    first = page.select_one("table.queue-table tbody tr")
    assert "Talk 0" in first.select_one("td.best").get_text()
    assert first.select_one('td[data-label="Points"]').get_text(strip=True) == "40"
    assert page.select_one("#queue-form") is not None and page.select_one(".queue-filters") is not None
    fragment = manager_client.get("/recognition", headers=HX)
    part = soup(fragment)
    assert part.select_one("html") is None and part.select_one(".queue-filters") is None
    assert _rows(part) == ids


def test_filters_role_topic_days_and_team(manager_client, engine):
    ana = make_profile(engine, "Ana", roles=["moderator"], topics=["rust"]).id
    team = make_profile(engine, "Teo", is_team_member=True).id
    old = make_profile(engine, "Olga").id
    for pid in (ana, team):
        _contrib(engine, pid)
    _contrib(engine, old, days_ago=50)
    assert _rows(soup(manager_client.get("/recognition"))) == [ana]
    assert set(_rows(soup(manager_client.get("/recognition?team=true")))) == {ana, team}
    assert set(_rows(soup(manager_client.get("/recognition?days=90")))) == {ana, old}
    assert _rows(soup(manager_client.get("/recognition?days=90&role=moderator", headers=HX))) == [ana]
    assert _rows(soup(manager_client.get("/recognition?days=90&topic=go"))) == []
    page = soup(manager_client.get("/recognition?days=bogus"))  # a bad value falls back to the default
    assert _rows(page) == [ana]


def test_empty_state(manager_client):
    page = soup(manager_client.get("/recognition"))
    assert "Everyone who contributed has been thanked" in page.select_one(".empty-state").get_text()
    assert page.select_one("table.queue-table") is None


def test_bulk_thank_plain_post_redirects_and_they_leave(manager_client, engine):
    a, b, c = _people(engine)
    response = manager_client.post("/recognition/thank", data={"profile_ids": [a, b], "note": "the launch", "days": "30"})
    assert response.status_code == 303 and response.headers["location"] == "/recognition?days=30"
    page = soup(manager_client.get(response.headers["location"]))
    assert "Thanked 2 people" in page.get_text()
    assert _rows(page) == [c]
    with session_scope(engine) as s:
        notes = s.execute(select(Interaction.title).where(Interaction.kind == "note")).scalars().all()
        assert notes == ["Thank-you: the launch"] * 2


def test_bulk_points_with_htmx_returns_the_refreshed_queue(manager_client, engine):
    a, b, c = _people(engine)
    response = manager_client.post("/recognition/award-points", headers=HX,
                                   data={"profile_ids": [a, c], "points": "25", "reason": "Great week", "days": "30"})
    assert response.status_code == 200
    part = soup(response)
    assert part.select_one("html") is None and _rows(part) == [b]
    assert "Awarded 25 points to 2 people" in part.select_one(".notice.success").get_text()
    with session_scope(engine) as s:
        awarded = s.execute(select(PointEntry.profile_id, PointEntry.amount).where(PointEntry.kind == "awarded")).all()
        assert sorted(awarded) == sorted([(a, 25), (c, 25)])


def test_bulk_badge_and_one_click_row_forms(manager_client, engine):
    a, b, c = _people(engine)
    badge = _badge(engine)
    page = soup(manager_client.get("/recognition"))
    assert [o["value"] for o in page.select("#bulk-badge option")] == ["", str(badge)]  # "no badge" first
    row = page.select_one(f'tr[data-profile="{b}"]')
    actions = [f["action"] for f in row.select("td.row-actions form")]
    assert actions == ["/recognition/thank", "/recognition/award-points", "/recognition/award-badge"]
    assert row.select_one('form[action="/recognition/thank"] input[name=profile_ids]')["value"] == str(b)
    response = manager_client.post("/recognition/award-badge", headers=HX,
                                   data={"profile_ids": [b, c], "badge_id": str(badge), "days": "30"})
    assert response.status_code == 200 and _rows(soup(response)) == [a]
    with session_scope(engine) as s:
        holders = s.execute(select(BadgeAward.profile_id).where(BadgeAward.badge_id == badge)).scalars().all()
        assert sorted(holders) == sorted([b, c])
        kinds = s.execute(select(Recognition.kind)).scalars().all()
        assert sorted(kinds) == ["badge", "badge"]
    one = manager_client.post("/recognition/thank", headers=HX, data={"profile_ids": str(a), "days": "30"})
    assert "Everyone who contributed has been thanked" in soup(one).get_text()


def test_refusals_keep_the_queue_and_say_why(manager_client, engine):
    a, _, _ = _people(engine)
    none_ticked = manager_client.post("/recognition/thank", headers=HX, data={"note": "x", "days": "30"})
    assert none_ticked.status_code == 422
    assert "Tick at least one person" in soup(none_ticked).select_one(".notice.error").get_text()
    bad_points = manager_client.post("/recognition/award-points", data={"profile_ids": [a], "points": "0"})
    assert bad_points.status_code == 422 and _rows(soup(bad_points)) != []  # no points and no badge: nothing to give
    assert "Give some points, choose a badge, or both" in bad_points.text
    no_badge = manager_client.post("/recognition/award-badge", data={"profile_ids": [a], "badge_id": "99999"})
    assert no_badge.status_code == 422 and "Choose a badge" in no_badge.text
    unknown = manager_client.post("/recognition/thank", data={"profile_ids": ["99999"]})
    assert unknown.status_code == 422
    with session_scope(engine) as s:
        assert s.execute(select(Recognition)).first() is None


def test_viewers_see_the_queue_without_actions(viewer_client, engine):
    _people(engine, 1)
    page = soup(viewer_client.get("/recognition"))
    assert len(_rows(page)) == 1
    assert page.select_one("#queue-form") is None and page.select_one("td.row-actions") is None


def test_dashboard_widget_comes_first_and_thanks_in_one_click(manager_client, engine):
    a, b, c = _people(engine)
    page = soup(manager_client.get("/"))
    widget = page.select_one("#thank-queue")
    assert widget is not None
    first_section = page.select_one("main section") or page.select_one("section")
    assert first_section.get("id") == "thank-queue"  # the main widget, before anything else
    assert [int(li["data-profile"]) for li in widget.select("li")] == [a, b, c]
    assert widget.select_one('a[href="/recognition"]') is not None
    response = manager_client.post("/recognition/thank", headers=HX, data={"profile_ids": str(b), "from": "dashboard"})
    part = soup(response)
    assert part.select_one("section#thank-queue") is not None and part.select_one("html") is None
    assert [int(li["data-profile"]) for li in part.select("li")] == [a, c]
    plain = manager_client.post("/recognition/thank", data={"profile_ids": str(a), "from": "dashboard"})
    assert plain.status_code == 303 and plain.headers["location"] == "/"


def test_dashboard_widget_empty_state(manager_client):
    widget = soup(manager_client.get("/")).select_one("#thank-queue")
    assert "Everyone who contributed has been thanked" in widget.get_text()


def test_bulk_award_gives_points_and_a_badge_in_one_step(manager_client, engine):
    a, b, c = _people(engine)
    badge = _badge(engine)
    response = manager_client.post("/recognition/award-points", headers=HX, data={
        "profile_ids": [a, c], "points": "30", "with_badge": str(badge), "reason": "Launch week", "days": "30"})
    assert response.status_code == 200 and _rows(soup(response)) == [b]
    assert "Awarded 30 points and the badge" in soup(response).select_one(".notice.success").get_text()
    with session_scope(engine) as s:
        holders = s.execute(select(BadgeAward.profile_id).where(BadgeAward.badge_id == badge)).scalars().all()
        awarded = s.execute(select(PointEntry.profile_id, PointEntry.amount).where(PointEntry.kind == "awarded")).all()
    assert sorted(holders) == sorted([a, c]) and sorted(awarded) == sorted([(a, 30), (c, 30)])
