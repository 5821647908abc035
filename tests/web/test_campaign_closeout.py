"""Completing a campaign: the close-out page lists the participants, thanks the ticked ones once."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.audit.service import Actor
from crm.campaigns import service
from crm.campaigns.models import Campaign, CampaignIn, CampaignMember
from crm.db import session_scope
from crm.interactions.models import Interaction
from tests.factories import soup
from tests.unit.test_campaign_report import build_campaign

ACTOR = Actor(user_id=None, label="test")


def _notes(engine, campaign_id: int) -> list[Interaction]:
    with Session(engine) as s:
        return list(s.exec(select(Interaction).where(Interaction.campaign_id == campaign_id, Interaction.kind == "note",
                                                     Interaction.title.startswith("Thank-you"))))


def test_the_close_out_lists_participants_with_what_they_did(manager_client, engine):
    ids = build_campaign(engine)
    page = soup(manager_client.get(f"/campaigns/{ids['campaign']}/complete"))
    rows = {r.select_one("td.name").get_text(strip=True): r for r in page.select("tr.participant")}
    assert list(rows) == ["Ana", "Bea", "Cai"]  # Dan (candidate, nothing delivered) is no participant
    assert [td.get_text(strip=True) for td in rows["Bea"].select("td.num")] == ["2", "20,000", "1,000", "2"]
    boxes = page.select("input[type=checkbox][name=thank]")
    assert {b["value"] for b in boxes} == {str(ids[n]) for n in ("Ana", "Bea", "Cai")}
    assert all(b.has_attr("checked") for b in boxes)
    assert page.select_one("textarea[name=message]").get_text() == "Thank you for taking part in Spring launch."
    recognise = page.select_one("fieldset.closeout-recognition")
    assert recognise.select_one("input[name=points]")["value"] == "0"
    assert [o.get_text(strip=True) for o in recognise.select("select[name=badge_id] option")] == ["No badge"]
    assert page.select_one("form.closeout-form input[name=csrf_token]")


def test_completing_thanks_the_ticked_and_twice_thanks_nobody_twice(manager_client, engine):
    ids = build_campaign(engine)
    cid = ids["campaign"]
    url = f"/campaigns/{cid}/complete"
    done = manager_client.post(url, data={"thank": [str(ids["Ana"]), str(ids["Bea"])], "message": "Gracias, equipo."})
    assert done.status_code == 303 and done.headers["location"] == f"/campaigns/{cid}/report"
    flashed = soup(manager_client.get(done.headers["location"]))
    assert "Campaign completed; 2 people thanked." in flashed.select_one(".flash-success").get_text()
    notes = _notes(engine, cid)
    assert sorted(n.profile_id for n in notes) == sorted([ids["Ana"], ids["Bea"]]) and notes[0].body == "Gracias, equipo."
    with Session(engine) as s:
        assert s.get(Campaign, cid).status == "completed"
        stages = {m.profile_id: m.stage for m in s.exec(select(CampaignMember).where(CampaignMember.campaign_id == cid))}
        assert stages[ids["Ana"]] == stages[ids["Bea"]] == "completed" and stages[ids["Cai"]] == "declined"

    again = soup(manager_client.get(url))
    assert again.select_one(".completed-notice") is not None
    ana = next(r for r in again.select("tr.participant") if r.select_one("td.name").get_text(strip=True) == "Ana")
    assert ana.select_one("input[name=thank]") is None and "Thanked on" in ana.select_one(".thanked").get_text()
    assert [b["value"] for b in again.select("input[name=thank]")] == [str(ids["Cai"])]
    # A second submission naming Ana again (an old tab) still does not thank her twice.
    second = manager_client.post(url, data={"thank": [str(ids["Ana"]), str(ids["Cai"])], "message": ""})
    assert second.status_code == 303
    assert "1 more person thanked" in soup(manager_client.get(second.headers["location"])).select_one(".flash-success").get_text()
    assert sorted(n.profile_id for n in _notes(engine, cid)) == sorted([ids["Ana"], ids["Bea"], ids["Cai"]])


def test_strangers_and_archived_campaigns_are_refused_with_nothing_changed(manager_client, engine):
    ids = build_campaign(engine)
    cid = ids["campaign"]
    refused = manager_client.post(f"/campaigns/{cid}/complete", data={"thank": [str(ids["Eva"])], "message": "x"})
    assert refused.status_code == 422
    page = soup(refused)
    assert "took part" in page.select_one(".flash-error").get_text()
    assert page.select_one("textarea[name=message]").get_text() == "x"
    with Session(engine) as s:
        assert s.get(Campaign, cid).status == "draft"
    with session_scope(engine, write=True) as s:
        service.update_campaign(cid, CampaignIn(name="Spring launch", status="archived"), session=s, actor=ACTOR)
    page = soup(manager_client.get(f"/campaigns/{cid}/complete"))
    assert page.select_one(".archived-notice") and page.select_one("form.closeout-form") is None
    assert manager_client.post(f"/campaigns/{cid}/complete", data={"thank": [str(ids["Ana"])]}).status_code == 422
    assert _notes(engine, cid) == []


def test_viewers_cannot_close_out(viewer_client, engine):
    ids = build_campaign(engine)
    assert viewer_client.get(f"/campaigns/{ids['campaign']}/complete").status_code == 403
    assert viewer_client.post(f"/campaigns/{ids['campaign']}/complete", data={}).status_code == 403
    page = soup(viewer_client.get(f"/campaigns/{ids['campaign']}/report"))
    assert page.select_one(f"a[href='/campaigns/{ids['campaign']}/complete']") is None


def test_the_close_out_can_award_points_and_a_badge_to_the_people_thanked(manager_client, engine):
    from crm.recognition import badges, ledger
    from crm.recognition.models import BadgeAward, Recognition

    ids = build_campaign(engine)
    cid = ids["campaign"]
    with session_scope(engine, write=True) as s:
        badge = badges.create_badge(badges.BadgeIn(name="Launch crew", manual=True), session=s, actor=ACTOR).badge.id
    page = soup(manager_client.get(f"/campaigns/{cid}/complete"))
    assert "Launch crew" in page.select_one("select[name=badge_id]").get_text()
    bad = manager_client.post(f"/campaigns/{cid}/complete", data={"thank": [str(ids["Ana"])], "points": "-5",
                                                                   "badge_id": str(badge)})
    assert bad.status_code == 422 and soup(bad).select_one("#c-points-error")
    assert soup(bad).select_one("select[name=badge_id] option[selected]")["value"] == str(badge)  # kept
    with Session(engine) as s:
        assert s.get(Campaign, cid).status != "completed"  # nothing half-done
    done = manager_client.post(f"/campaigns/{cid}/complete", data={"thank": [str(ids["Ana"]), str(ids["Bea"])],
                                                                    "points": "50", "badge_id": str(badge)})
    assert done.status_code == 303
    with session_scope(engine) as s:
        balances = ledger.balances([ids["Ana"], ids["Bea"], ids["Cai"]], conn=s.connection())
        holders = set(s.exec(select(BadgeAward.profile_id).where(BadgeAward.badge_id == badge)))
        thanked = s.exec(select(Recognition.profile_id).where(Recognition.kind == "thanks")).all()
    # ledger totals include the points their deliverables earned: compare with Cai, who was not thanked
    assert balances[ids["Ana"]].lifetime >= 50 and balances[ids["Bea"]].lifetime >= 50
    assert holders == {ids["Ana"], ids["Bea"]} and sorted(thanked) == sorted([ids["Ana"], ids["Bea"]])
    unknown = manager_client.post(f"/campaigns/{cid}/complete", data={"thank": [str(ids["Cai"])], "badge_id": "999999"})
    assert unknown.status_code == 422
