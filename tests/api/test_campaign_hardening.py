"""What an attack on the running demo found, kept fixed: nulls that emptied fields answered 500, an
archived campaign still took quotes, task ticks and deliverable edits, outreach could be edited as a
deliverable, an empty pool took any k, too many ticks said "tick at least one", and a next step
could be dated in the year 1."""

from __future__ import annotations

from crm.audit.service import SYSTEM
from crm.campaigns import service
from crm.campaigns.models import CampaignPatch, CampaignStatus
from crm.db import session_scope
from tests.campaign_factories import add_member, add_task, make_campaign
from tests.factories import make_profile, soup


def test_null_empties_text_and_lists_instead_of_a_500(manager_client, engine):
    cid = make_campaign(engine, topics=["python"], keywords=["cli"], objective="Reach", brief="Write").id
    for field, empty in (("topics", []), ("keywords", []), ("objective", ""), ("brief", "")):
        response = manager_client.patch(f"/api/v1/campaigns/{cid}", json={field: None})
        assert response.status_code == 200, response.text
        assert response.json()[field] == empty
    assert manager_client.patch(f"/api/v1/campaigns/{cid}", json={"name": None}).status_code == 422


def test_an_archived_campaign_takes_no_quotes_task_ticks_or_deliverable_edits(manager_client, engine):
    person = make_profile(engine, "Ana").id
    cid = make_campaign(engine).id
    member = add_member(engine, cid, person)
    task = add_task(engine, cid, "Brief Ana")
    deliverable = manager_client.post(f"/api/v1/campaigns/{cid}/deliverables", json={
        "profile_id": person, "kind": "post", "url": "https://example.com/1", "reach": 10})
    assert deliverable.status_code == 201, deliverable.text
    quote = manager_client.post(f"/api/v1/campaigns/{cid}/quotes", json={"text": "Loved it", "profile_id": person})
    assert quote.status_code == 201 and member.id
    with session_scope(engine, write=True) as s:
        service.update_campaign(cid, CampaignPatch(status=CampaignStatus.archived), session=s, actor=SYSTEM, partial=True)
    iid, qid = deliverable.json()["id"], quote.json()["id"]
    assert manager_client.post(f"/api/v1/campaigns/{cid}/quotes", json={"text": "More"}).status_code == 422
    assert manager_client.delete(f"/api/v1/campaigns/{cid}/quotes/{qid}").status_code == 422
    assert manager_client.patch(f"/api/v1/campaigns/{cid}/tasks/{task.id}", json={"done": True}).status_code == 422
    assert manager_client.delete(f"/api/v1/campaigns/{cid}/tasks/{task.id}").status_code == 422
    edit = manager_client.post(f"/campaigns/{cid}/deliverables/{iid}", data={"reach": "999999", "engagements": "1"})
    assert edit.status_code == 422 and "archived" in soup(edit).get_text()


def test_only_deliverables_are_edited_as_deliverables(manager_client, engine):
    person = make_profile(engine, "Bea", may_contact=True).id
    cid = make_campaign(engine).id
    add_member(engine, cid, person)
    outreach = manager_client.post(f"/api/v1/profiles/{person}/interactions", json={
        "kind": "outreach_email", "title": "Would you join?", "campaign_id": cid})
    assert outreach.status_code == 201, outreach.text
    oid = outreach.json()["id"]
    assert manager_client.get(f"/campaigns/{cid}/deliverables/{oid}/edit").status_code == 404
    assert manager_client.post(f"/campaigns/{cid}/deliverables/{oid}", data={"reach": "5"}).status_code == 404


def test_an_empty_pool_refuses_a_roster_with_a_reason(manager_client, engine):
    make_profile(engine, "Cai", topics=["rust"])
    cid = make_campaign(engine, topics=["cobol"], keywords=[]).id
    response = manager_client.get(f"/api/v1/campaigns/{cid}/roster", params={"k": 50})
    assert response.status_code == 422 and "No candidates are left" in response.text


def test_ticking_too_many_says_so(manager_client, engine):
    cid = make_campaign(engine).id
    response = manager_client.post(f"/campaigns/{cid}/discover/add", data={"profile_ids": [str(i) for i in range(1, 260)]})
    assert response.status_code == 422 and "at most 200" in soup(response).get_text()


def test_a_next_step_needs_a_believable_date(manager_client, engine):
    person = make_profile(engine, "Dan").id
    cid = make_campaign(engine).id
    mid = add_member(engine, cid, person).id
    for day in ("0001-01-01", "9999-12-31"):
        assert manager_client.patch(f"/api/v1/campaigns/{cid}/members/{mid}", json={"next_step_on": day}).status_code == 422


def test_quotes_come_from_people_in_the_campaign(manager_client, engine):
    stranger = make_profile(engine, "Eve").id
    cid = make_campaign(engine).id
    response = manager_client.post(f"/api/v1/campaigns/{cid}/quotes", json={"text": "x", "profile_id": stranger})
    assert response.status_code == 422 and "people in this campaign" in response.text


def test_the_board_warns_about_people_who_may_not_be_contacted(manager_client, engine):
    blocked = make_profile(engine, "Fay", status="do_not_contact").id
    silent = make_profile(engine, "Gil", may_contact=False).id
    fine = make_profile(engine, "Hal", may_contact=True).id
    cid = make_campaign(engine).id
    for pid in (blocked, silent, fine):
        add_member(engine, cid, pid)
    board = soup(manager_client.get(f"/campaigns/{cid}/pipeline"))
    warnings = {card.select_one("a.member-name").get_text(): card.select_one(".contact-warning")
                for card in board.select("li.member-card")}
    assert warnings["Fay"].get_text() == "Do not contact" and warnings["Gil"].get_text() == "No consent to contact"
    assert warnings["Hal"] is None


def test_deliverables_in_the_future_or_twice_and_a_kpi_twice_are_refused(manager_client, engine):
    from datetime import timedelta

    from crm.db import utcnow

    person = make_profile(engine, "Ivy").id
    cid = make_campaign(engine).id
    add_member(engine, cid, person)
    later = (utcnow() + timedelta(days=30)).date().isoformat()
    future = manager_client.post(f"/campaigns/{cid}/deliverables", data={
        "profile_id": str(person), "kind": "post", "url": "https://example.com/a", "occurred_on": later})
    assert future.status_code == 422 and soup(future).select_one("#d-occurred_on-error")
    first = manager_client.post(f"/campaigns/{cid}/deliverables", data={
        "profile_id": str(person), "kind": "post", "url": "https://example.com/a"})
    assert first.status_code == 303
    again = manager_client.post(f"/campaigns/{cid}/deliverables", data={
        "profile_id": str(person), "kind": "video", "url": "https://example.com/a"})
    assert again.status_code == 422 and "logged for this campaign already" in soup(again).select_one("#d-url-error").get_text()
    assert manager_client.post(f"/api/v1/campaigns/{cid}/kpis", json={"metric": "reach", "target": 100}).status_code == 201
    twice = manager_client.post(f"/api/v1/campaigns/{cid}/kpis", json={"metric": "reach", "target": 200})
    assert twice.status_code == 422 and "already" in twice.text
    custom = [manager_client.post(f"/api/v1/campaigns/{cid}/kpis", json={"metric": "custom", "label": n, "target": 1})
              for n in ("Trials", "Demos")]
    assert [r.status_code for r in custom] == [201, 201]


def test_completing_moves_everyone_who_delivered_to_completed(engine):
    from crm.audit.service import SYSTEM
    from crm.interactions.models import InteractionIn

    person = make_profile(engine, "Jon").id
    cid = make_campaign(engine).id
    add_member(engine, cid, person, stage="negotiating")
    with session_scope(engine, write=True) as s:
        service.log_for_campaign(cid, person, InteractionIn(kind="post", url="https://example.com/j"), session=s,
                                 actor=SYSTEM)
        service.complete_campaign(cid, session=s, actor=SYSTEM, thank=[person])
        assert service.member_of(cid, person, session=s).stage == "completed"


def test_the_overview_and_the_report_measure_contributions_alike(engine):
    """One definition: members' contributions linked to the campaign (a stranger's linked post is a
    deliverable, not a member's contribution)."""
    from crm.audit.service import SYSTEM
    from crm.campaigns import pages, report
    from crm.interactions import log
    from crm.interactions.models import InteractionIn

    member, stranger = make_profile(engine, "Kim").id, make_profile(engine, "Lou").id
    cid = make_campaign(engine).id
    add_member(engine, cid, member)
    with session_scope(engine, write=True) as s:
        for pid in (member, stranger):
            log.log_interaction(pid, InteractionIn(kind="post", campaign_id=cid, reach=100, engagements=5), session=s,
                                actor=SYSTEM)
        totals = pages.measured(cid, session=s)
        full = report.report(cid, session=s)
    assert (totals.contributions, totals.deliverables, totals.reach) == (1, 2, 200)
    assert (full.contributions, full.deliverables, full.reach) == (1, 2, 200)
