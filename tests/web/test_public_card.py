"""Opt-in public pages: the public leaderboard and a person's card, read without signing in at an
unguessable address; only featured people, only names, badges and points; revoked -> 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition import ledger
from crm.recognition.models import AwardIn, Badge, BadgeAward, PublicLink
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}
SECRET_BITS = ("ana.private@example.org", "Loves long walks", "Private note about Ana", "anahandle")


@pytest.fixture
def people(engine):
    ana = make_profile(engine, "Ana Featured", may_feature=True, bio="Loves long walks", location="Madrid",
                       identities=[{"platform": "email", "handle": "ana.private@example.org"},
                                   {"platform": "x", "handle": "anahandle"}]).id
    bruno = make_profile(engine, "Bruno Private", may_feature=False).id
    teo = make_profile(engine, "Teo Team", may_feature=True, is_team_member=True).id
    with session_scope(engine, write=True) as s:
        for pid, points in ((ana, 120), (bruno, 300), (teo, 900)):
            ledger.award(AwardIn(profile_ids=[pid], points=points, reason="Great work"), session=s, actor=SYSTEM)
        log.log_interaction(ana, InteractionIn(kind="note", title="Private note about Ana", body="Private note about Ana"),
                            session=s, actor=SYSTEM)
        badge = Badge(name="First talk", symbol="🎤", manual=True)
        s.add(badge)
        s.flush()
        s.add(BadgeAward(badge_id=badge.id, profile_id=ana))
    return {"ana": ana, "bruno": bruno, "teo": teo}


def _create(client, **data):
    return client.post("/recognition/public", data=data)


def _link(engine, kind):
    with session_scope(engine) as s:
        return s.execute(select(PublicLink).where(PublicLink.kind == kind).order_by(PublicLink.id.desc())).scalars().first()


def _anonymous(app):
    return TestClient(app, follow_redirects=False)


def test_the_public_leaderboard_needs_no_sign_in_and_shows_only_featured_people(manager_client, app, engine, people):
    assert _create(manager_client, kind="leaderboard").status_code == 303
    link = _link(engine, "leaderboard")
    assert len(link.token) >= 32 and link.profile_id is None
    with _anonymous(app) as visitor:
        response = visitor.get(f"/public/leaderboard/{link.token}")
    assert response.status_code == 200
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    page = soup(response)
    assert page.select_one("meta[name=robots]")["content"] == "noindex, nofollow"
    rows = page.select(".public-board li")
    assert [r.select_one(".name").get_text(strip=True) for r in rows] == ["Ana Featured"]  # not Bruno, not the team
    assert rows[0].select_one(".points").get_text(strip=True) == "120 points"
    assert rows[0].select_one(".badge-symbol")["title"] == "First talk"
    text = page.get_text(" ")
    assert not any(bit in text or bit in response.text for bit in SECRET_BITS)
    assert page.select("form") == [] and page.select_one(".mainnav") is None  # read-only, no menu
    assert not page.select("[style]") and not page.select("style") and all(t.get("src") for t in page.select("script"))
    with session_scope(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "recognition.public")).scalars().one()
    assert (event.object_id, event.after["kind"]) == (link.id, "leaderboard")


def test_a_card_is_only_for_someone_who_agreed_to_be_featured(manager_client, app, engine, people):
    response = _create(manager_client, kind="card", profile_id=str(people["bruno"]))
    assert response.status_code == 422
    assert "has not agreed to be featured" in soup(response).select_one("#profile_id-error").get_text()
    assert _link(engine, "card") is None
    page = soup(manager_client.get("/recognition/public"))
    assert [o.get_text(strip=True) for o in page.select("#f-profile_id option[value!='']")] == ["Ana Featured", "Teo Team"]
    assert _create(manager_client, kind="card").status_code == 422  # no person chosen
    assert _create(manager_client, kind="card", profile_id=str(people["ana"])).status_code == 303
    link = _link(engine, "card")
    with _anonymous(app) as visitor:
        response = visitor.get(f"/public/card/{link.token}")
        assert response.status_code == 200
        card = soup(response)
        assert card.select_one("h1").get_text(strip=True) == "Ana Featured"
        assert card.select_one(".points").get_text(strip=True) == "120 points"
        assert [li.get_text(" ", strip=True) for li in card.select(".public-badges li")] == ["🎤 First talk"]
        assert not any(bit in response.text for bit in SECRET_BITS) and "Madrid" not in response.text
        assert visitor.get(f"/public/leaderboard/{link.token}").status_code == 404  # a card's token is not a board's


def test_revoked_unknown_and_withdrawn_consent_answer_not_found(manager_client, app, engine, people):
    _create(manager_client, kind="leaderboard")
    _create(manager_client, kind="card", profile_id=str(people["ana"]))
    board, card = _link(engine, "leaderboard"), _link(engine, "card")
    page = soup(manager_client.get("/recognition/public"))
    addresses = [a["href"] for a in page.select(".public-address a")]
    assert sorted(addresses) == sorted([f"/public/leaderboard/{board.token}", f"/public/card/{card.token}"])
    assert manager_client.post(f"/recognition/public/{board.id}/revoke").status_code == 303
    with _anonymous(app) as visitor:
        assert visitor.get(f"/public/leaderboard/{board.token}").status_code == 404
        assert visitor.get(f"/public/card/{card.token}").status_code == 200
        assert visitor.get("/public/card/not-a-real-token").status_code == 404
        assert visitor.get("/public/card/" + "x" * 500).status_code == 404
        with session_scope(engine, write=True) as s:  # Ana withdraws her consent
            from crm.profiles.models import Profile
            ana = s.get(Profile, people["ana"])
            ana.may_feature = False
            s.add(ana)
        assert visitor.get(f"/public/card/{card.token}").status_code == 404
    page = soup(manager_client.get("/recognition/public", headers=HX))
    assert page.select_one("html") is None
    assert [a["href"] for a in page.select(".public-address a")] == [f"/public/card/{card.token}"]
    assert "No longer agrees" in page.select_one(".public-links-table .field-error").get_text()
    with session_scope(engine) as s:
        actions = [e.after for e in s.execute(select(AuditEvent).where(AuditEvent.action == "recognition.public")
                                              .order_by(AuditEvent.id)).scalars()]
    assert actions[-1] == {"revoked": True}
    assert manager_client.post("/recognition/public/999999/revoke").status_code == 404


def test_a_viewer_sees_the_links_but_cannot_share_or_revoke(viewer_client, engine, people):
    with session_scope(engine, write=True) as s:
        s.add(PublicLink(kind="leaderboard", token="t" * 32))
    page = soup(viewer_client.get("/recognition/public"))
    assert page.select_one(".public-create") is None and page.select(".public-links-table form") == []
    assert viewer_client.post("/recognition/public", data={"kind": "leaderboard"}).status_code == 403
    assert viewer_client.post("/recognition/public/1/revoke").status_code == 403
