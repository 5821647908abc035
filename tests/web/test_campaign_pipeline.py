"""The pipeline board: a column per stage with its cards, moving a card (one htmx action, audited; the
board comes back with the card in its new column), declined members and "reopen", adding a person (and
the 409 of someone already in), the member panel (fee, notes, next step, outreach with the consent
check), and removal with its confirmation and undo."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.campaigns import service
from crm.campaigns.models import STAGES, CampaignMember
from crm.db import session_scope, utcnow
from crm.interactions.models import InteractionIn
from tests.campaign_factories import HX, add_member, events, make_campaign, member
from tests.factories import make_profile, soup


def _setup(engine):
    campaign = make_campaign(engine, "Observability week", status="active", currency="EUR")
    ana = make_profile(engine, "Ana López", may_contact=True,
                       identities=[{"platform": "x", "handle": "ana", "followers": 12_000}])
    bea = make_profile(engine, "Bea Ruiz", may_contact=False)
    cai = make_profile(engine, "Cai Soto")
    m_ana = add_member(engine, campaign.id, ana.id, stage="contacted", fee=500)
    m_bea = add_member(engine, campaign.id, bea.id, stage="declined")
    return campaign, (ana, bea, cai), (m_ana, m_bea)


def _column_of(page, member_id):
    card = page.select_one(f"#member-{member_id}")
    return card.find_parent("section")["id"].removeprefix("column-") if card else None


def test_the_board_has_a_column_per_stage_and_a_card_per_member(manager_client, engine):
    campaign, (ana, bea, _), (m_ana, m_bea) = _setup(engine)
    with session_scope(engine, write=True) as session:
        service.log_for_campaign(campaign.id, ana.id, InteractionIn(kind="outreach_dm", title="Hi"), session=session,
                                 actor=SYSTEM)
        service.update_member(campaign.id, m_ana.id, service.MemberPatch(
            next_step="Send the contract", next_step_on=utcnow().date() - timedelta(days=1)), session=session, actor=SYSTEM)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/pipeline"))
    assert page.select_one(".campaign-tabs a[aria-current='page']").get_text(strip=True) == "Pipeline"
    assert [s["id"] for s in page.select(".board section.board-column")] == [f"column-{s.value}" for s in STAGES]
    assert [h.select_one("span").get_text(strip=True) for h in page.select(".board-column h2")] == [
        "Candidate", "Shortlisted", "Contacted", "Negotiating", "Confirmed", "Content live", "Completed", "Declined"]
    card = page.select_one(f"#member-{m_ana.id}")
    assert _column_of(page, m_ana.id) == "contacted" and _column_of(page, m_bea.id) == "declined"
    assert card.select_one("a.member-name")["href"] == f"/people/{ana.id}"
    assert card.select_one(".reach").get_text(strip=True) == "12K"
    assert card.select_one(".fee").get_text(strip=True) == "500 EUR"
    assert card.select_one(".outreach-count").get_text(strip=True) == "(1 outreach)"
    assert card.select_one(".last-contact time") is not None
    assert "overdue" in card.select_one(".next-step")["class"]
    assert card.select_one(".next-step").get_text(" ", strip=True).startswith("Next Send the contract")
    # ← and → go to the neighbouring stages; the select offers them all
    assert card.select_one(".step-back").find_parent("form").select_one("input[name=stage]")["value"] == "shortlisted"
    assert card.select_one(".step-on").find_parent("form").select_one("input[name=stage]")["value"] == "negotiating"
    assert card.select_one(".move-form select option[selected]")["value"] == "contacted"
    declined = page.select_one(f"#member-{m_bea.id}")
    assert declined.select_one(".reopen-form input[name=reopen]")["value"] == "true"
    assert declined.select_one(".move-form:not(.reopen-form)") is None


def test_moving_a_card_with_htmx_swaps_the_board_and_is_audited(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/stage", headers=HX,
                                   data={"stage": "negotiating"})
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None
    assert page.select_one("#board") is not None
    assert _column_of(page, m_ana.id) == "negotiating"
    assert member(engine, m_ana.id).stage == "negotiating"
    event = events(engine, "campaign.member_stage")[-1]
    assert event.object_id == campaign.id
    assert event.before["stage"] == "contacted" and event.after["stage"] == "negotiating"
    assert event.subject == "manager@example.com"


def test_moving_a_card_without_javascript_comes_back_to_the_board(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/stage", data={"stage": "confirmed"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/campaigns/{campaign.id}/pipeline"
    page = soup(manager_client.get(response.headers["location"]))
    assert _column_of(page, m_ana.id) == "confirmed"
    assert page.select_one(".flash-success").get_text(strip=True) == "Moved."


def test_a_declined_member_is_refused_without_reopen_and_moves_with_it(manager_client, engine):
    campaign, _, (_, m_bea) = _setup(engine)
    refused = manager_client.post(f"/campaigns/{campaign.id}/members/{m_bea.id}/stage", headers=HX,
                                  data={"stage": "contacted"})
    assert refused.status_code == 422
    page = soup(refused)
    assert "Reopen them" in page.select_one(f"#member-{m_bea.id} .card-error").get_text()
    assert _column_of(page, m_bea.id) == "declined"
    assert member(engine, m_bea.id).stage == "declined"
    assert events(engine, "campaign.member_stage") == []
    reopened = manager_client.post(f"/campaigns/{campaign.id}/members/{m_bea.id}/stage", headers=HX,
                                   data={"stage": "shortlisted", "reopen": "true"})
    assert reopened.status_code == 200
    assert _column_of(soup(reopened), m_bea.id) == "shortlisted"
    assert member(engine, m_bea.id).stage == "shortlisted"


def test_an_unknown_stage_is_refused_on_the_card(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/stage", data={"stage": "famous"})
    assert response.status_code == 422
    assert soup(response).select_one(f"#member-{m_ana.id} .card-error") is not None
    assert member(engine, m_ana.id).stage == "contacted"


def test_a_viewer_cannot_move_cards_and_sees_no_move_forms(viewer_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    page = soup(viewer_client.get(f"/campaigns/{campaign.id}/pipeline"))
    assert page.select_one(f"#member-{m_ana.id}") is not None
    assert page.select_one(".move-form") is None and page.select_one("#add-member-form") is None
    response = viewer_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/stage", data={"stage": "confirmed"})
    assert response.status_code == 403
    assert member(engine, m_ana.id).stage == "contacted"


def test_an_empty_board_points_to_discovery(manager_client, engine):
    campaign = make_campaign(engine)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/pipeline"))
    assert page.select_one("#empty-board a")["href"] == f"/campaigns/{campaign.id}/discover"
    assert page.select_one("#add-member-form") is not None


# ---- adding people -----------------------------------------------------------------------------


def test_the_picker_finds_people_by_name(manager_client, engine):
    campaign, (_, _, cai), _ = _setup(engine)
    response = manager_client.get(f"/campaigns/{campaign.id}/picker?q=cai", headers=HX)
    assert response.status_code == 200
    choices = soup(response).select("input[name=profile_id]")
    assert [c["value"] for c in choices] == ["", str(cai.id)]
    assert manager_client.get(f"/campaigns/{campaign.id}/picker?q=cai").status_code == 303


def test_a_person_is_added_from_the_board(manager_client, engine):
    campaign, (_, _, cai), _ = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members", headers=HX,
                                   data={"profile_id": str(cai.id), "stage": "shortlisted", "fee": "300"})
    assert response.status_code == 200
    page = soup(response)
    with Session(engine) as session:
        added = service.member_of(campaign.id, cai.id, session=session)
    assert added.stage == "shortlisted" and added.fee == 300
    assert _column_of(page, added.id) == "shortlisted"
    plain = manager_client.post(f"/campaigns/{campaign.id}/members", data={"profile_id": str(make_profile(engine, "Dan").id)})
    assert plain.status_code == 303 and plain.headers["location"] == f"/campaigns/{campaign.id}/pipeline"


def test_adding_someone_already_in_shows_the_conflict_message(manager_client, engine):
    campaign, (ana, _, _), (m_ana, _) = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members", headers=HX,
                                   data={"profile_id": str(ana.id), "stage": "candidate"})
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#add-member-error").get_text(strip=True) == "Ana López is already in this campaign (Contacted)."
    assert page.select_one("details.add-member").has_attr("open")
    assert page.select_one(f"#m-picker input[value='{ana.id}']").has_attr("checked")
    assert member(engine, m_ana.id).stage == "contacted"


def test_adding_nobody_or_a_bad_fee_is_refused(manager_client, engine):
    campaign, (_, _, cai), _ = _setup(engine)
    nobody = manager_client.post(f"/campaigns/{campaign.id}/members", data={"profile_id": "", "stage": "candidate"})
    assert nobody.status_code == 422
    assert soup(nobody).select_one("#add-member-error").get_text(strip=True) == "Choose someone first."
    bad_fee = manager_client.post(f"/campaigns/{campaign.id}/members", data={"profile_id": str(cai.id), "fee": "-10"})
    assert bad_fee.status_code == 422
    assert soup(bad_fee).select_one("#m-fee")["value"] == "-10"
    with Session(engine) as session:
        assert service.member_of(campaign.id, cai.id, session=session) is None


# ---- the member panel --------------------------------------------------------------------------


def test_the_member_panel_as_fragment_and_full_page(manager_client, engine):
    campaign, (ana, _, _), (m_ana, _) = _setup(engine)
    fragment = manager_client.get(f"/campaigns/{campaign.id}/members/{m_ana.id}", headers=HX)
    assert fragment.status_code == 200
    panel = soup(fragment)
    assert panel.select_one("html") is None
    assert panel.select_one(".member-panel h2 a")["href"] == f"/people/{ana.id}"
    assert panel.select_one("#mp-fee")["value"] == "500"
    assert panel.select_one("#no-outreach") is not None
    full = soup(manager_client.get(f"/campaigns/{campaign.id}/members/{m_ana.id}"))
    assert full.select_one("header.topbar") is not None
    assert full.select_one(".back-to-board")["href"] == f"/campaigns/{campaign.id}/pipeline"
    assert full.select_one("#member-stage").get_text(strip=True) == "Contacted"


def test_fee_notes_and_next_step_are_saved_and_bad_ones_kept(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    url = f"/campaigns/{campaign.id}/members/{m_ana.id}"
    response = manager_client.post(url, headers=HX, data={"fee": "750.50", "notes": "Prefers video",
                                                           "next_step": "Send the contract", "next_step_on": "2026-05-01"})
    assert response.status_code == 200
    saved = member(engine, m_ana.id)
    assert (saved.fee, saved.notes, saved.next_step, saved.next_step_on.isoformat()) == (
        750.5, "Prefers video", "Send the contract", "2026-05-01")
    assert soup(response).select_one("#mp-fee")["value"] == "750.50"
    bad = manager_client.post(url, data={"fee": "-1", "notes": "changed", "next_step": "x", "next_step_on": "soon"})
    assert bad.status_code == 422
    page = soup(bad)
    assert page.select_one("#mp-notes").get_text() == "changed"
    assert page.select_one("#mp-next_step_on")["aria-invalid"] == "true"
    assert member(engine, m_ana.id).notes == "Prefers video"
    assert events(engine, "campaign.member_update")[-1].after["fee"] == 750.5


def test_outreach_is_logged_on_the_panel_and_linked(manager_client, engine):
    campaign, (ana, _, _), (m_ana, _) = _setup(engine)
    url = f"/campaigns/{campaign.id}/members/{m_ana.id}/outreach"
    response = manager_client.post(url, headers=HX, data={"kind": "outreach_meeting", "title": "Call about the brief",
                                                           "body": "", "occurred_at": "2026-03-02T10:30"})
    assert response.status_code == 200
    assert soup(response).select_one(".outreach-log li").get_text(" ", strip=True).endswith("Call about the brief")
    with Session(engine) as session:
        logged = service.outreach_log(campaign.id, ana.id, session=session)
    assert [(i.kind, i.title, i.campaign_id) for i in logged] == [("outreach_meeting", "Call about the brief", campaign.id)]
    bad = manager_client.post(url, data={"kind": "post", "title": "not outreach"})
    assert bad.status_code == 422


def test_outreach_to_someone_who_may_not_be_contacted_asks_first(manager_client, engine):
    campaign, (_, bea, _), (_, m_bea) = _setup(engine)
    url = f"/campaigns/{campaign.id}/members/{m_bea.id}/outreach"
    refused = manager_client.post(url, headers=HX, data={"kind": "outreach_email", "title": "Hello"})
    assert refused.status_code == 422
    page = soup(refused)
    assert "not agreed to be contacted" in page.select_one("#consent-refusal").get_text()
    assert page.select_one("#o-contact_anyway") is not None
    assert page.select_one("#o-title")["value"] == "Hello"
    with Session(engine) as session:
        assert service.outreach_log(campaign.id, bea.id, session=session) == []
    anyway = manager_client.post(url, data={"kind": "outreach_email", "title": "Hello", "contact_anyway": "on"})
    assert anyway.status_code == 303
    with Session(engine) as session:
        assert len(service.outreach_log(campaign.id, bea.id, session=session)) == 1


# ---- removal and undo --------------------------------------------------------------------------


def test_removing_asks_first_then_offers_undo_that_puts_everything_back(manager_client, engine):
    campaign, (ana, _, _), (m_ana, _) = _setup(engine)
    with session_scope(engine, write=True) as session:
        service.update_member(campaign.id, m_ana.id, service.MemberPatch(notes="Prefers video", next_step="Call"),
                              session=session, actor=SYSTEM)
    confirm = soup(manager_client.get(f"/campaigns/{campaign.id}/members/{m_ana.id}/remove"))
    assert confirm.select_one("#confirm-remove-button").find_parent("form")["action"].endswith(f"/{m_ana.id}/remove")
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/remove")
    assert response.status_code == 303
    assert member(engine, m_ana.id) is None
    board = soup(manager_client.get(response.headers["location"]))
    banner = board.select_one("#undo-remove")
    assert "Ana López was removed" in banner.get_text()
    undo = manager_client.post(banner.select_one("form")["action"], headers=HX)
    assert undo.status_code == 200
    with Session(engine) as session:
        back = service.member_of(campaign.id, ana.id, session=session)
    assert (back.stage, back.fee, back.notes, back.next_step) == ("contacted", 500, "Prefers video", "Call")
    assert _column_of(soup(undo), back.id) == "contacted"
    assert soup(undo).select_one("#undo-remove") is None
    # the banner does not come back once they are back, and a second undo is a clash
    assert soup(manager_client.get(response.headers["location"])).select_one("#undo-remove") is None
    assert manager_client.post(banner.select_one("form")["action"]).status_code == 409


def test_removing_with_htmx_shows_the_board_with_the_undo(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/remove", headers=HX)
    assert response.status_code == 200
    assert soup(response).select_one("#undo-remove form") is not None
    assert events(engine, "campaign.member_remove")[-1].before["id"] == m_ana.id


def test_undo_of_something_else_is_a_404(manager_client, engine):
    campaign, _, _ = _setup(engine)
    event = events(engine, "campaign.member_add")[-1]
    assert manager_client.post(f"/campaigns/{campaign.id}/members/undo/{event.id}").status_code == 404
    other = make_campaign(engine, "Other")
    assert soup(manager_client.get(f"/campaigns/{other.id}/pipeline?undo={event.id}")).select_one("#undo-remove") is None


def test_an_archived_campaigns_board_cannot_be_changed(manager_client, engine):
    campaign, _, (m_ana, _) = _setup(engine)
    with session_scope(engine, write=True) as session:
        service.update_campaign(campaign.id, service.CampaignIn(name=campaign.name, status="archived"), session=session,
                                actor=SYSTEM)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/pipeline"))
    assert page.select_one(".move-form") is None and page.select_one("#add-member-form") is None
    response = manager_client.post(f"/campaigns/{campaign.id}/members/{m_ana.id}/stage", headers=HX,
                                   data={"stage": "confirmed"})
    assert response.status_code == 422
    assert "archived" in soup(response).select_one(f"#member-{m_ana.id} .card-error").get_text()
    with Session(engine) as session:
        assert session.get(CampaignMember, m_ana.id).stage == "contacted"
