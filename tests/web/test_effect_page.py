"""The reward-effect page: one row per badge and reward with before/after for both groups, the uplift,
group sizes and the warnings; the empty state; full page and fragment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from starlette.testclient import TestClient

from crm.db import session_scope
from crm.interactions.models import Interaction
from crm.recognition.models import Badge, BadgeAward, Redemption, Reward
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _posts(session, pid: int, before: int, after: int, event: datetime) -> None:
    times = [event - timedelta(days=60) + timedelta(days=60 * (i + 0.5) / before) for i in range(before)]
    times += [event + timedelta(days=60 * (i + 0.5) / after) for i in range(after)]
    for i, when in enumerate(times):
        session.add(Interaction(profile_id=pid, kind="post", title="p", source="t", external_id=f"{pid}-{i}",
                                occurred_at=when))


def _world(engine: Engine) -> tuple[int, int]:
    """A badge given 90 days ago to 12 people whose posts went from 2 to 6 per 60 days (1 → 3 per 30),
    30 others who stayed at 2; a reward fulfilled for 2 of them 20 days ago."""
    now = datetime.now(UTC)
    event = now - timedelta(days=90)
    recipients = [make_profile(engine, f"Recipient {i}").id for i in range(12)]
    others = [make_profile(engine, f"Other {i}").id for i in range(30)]
    with session_scope(engine, write=True) as s:
        for pid in recipients:
            _posts(s, pid, 2, 6, event)
        for pid in others:
            _posts(s, pid, 2, 2, event)
        badge, reward = Badge(name="Helper", symbol="H"), Reward(name="Mug", category="swag", cost=50)
        s.add_all([badge, reward])
        s.flush()
        s.add_all([BadgeAward(badge_id=badge.id, profile_id=pid, awarded_at=event) for pid in recipients])
        for pid in recipients[:2]:
            s.add(Redemption(reward_id=reward.id, profile_id=pid, cost=50, status="fulfilled",
                             fulfilled_at=now - timedelta(days=20)))
        return badge.id, reward.id


def test_the_page_shows_uplift_sizes_and_warnings(viewer_client: TestClient, engine: Engine) -> None:
    badge, reward = _world(engine)
    response = viewer_client.get("/recognition/effect")
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    page = soup(response)
    assert page.select_one("title").text.startswith("Reward effect")
    assert page.select_one(".recognition-tabs a[aria-current='page']")["href"] == "/recognition/effect"
    rows = page.select("tr.effect-row")
    assert [r["data-item"] for r in rows] == [f"badge-{badge}", f"reward-{reward}"]
    helper, mug = rows
    assert helper.select_one("td.recipients").text.strip() == "1 → 3"
    assert helper.select_one("td.comparison").text.strip() == "1 → 1"
    assert helper.select_one("td.uplift").text.split()[0] == "+2"
    sizes = helper.select_one("td.sizes").text
    assert "12 recipients" in sizes and "in comparison" in sizes
    assert helper.select_one(".effect-notes .too-small") is None and helper.select_one(".effect-notes .early") is None
    bar = helper.select_one("svg.effect-bar .mark.up")
    assert bar is not None and float(bar["x1"]) > float(helper.select_one("svg.effect-bar .zero")["x1"])
    # The mug: two people, 20 days ago: too few and too early, both said plainly.
    assert mug.select_one(".effect-notes .too-small") is not None
    assert "2 recipients got it less than 60 days ago" in mug.select_one(".effect-notes .early").text
    fragment = soup(viewer_client.get("/recognition/effect", headers=HX))
    assert fragment.select_one("html") is None and len(fragment.select("#effect tr.effect-row")) == 2


def test_empty_state(viewer_client: TestClient, engine: Engine) -> None:
    page = soup(viewer_client.get("/recognition/effect"))
    assert page.select_one("#effect p.empty") is not None and page.select_one("table.effect") is None
