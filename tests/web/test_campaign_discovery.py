"""The discovery, roster and warm-introduction pages of a campaign: full pages and htmx fragments."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from crm.audit.service import SYSTEM
from crm.campaigns import discovery, service
from crm.campaigns.models import CampaignIn, CampaignMember
from crm.db import session_scope
from crm.interactions.models import Relationship
from crm.profiles.models import Profile
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _person(engine: Engine, name: str, *, score: float = 0.0, level: int = 4, **fields: Any) -> int:
    fields.setdefault("may_contact", True)
    pid = make_profile(engine, name, **fields).id or 0
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == pid).values(score=score, level=level))  # type: ignore[arg-type]
    return pid


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    discovery.clear_cache()
    ids = {
        "ana": _person(engine, "Ana Team", is_team_member=True, topics=["python"]),
        "star": _person(engine, "Star Pythonista", score=90, topics=["python", "data"]),
        "mid": _person(engine, "Mid Pythonista", score=40, topics=["python"]),
        "dnc": _person(engine, "Do Not Call", score=99, topics=["python"], status="do_not_contact"),
        "cook": _person(engine, "Cook", score=80, topics=["cooking"]),
    }
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ids["ana"], target_id=ids["mid"], kind="colleague", strength=0.9))
        session.add(Relationship(source_id=ids["mid"], target_id=ids["star"], kind="knows", strength=0.8))
        ids["campaign"] = service.create_campaign(CampaignIn(name="Py launch", topics=["python", "data"]),
                                                  session=session, actor=SYSTEM).id or 0
        ids["empty"] = service.create_campaign(CampaignIn(name="No topics"), session=session, actor=SYSTEM).id or 0
    return ids


def test_discover_page_full_and_fragment(viewer_client, world) -> None:
    url = f"/campaigns/{world['campaign']}/discover"
    page = soup(viewer_client.get(url))
    assert page.select_one("nav.campaign-tabs a[aria-current=page]")["href"] == url
    cards = page.select("li.candidate-card")
    assert [c.select_one("h3 a").text for c in cards] == ["Star Pythonista", "Mid Pythonista"]
    assert cards[0].select_one("h3 a")["href"] == f"/people/{world['star']}"
    assert [chip.text for chip in cards[0].select(".why-topics .chip")] == ["python", "data"]
    assert page.select_one("details.discover-how summary").text == "How candidates are ordered"
    left = {item["data-reason"]: item.strong.text for item in page.select(".left-out-item")}
    assert left["do_not_contact"] == "1" and left["team"] == "1"
    assert page.select_one("form#discover-filters")["hx-sync"] == "this:replace"
    assert not page.select("input[name=profile_ids]")  # a viewer cannot add
    intro_link = cards[1].select_one(".card-actions a")
    assert intro_link["hx-get"] == f"/campaigns/{world['campaign']}/intro/{world['mid']}"
    fragment = viewer_client.get(url + "?exclude=&role=", headers=HX)
    part = soup(fragment)
    assert fragment.status_code == 200 and part.select_one("html") is None and part.select_one("#discover-filters") is None
    assert {c.select_one("h3 a").text for c in part.select("li.candidate-card")} == {
        "Star Pythonista", "Mid Pythonista", "Do Not Call", "Ana Team"}


def test_unticked_exclusion_and_filters_are_kept_in_links(viewer_client, world) -> None:
    url = f"/campaigns/{world['campaign']}/discover?exclude=&exclude=team&per_page=1"
    page = soup(viewer_client.get(url))
    boxes = {box["value"]: box.has_attr("checked") for box in page.select("fieldset.exclusions input[type=checkbox]")}
    assert boxes["team"] and not boxes["do_not_contact"]
    names = [c.select_one("h3 a").text for c in page.select("li.candidate-card")]
    assert names == ["Star Pythonista"]  # fit 0.75; Do Not Call (0.645) is now a candidate too
    assert page.select_one(".discover-meta").text.split()[0] == "3"
    following = page.select_one("nav.pagination a[rel=next]")["href"]
    assert "exclude=team" in following and "page=2" in following


def test_no_topics_falls_back_to_score_and_says_so(viewer_client, world) -> None:
    page = soup(viewer_client.get(f"/campaigns/{world['empty']}/discover"))
    note = page.select_one(".discover-fallback")
    assert note is not None and note.select_one("a")["href"] == f"/campaigns/{world['empty']}/edit"
    assert [c.select_one("h3 a").text for c in page.select("li.candidate-card")][:2] == ["Star Pythonista", "Cook"]


def test_more_like_this_person_page(viewer_client, world) -> None:
    page = soup(viewer_client.get(f"/campaigns/{world['campaign']}/discover?like={world['mid']}"))
    assert "More like Mid Pythonista" in page.select_one(".like-head").text
    star = next(c for c in page.select("li.candidate-card") if c.select_one("h3 a").text == "Star Pythonista")
    assert "Directly connected to Mid Pythonista" in star.select_one(".why-like").text
    assert viewer_client.get(f"/campaigns/{world['campaign']}/discover?like=999999").status_code == 404


def test_add_to_pipeline_plain_and_htmx(manager_client, world, engine: Engine) -> None:
    campaign = world["campaign"]
    page = soup(manager_client.get(f"/campaigns/{campaign}/discover"))
    token = page.select_one("#discover-add input[name=csrf_token]")["value"]
    response = manager_client.post(f"/campaigns/{campaign}/discover/add", data={
        "csrf_token": token, "profile_ids": [str(world["star"])], "stage": "shortlisted",
        "back": f"/campaigns/{campaign}/discover?page=1"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/campaigns/{campaign}/discover?page=1"
    after = soup(manager_client.get(response.headers["location"]))
    assert "1 person added to the pipeline." in after.text
    star_card = after.select_one(f"li.candidate-card[data-profile='{world['star']}']")
    assert "already in this campaign (Shortlisted)" in star_card.select_one(".chip.in-campaign").text
    fragment = manager_client.post(f"/campaigns/{campaign}/discover/add", headers=HX,
                                   data={"profile_ids": [str(world["star"]), str(world["mid"])], "stage": "candidate"})
    result = soup(fragment).select_one(".discover-added-result")
    assert fragment.status_code == 200 and result["data-added"] == "1" and result["data-already"] == "1"
    with Session(engine) as session:
        stages = {m.profile_id: m.stage for m in session.exec(select(CampaignMember))}
    assert stages == {world["star"]: "shortlisted", world["mid"]: "candidate"}
    nothing = manager_client.post(f"/campaigns/{campaign}/discover/add", headers=HX, data={"stage": "candidate"})
    assert nothing.status_code == 422


def test_roster_page_full_fragment_and_errors(manager_client, world) -> None:
    url = f"/campaigns/{world['campaign']}/roster"
    page = soup(manager_client.get(url))
    rows = page.select("table.roster-table tbody tr")
    # Mid knows Ana and Star (2 people), Star knows Mid (1): Mid first, then Star; 3 covered, like the top 2.
    assert [r["data-profile"] for r in rows] == [str(world["mid"]), str(world["star"])]
    assert page.select_one("[data-col=roster-value]").text.strip() == "3"
    assert page.select_one("[data-col=topk-value]").text.strip() == "3"
    assert page.select_one("[data-col=shared]").text.strip() == "2"
    assert page.select_one("svg.compare-bars") is not None
    assert [r.select_one("td[data-col=gain]").text.strip() for r in rows] == ["+2", "+1"]
    assert page.select_one(".top-k-better") is None
    fragment = manager_client.get(url + "?k=1", headers=HX)
    part = soup(fragment)
    assert part.select_one("#roster-form") is None and len(part.select("table.roster-table tbody tr")) == 1
    too_many = manager_client.get(url + "?k=3", headers=HX)
    assert too_many.status_code == 422
    assert "at most 2" in soup(too_many).select_one(".roster-errors li[data-field=k]").text
    assert manager_client.get(url + "?k=0").status_code == 422
    empty = soup(manager_client.get(f"/campaigns/{world['empty']}/roster?budget=-1"))
    assert empty.select_one(".roster-errors li[data-field=budget]") is not None


def test_roster_add(manager_client, world, engine: Engine) -> None:
    url = f"/campaigns/{world['campaign']}/roster"
    token = soup(manager_client.get(url)).select_one("form[action$='/roster/add'] input[name=csrf_token]")["value"]
    response = manager_client.post(url + "/add", data={"csrf_token": token, "stage": "shortlisted", "back": url,
                                                       "profile_ids": [str(world["star"]), str(world["mid"])]},
                                   follow_redirects=False)
    assert response.status_code == 303
    with Session(engine) as session:
        assert {m.stage for m in session.exec(select(CampaignMember))} == {"shortlisted"}


def test_intro_fragment_and_page(viewer_client, world) -> None:
    url = f"/campaigns/{world['campaign']}/intro/{world['star']}"
    part = soup(viewer_client.get(url, headers=HX))
    assert part.select_one("html") is None
    assert [a.text for a in part.select(".intro-path a.intro-person")] == ["Ana Team", "Mid Pythonista", "Star Pythonista"]
    assert len(part.select("li.intro-hop")) == 2
    page = soup(viewer_client.get(url))
    assert page.select_one("title").text.startswith("How to reach Star Pythonista")
    assert page.select_one(".warm-intro")["data-found"] == "yes"
    lonely = soup(viewer_client.get(f"/campaigns/{world['campaign']}/intro/{world['cook']}", headers=HX))
    assert lonely.select_one(".warm-intro")["data-found"] == "no"
    assert "No connection known yet." in lonely.select_one(".intro-none").text
    assert viewer_client.get(f"/campaigns/{world['campaign']}/intro/999999").status_code == 404
