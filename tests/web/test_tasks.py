"""Tasks: a campaign's tasks grouped by goal (add, edit, done with htmx, delete), "my tasks" across
campaigns with its filters, and the dashboard's overdue-tasks widget."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.campaigns.models import CampaignTask
from crm.db import utcnow
from tests.campaign_factories import HX, add_member, add_task, events, make_campaign
from tests.factories import make_profile, make_user, soup

TODAY = utcnow().date()


def _user_id(engine, email):
    with Session(engine) as session:
        return session.exec(select(User.id).where(User.email == email)).one()


def _task(engine, task_id) -> CampaignTask | None:
    with Session(engine) as session:
        return session.get(CampaignTask, task_id)


def test_a_campaigns_tasks_are_grouped_by_goal_with_overdue_ones_marked(manager_client, engine):
    campaign = make_campaign(engine, status="active")
    ana = make_profile(engine, "Ana")
    me = _user_id(engine, "manager@example.com")
    late = add_task(engine, campaign.id, "Send the brief", goal="Brief the members", owner_id=me,
                    due_on=TODAY - timedelta(days=2))
    add_task(engine, campaign.id, "Agree the fee", goal="Confirm ten members", due_on=TODAY + timedelta(days=3),
             profile_id=ana.id)
    add_task(engine, campaign.id, "Book a room")
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/tasks"))
    assert page.select_one(".campaign-tabs a[aria-current='page']").get_text(strip=True) == "Tasks"
    groups = [g.select_one("h2").contents[0].strip() for g in page.select(".task-group")]
    assert groups == ["Brief the members", "Confirm ten members", "Other tasks"]
    row = page.select_one(f"#task-{late.id}")
    assert "overdue" in row["class"]
    assert row.select_one(".overdue-label").get_text(strip=True) == "overdue"
    assert row.select_one(".task-owner").get_text(strip=True) == "Mona Manager"
    about = page.select_one(".task-about a")
    assert about["href"] == f"/people/{ana.id}" and about.get_text(strip=True) == "Ana"
    assert [o["value"] for o in page.select("#t-goals option")] == ["Brief the members", "Confirm ten members"]


def test_a_task_is_added_and_bad_input_keeps_the_values(manager_client, engine):
    campaign = make_campaign(engine)
    ana = make_profile(engine, "Ana")
    add_member(engine, campaign.id, ana.id)
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/tasks"))
    assert [o.get_text(strip=True) for o in page.select("#t-profile_id option")] == ["Nobody in particular", "Ana"]
    assert page.select_one("#no-tasks") is not None
    response = manager_client.post(f"/campaigns/{campaign.id}/tasks", headers=HX, data={
        "title": "Collect the links", "goal": "Report", "owner_id": "", "due_on": "2026-05-01", "profile_id": str(ana.id)})
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("html") is None
    assert fragment.select_one("#task-list .task-title").get_text(strip=True) == "Collect the links"
    bad = manager_client.post(f"/campaigns/{campaign.id}/tasks", data={
        "title": "", "goal": "Report", "owner_id": "", "due_on": "3000-01-01", "profile_id": ""})
    assert bad.status_code == 422
    form = soup(bad).select_one("#task-form")
    assert form.select_one("#t-goal")["value"] == "Report"
    assert form.select_one("#t-title")["aria-invalid"] == "true"
    assert form.select_one("#t-due_on")["value"] == "3000-01-01"
    assert form.select_one(".field-error") is not None
    with Session(engine) as session:
        assert [t.title for t in session.exec(select(CampaignTask))] == ["Collect the links"]


def test_ticking_a_task_done_swaps_its_row(manager_client, engine):
    campaign = make_campaign(engine)
    task = add_task(engine, campaign.id, "Send the brief", due_on=TODAY - timedelta(days=1))
    url = f"/campaigns/{campaign.id}/tasks/{task.id}/done"
    response = manager_client.post(url, headers=HX, data={"done": "true", "list": "campaign"})
    assert response.status_code == 200
    row = soup(response).select_one("tr")
    assert row["id"] == f"task-{task.id}" and "done" in row["class"] and "overdue" not in row["class"]
    assert row.select_one("input[type=checkbox]").has_attr("checked")
    assert row.select_one("input[name=done]")["value"] == "false"  # ticking again opens it
    assert _task(engine, task.id).done_at is not None
    again = manager_client.post(url, data={"done": "false", "next": f"/campaigns/{campaign.id}/tasks"})
    assert again.status_code == 303 and again.headers["location"] == f"/campaigns/{campaign.id}/tasks"
    assert _task(engine, task.id).done_at is None
    assert [e.after["done"] for e in events(engine, "campaign.task")][-2:] == [True, False]
    offsite = manager_client.post(url, data={"done": "true", "next": "https://evil.example/"})
    assert offsite.headers["location"] == f"/campaigns/{campaign.id}/tasks"


def test_a_task_is_edited_and_deleted(manager_client, engine):
    campaign = make_campaign(engine)
    task = add_task(engine, campaign.id, "Send the brief", goal="Brief")
    page = soup(manager_client.get(f"/campaigns/{campaign.id}/tasks/{task.id}/edit"))
    assert page.select_one("#te-title")["value"] == "Send the brief"
    fragment = manager_client.get(f"/campaigns/{campaign.id}/tasks/{task.id}/edit", headers=HX)
    assert soup(fragment).select_one("html") is None and soup(fragment).select_one("#task-edit-form") is not None
    bad = manager_client.post(f"/campaigns/{campaign.id}/tasks/{task.id}", data={"title": "", "goal": "Brief 2"})
    assert bad.status_code == 422
    assert soup(bad).select_one("#te-goal")["value"] == "Brief 2"
    saved = manager_client.post(f"/campaigns/{campaign.id}/tasks/{task.id}",
                                data={"title": "Send the brief today", "goal": "Brief", "due_on": "2026-04-01"})
    assert saved.status_code == 303
    assert _task(engine, task.id).title == "Send the brief today"
    gone = manager_client.post(f"/campaigns/{campaign.id}/tasks/{task.id}/delete", headers=HX)
    assert gone.status_code == 200 and soup(gone).select_one("#no-tasks") is not None
    assert _task(engine, task.id) is None


def test_a_viewer_sees_tasks_but_cannot_change_them(viewer_client, engine):
    campaign = make_campaign(engine)
    task = add_task(engine, campaign.id, "Send the brief")
    page = soup(viewer_client.get(f"/campaigns/{campaign.id}/tasks"))
    assert page.select_one(f"#task-{task.id}") is not None
    assert page.select_one("#task-form") is None and page.select_one(f"#task-{task.id} form") is None
    assert viewer_client.post(f"/campaigns/{campaign.id}/tasks/{task.id}/done", data={"done": "true"}).status_code == 403


# ---- my tasks ----------------------------------------------------------------------------------


def _three_tasks(engine):
    make_user(engine, "other@example.com", name="Olga Other")
    me, other = _user_id(engine, "manager@example.com"), _user_id(engine, "other@example.com")
    live = make_campaign(engine, "Observability week")
    mine = add_task(engine, live.id, "Mine, late", owner_id=me, due_on=TODAY - timedelta(days=1))
    theirs = add_task(engine, live.id, "Theirs, late", owner_id=other, due_on=TODAY - timedelta(days=3))
    nobodys = add_task(engine, live.id, "Nobody's", due_on=TODAY + timedelta(days=3))
    return live, mine, theirs, nobodys


def _titles(page):
    return [td.contents[0].strip() for td in page.select("td.task-title")]


def test_my_tasks_shows_mine_by_default_and_filters(manager_client, engine):
    live, mine, theirs, nobodys = _three_tasks(engine)
    page = soup(manager_client.get("/tasks"))
    assert _titles(page) == ["Mine, late"]
    assert page.select_one("td.task-title a")["href"] == f"/campaigns/{live.id}/tasks"
    assert page.select_one("title").get_text().startswith("My tasks")
    assert _titles(soup(manager_client.get("/tasks?whose=everyone"))) == ["Theirs, late", "Mine, late", "Nobody's"]
    assert _titles(soup(manager_client.get("/tasks?whose=unassigned"))) == ["Nobody's"]
    assert _titles(soup(manager_client.get("/tasks?whose=everyone&show=overdue"))) == ["Theirs, late", "Mine, late"]
    manager_client.post(f"/campaigns/{live.id}/tasks/{mine.id}/done", data={"done": "true"})
    assert _titles(soup(manager_client.get("/tasks"))) == []
    assert soup(manager_client.get("/tasks")).select_one("#no-tasks") is not None
    assert _titles(soup(manager_client.get("/tasks?show=done"))) == ["Mine, late"]


def test_my_tasks_as_fragment_and_the_done_box_keeps_its_place(manager_client, engine):
    live, mine, _, _ = _three_tasks(engine)
    fragment = manager_client.get("/tasks?whose=everyone", headers=HX)
    page = soup(fragment)
    assert page.select_one("html") is None and page.select_one("#task-results") is not None
    form = page.select_one(f"#task-{mine.id} form")
    assert form.select_one("input[name=list]")["value"] == "mine"
    assert form.select_one("input[name=next]")["value"] == "/tasks?whose=everyone"
    done = manager_client.post(form["action"], headers=HX, data={"done": "true", "list": "mine", "next": "/tasks"})
    assert soup(done).select_one("td.task-title a") is not None  # the campaign is named on "my tasks"
    plain = manager_client.post(form["action"], data={"done": "false", "list": "mine", "next": "/tasks?whose=everyone"})
    assert plain.headers["location"] == "/tasks?whose=everyone"


def test_the_campaigns_page_links_to_my_tasks(manager_client):
    # Not in the top bar: in Spanish a seventh item overflowed it at 1024 px (tests/browser/test_layout.py).
    page = soup(manager_client.get("/campaigns"))
    assert page.select_one("a#my-tasks-link")["href"] == "/tasks"


# ---- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_lists_overdue_tasks_mine_first(manager_client, engine):
    _three_tasks(engine)
    page = soup(manager_client.get("/"))
    widget = page.select_one("#overdue-tasks")
    assert widget.select_one(".count-badge").get_text(strip=True) == "2"
    items = widget.select("li")
    assert [li["class"][0] for li in items] == ["mine", "others"]
    assert [li.select_one("a").get_text(strip=True) for li in items] == ["Mine, late", "Theirs, late"]
    assert widget.select_one(".widget-more a")["href"] == "/tasks?whose=mine&show=overdue"


def test_the_dashboard_says_when_nothing_is_overdue(viewer_client, engine):
    campaign = make_campaign(engine)
    add_task(engine, campaign.id, "Not yet", due_on=TODAY + timedelta(days=1))
    widget = soup(viewer_client.get("/")).select_one("#overdue-tasks")
    assert widget.select_one(".empty-state").get_text(strip=True) == "No campaign task is overdue."
    assert widget.select_one(".count-badge") is None
