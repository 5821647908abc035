"""Campaign pages: the list (tabs, search, sort, empty state), the form (bad input keeps what was typed),
the overview (budget, KPIs against targets, pipeline counts, next tasks, status buttons), KPIs inline,
deletion with its confirmation, and the interaction form's "Campaign" select on a person's page."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from crm.audit.service import SYSTEM
from crm.campaigns import service
from crm.campaigns.models import Campaign, CampaignKpi
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction, InteractionIn
from tests.campaign_factories import HX, add_kpi, add_member, add_task, events, make_campaign
from tests.factories import make_profile, soup


def _campaign(engine, campaign_id) -> Campaign | None:
    with Session(engine) as session:
        return session.get(Campaign, campaign_id)


# ---- the list ----------------------------------------------------------------------------------


def test_an_empty_list_invites_a_writer_to_create_the_first_campaign(manager_client):
    page = soup(manager_client.get("/campaigns"))
    empty = page.select_one("#no-campaigns")
    assert empty is not None
    assert empty.select_one("a[href='/campaigns/new']").get_text(strip=True) == "Create your first campaign"
    assert page.select_one("#new-campaign")["href"] == "/campaigns/new"
    assert page.select_one("title").get_text().startswith("Campaigns")


def test_a_viewer_sees_the_list_without_the_buttons_to_create(viewer_client):
    page = soup(viewer_client.get("/campaigns"))
    assert page.select_one("#no-campaigns") is not None
    assert page.select_one("#new-campaign") is None
    assert page.select_one("a[href='/campaigns/new']") is None


def test_the_list_shows_counts_and_filters_by_status_and_name(manager_client, engine):
    live = make_campaign(engine, "Observability week", status="active", starts_on=date(2026, 3, 1))
    done = make_campaign(engine, "Kubernetes cost clinic", status="completed")
    old = make_campaign(engine, "Old launch", status="archived")
    ana, bea = make_profile(engine, "Ana"), make_profile(engine, "Bea")
    add_member(engine, live.id, ana.id, stage="confirmed")
    add_member(engine, live.id, bea.id)
    add_task(engine, live.id, "Late one", due_on=utcnow().date() - timedelta(days=2))
    add_task(engine, live.id, "Later one", due_on=utcnow().date() + timedelta(days=2))

    page = soup(manager_client.get("/campaigns"))
    rows = page.select("tr.campaign-row")
    assert [r.select_one(".campaign-name").get_text(strip=True) for r in rows] == ["Observability week"]
    row = page.select_one(f"#campaign-{live.id}")
    assert row.select_one(".members").get_text(" ", strip=True).startswith("2")
    assert "1 taking part" in row.select_one(".members").get_text(" ", strip=True)
    assert row.select_one(".tasks .overdue").get_text(strip=True) == "1 overdue"
    assert page.select_one(".filter-tabs a[aria-current='true']").get_text(strip=True) == "Not finished"

    completed = soup(manager_client.get("/campaigns?show=completed"))
    assert [a.get_text(strip=True) for a in completed.select(".campaign-name")] == ["Kubernetes cost clinic"]
    everything = soup(manager_client.get("/campaigns?show=all&sort=name"))
    assert [a.get_text(strip=True) for a in everything.select(".campaign-name")] == [
        "Kubernetes cost clinic", "Observability week", "Old launch"]
    archived = soup(manager_client.get("/campaigns?show=archived"))
    assert [a["href"] for a in archived.select(".campaign-name")] == [f"/campaigns/{old.id}"]
    searched = soup(manager_client.get("/campaigns?show=all&q=KUBER"))
    assert [a["href"] for a in searched.select(".campaign-name")] == [f"/campaigns/{done.id}"]
    nothing = soup(manager_client.get("/campaigns?q=nothing-like-it"))
    assert "No campaigns match." in nothing.select_one(".empty-state").get_text()


def test_the_list_as_an_htmx_fragment_is_only_the_results(manager_client, engine):
    make_campaign(engine, "Observability week")
    response = manager_client.get("/campaigns?show=all", headers=HX)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None and page.select_one("header") is None
    assert page.select_one("#campaign-list .campaign-name").get_text(strip=True) == "Observability week"
    assert response.headers["Vary"] == "HX-Request"


def test_a_bad_tab_or_sort_falls_back_to_the_defaults(manager_client, engine):
    make_campaign(engine, "Observability week")
    response = manager_client.get("/campaigns?show=nonsense&sort=nonsense")
    assert response.status_code == 200
    assert soup(response).select_one(".filter-tabs a[aria-current='true']").get_text(strip=True) == "Not finished"


# ---- the form ----------------------------------------------------------------------------------


def _form_data(**changes):
    data = {"name": "Observability week", "status": "planning", "objective": "Fifty teams on a trial",
            "brief": "Post about how you watch production.", "topics": "Observability, devops",
            "keywords": "alerts, on-call", "starts_on": "2026-03-01", "ends_on": "2026-03-31", "budget": "5,000.50",
            "currency": "eur", "target_reach": "150K", "owner_id": ""}
    data.update(changes)
    return data


def test_a_new_campaign_is_created_from_the_form(manager_client, engine):
    page = soup(manager_client.get("/campaigns/new"))
    form = page.select_one("form#campaign-form")
    assert form["action"] == "/campaigns"
    assert form.select_one("#f-status option[selected]")["value"] == "draft"
    owner = form.select_one("#f-owner_id option[selected]")
    assert owner is not None and "Mona Manager" in owner.get_text()

    response = manager_client.post("/campaigns", data=_form_data())
    assert response.status_code == 303
    campaign_id = int(response.headers["location"].rsplit("/", 1)[1])
    saved = _campaign(engine, campaign_id)
    assert saved.name == "Observability week" and saved.status == "planning"
    assert saved.topics == ["observability", "devops"] and saved.keywords == ["alerts", "on-call"]
    assert saved.budget == 5000.5 and saved.currency == "EUR" and saved.target_reach == 150_000
    assert saved.starts_on == date(2026, 3, 1) and saved.ends_on == date(2026, 3, 31)
    assert [e.object_id for e in events(engine, "campaign.create")] == [campaign_id]


def test_bad_input_comes_back_with_what_was_typed_and_a_message_per_field(manager_client, engine):
    response = manager_client.post("/campaigns", data=_form_data(name="", ends_on="2026-02-01", budget="-5",
                                                                 target_reach="lots"))
    assert response.status_code == 422
    form = soup(response).select_one("form#campaign-form")
    assert form.select_one("#name-error").get_text(strip=True) == "This field is required."
    assert form.select_one("#budget-error").get_text(strip=True)
    assert form.select_one("#f-budget")["aria-invalid"] == "true"
    assert form.select_one("#target_reach-error") is not None
    assert form.select_one("#f-objective").get_text() == "Fifty teams on a trial"
    assert form.select_one("#f-topics")["value"] == "Observability, devops"
    assert form.select_one("#f-budget")["value"] == "-5"
    assert form.select_one("#f-status option[selected]")["value"] == "planning"
    with Session(engine) as session:
        assert service.list_campaigns(session=session, include_archived=True) == []


def test_an_end_before_the_start_is_refused_on_the_end_date(manager_client):
    response = manager_client.post("/campaigns", data=_form_data(ends_on="2026-02-01"), headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("html") is None
    assert page.select_one("#ends_on-error").get_text(strip=True) == "The end cannot be before the start."
    assert page.select_one("#f-ends_on")["value"] == "2026-02-01"


def test_an_unreadable_budget_says_so(manager_client):
    response = manager_client.post("/campaigns", data=_form_data(budget="a lot"))
    assert response.status_code == 422
    assert soup(response).select_one("#budget-error").get_text(strip=True) == "Enter a number, like 1500."


def test_editing_shows_the_saved_values_and_saves_changes(manager_client, engine):
    campaign = make_campaign(engine, "Observability week", topics=["observability"], budget=5000, target_reach=1000)
    form = soup(manager_client.get(f"/campaigns/{campaign.id}/edit")).select_one("form#campaign-form")
    assert form["action"] == f"/campaigns/{campaign.id}"
    assert form.select_one("#f-name")["value"] == "Observability week"
    assert form.select_one("#f-budget")["value"] == "5000"
    assert form.select_one("#f-topics")["value"] == "observability"
    response = manager_client.post(f"/campaigns/{campaign.id}", data=_form_data(name="Observability month"))
    assert response.status_code == 303 and response.headers["location"] == f"/campaigns/{campaign.id}"
    assert _campaign(engine, campaign.id).name == "Observability month"
    refused = manager_client.post(f"/campaigns/{campaign.id}", data=_form_data(name="", budget="-1"))
    assert refused.status_code == 422
    assert soup(refused).select_one("form#campaign-form")["action"] == f"/campaigns/{campaign.id}"
    assert _campaign(engine, campaign.id).name == "Observability month"


def test_a_viewer_cannot_create_or_edit(viewer_client, engine):
    campaign = make_campaign(engine)
    assert viewer_client.get("/campaigns/new").status_code == 403
    assert viewer_client.post("/campaigns", data=_form_data()).status_code == 403
    assert viewer_client.post(f"/campaigns/{campaign.id}", data=_form_data(name="X")).status_code == 403
    assert _campaign(engine, campaign.id).name == "Observability week"


# ---- the overview ------------------------------------------------------------------------------


def _with_deliverables(engine):
    campaign = make_campaign(engine, "Observability week", status="active", budget=2000, target_reach=50_000,
                             objective="Fifty teams on a trial")
    ana, bea, cai = make_profile(engine, "Ana"), make_profile(engine, "Bea"), make_profile(engine, "Cai")
    add_member(engine, campaign.id, ana.id, stage="content_live", fee=700)
    add_member(engine, campaign.id, bea.id, stage="confirmed", fee=500)
    add_member(engine, campaign.id, cai.id, stage="negotiating", fee=900)  # not taking part: not spent
    with session_scope(engine, write=True) as session:
        for reach, engagements in ((12_000, 400), (8_000, 100)):
            service.log_for_campaign(campaign.id, ana.id, InteractionIn(kind="post", reach=reach, engagements=engagements),
                                     session=session, actor=SYSTEM)
        service.log_for_campaign(campaign.id, bea.id, InteractionIn(kind="outreach_email", title="Hi", contact_anyway=True),
                                 session=session, actor=SYSTEM)
    add_kpi(engine, campaign.id, metric="reach", target=40_000)
    add_kpi(engine, campaign.id, metric="custom", label="Teams on a trial", target=50, actual=12)
    add_task(engine, campaign.id, "Send the brief", due_on=utcnow().date() - timedelta(days=1))
    return campaign


def test_the_overview_shows_budget_kpis_pipeline_and_tasks(manager_client, engine):
    campaign = _with_deliverables(engine)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}"))
    assert page.select_one("h1").get_text(" ", strip=True).startswith("Observability week")
    assert page.select_one(".campaign-tabs a[aria-current='page']")["href"] == f"/campaigns/{campaign.id}"
    assert page.select_one("#budget-spent").get_text(" ", strip=True).startswith("1,200 EUR")
    assert page.select_one("#budget-remaining").get_text(" ", strip=True).startswith("800 EUR")
    assert page.select_one("#reach-so-far").get_text(" ", strip=True).startswith("20,000")
    rows = page.select("#kpis tr.kpi-row")
    assert [r.select_one(".kpi-name").get_text(" ", strip=True) for r in rows] == ["Reach measured", "Teams on a trial"]
    assert [r.select_one(".kpi-actual").get_text(strip=True) for r in rows] == ["20,000", "12"]
    assert rows[0].select_one(".kpi-progress").get_text(strip=True) == "50%"
    assert rows[0].select_one("progress")["value"] == "50"
    counts = {li["class"][0]: li.select_one(".stage-count").get_text(strip=True) for li in page.select(".stage-bars li")}
    assert counts["stage-content_live"] == "1" and counts["stage-confirmed"] == "1" and counts["stage-candidate"] == "0"
    assert page.select_one("#next-tasks li.overdue").get_text(" ", strip=True).startswith("Send the brief")
    assert page.select_one("#complete-link")["href"] == f"/campaigns/{campaign.id}/complete"
    assert page.select_one("#edit-campaign")["href"] == f"/campaigns/{campaign.id}/edit"


def test_an_over_budget_campaign_says_so(manager_client, engine):
    campaign = make_campaign(engine, budget=100)
    add_member(engine, campaign.id, make_profile(engine, "Ana").id, stage="confirmed", fee=250)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}"))
    assert "over-budget" in page.select_one("#budget-remaining")["class"]


def test_a_viewer_sees_the_overview_without_changing_buttons(viewer_client, engine):
    campaign = _with_deliverables(engine)
    page = soup(viewer_client.get(f"/campaigns/{campaign.id}"))
    assert page.select("#kpis tr.kpi-row")
    assert page.select_one("#status-actions") is None and page.select_one("#kpi-form") is None


def test_a_missing_campaign_is_a_404(manager_client):
    assert manager_client.get("/campaigns/999999").status_code == 404


def test_status_buttons_move_the_campaign_along_and_are_audited(manager_client, engine):
    campaign = make_campaign(engine, status="draft")
    page = soup(manager_client.get(f"/campaigns/{campaign.id}"))
    assert [b["data-status"] for b in page.select("#status-actions button[data-status]")] == ["planning", "active"]
    response = manager_client.post(f"/campaigns/{campaign.id}/status", data={"status": "active"})
    assert response.status_code == 303
    assert _campaign(engine, campaign.id).status == "active"
    assert events(engine, "campaign.update")[-1].after == {"status": "active"}
    assert manager_client.post(f"/campaigns/{campaign.id}/status", data={"status": "nonsense"}).status_code == 422
    assert _campaign(engine, campaign.id).status == "active"


def test_an_archived_campaign_says_so_and_offers_no_kpi_form(manager_client, engine):
    campaign = make_campaign(engine, status="archived")
    page = soup(manager_client.get(f"/campaigns/{campaign.id}"))
    assert "archived" in page.select_one("main .flash-error").get_text()
    assert page.select_one("#kpi-form") is None
    assert [b["data-status"] for b in page.select("#status-actions button[data-status]")] == ["completed"]


# ---- KPIs --------------------------------------------------------------------------------------


def _kpis(engine, campaign_id):
    with Session(engine) as session:
        return service.kpis(campaign_id, session=session)


def test_a_kpi_is_added_inline_with_htmx(manager_client, engine):
    campaign = make_campaign(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/kpis", headers=HX,
                                   data={"metric": "signups", "label": "", "target": "1,000", "actual": "120"})
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None
    row = page.select_one("section#kpis tr.kpi-row")
    assert row.select_one(".kpi-name").get_text(strip=True) == "Sign-ups"
    assert row.select_one(".kpi-target").get_text(strip=True) == "1,000"
    assert [(k.metric, k.target, k.actual) for k in _kpis(engine, campaign.id)] == [("signups", 1000.0, 120.0)]


def test_a_refused_kpi_comes_back_with_its_values_and_messages(manager_client, engine):
    campaign = make_campaign(engine)
    response = manager_client.post(f"/campaigns/{campaign.id}/kpis", headers=HX,
                                   data={"metric": "custom", "label": "", "target": "50", "actual": ""})
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#kn-label").parent.select_one(".field-error").get_text(strip=True) == "Name the custom KPI."
    assert page.select_one("#kn-target")["value"] == "50"
    assert page.select_one("details.add-kpi").has_attr("open")
    measured = manager_client.post(f"/campaigns/{campaign.id}/kpis", data={"metric": "reach", "target": "10", "actual": "5"})
    assert measured.status_code == 422
    assert "measured" in soup(measured).select_one("#kn-actual").parent.select_one(".field-error").get_text()
    no_target = manager_client.post(f"/campaigns/{campaign.id}/kpis", data={"metric": "reach", "target": ""})
    assert no_target.status_code == 422
    assert _kpis(engine, campaign.id) == []


def test_a_kpi_is_edited_and_deleted(manager_client, engine):
    campaign = make_campaign(engine)
    kpi = add_kpi(engine, campaign.id, metric="signups", target=80, actual=10)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}"))
    assert page.select_one(f"#k{kpi.id}-target")["value"] == "80"
    response = manager_client.post(f"/campaigns/{campaign.id}/kpis/{kpi.id}",
                                   data={"metric": "signups", "target": "100", "actual": "42"})
    assert response.status_code == 303 and response.headers["location"] == f"/campaigns/{campaign.id}#kpis"
    assert [(k.target, k.actual) for k in _kpis(engine, campaign.id)] == [(100.0, 42.0)]
    bad = manager_client.post(f"/campaigns/{campaign.id}/kpis/{kpi.id}", headers=HX,
                              data={"metric": "signups", "target": "-3", "actual": "42"})
    assert bad.status_code == 422
    assert soup(bad).select_one(f"#kpi-{kpi.id} details").has_attr("open")
    assert soup(bad).select_one(f"#k{kpi.id}-target")["value"] == "-3"
    gone = manager_client.post(f"/campaigns/{campaign.id}/kpis/{kpi.id}/delete", headers=HX)
    assert gone.status_code == 200 and soup(gone).select_one("tr.kpi-row") is None
    with Session(engine) as session:
        assert session.get(CampaignKpi, kpi.id) is None
    assert len(events(engine, "campaign.kpi")) == 3


# ---- deleting ----------------------------------------------------------------------------------


def test_deleting_asks_first_and_says_what_goes(manager_client, engine):
    campaign = _with_deliverables(engine)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/delete"))
    impact = [li.get_text(strip=True) for li in page.select("ul.impact li")]
    assert impact == ["3 people in its pipeline", "1 task", "2 KPIs"]
    assert page.select_one("form[action$='/delete'] #confirm-delete") is not None
    response = manager_client.post(f"/campaigns/{campaign.id}/delete")
    assert response.status_code == 303 and response.headers["location"] == "/campaigns"
    assert _campaign(engine, campaign.id) is None
    with Session(engine) as session:  # linked interactions stay, unlinked
        assert len(session.exec(select(Interaction)).all()) == 3
    assert events(engine, "campaign.delete")[-1].before["members"] == 3


# ---- the interaction form on a person's page ---------------------------------------------------


def test_the_log_form_offers_open_campaigns_and_links_the_interaction(manager_client, engine):
    live = make_campaign(engine, "Observability week", status="active")
    make_campaign(engine, "Finished one", status="completed")
    ana = make_profile(engine, "Ana", may_contact=True)
    page = soup(manager_client.get(f"/people/{ana.id}"))
    options = [o.get_text(strip=True) for o in page.select("select[name=campaign_id] option")]
    assert options == ["None", "Observability week"]
    response = manager_client.post(f"/people/{ana.id}/interactions",
                                   data={"kind": "outreach_email", "title": "Would you join?", "campaign_id": str(live.id)})
    assert response.status_code == 303
    with Session(engine) as session:
        assert service.outreach_log(live.id, ana.id, session=session)[0].title == "Would you join?"


def test_editing_an_interaction_keeps_its_closed_campaign_as_a_choice(manager_client, engine):
    done = make_campaign(engine, "Finished one", status="active")
    ana = make_profile(engine, "Ana")
    with session_scope(engine, write=True) as session:
        item = service.log_for_campaign(done.id, ana.id, InteractionIn(kind="post", title="My post"),
                                        session=session, actor=SYSTEM)
        service.update_campaign(done.id, service.CampaignIn(name="Finished one", status="completed"), session=session,
                                actor=SYSTEM)
    page = soup(manager_client.get(f"/people/{ana.id}/interactions/{item.id}/edit"))
    chosen = page.select_one("select[name=campaign_id] option[selected]")
    assert chosen is not None and chosen.get_text(strip=True) == "Finished one"
