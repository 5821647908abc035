"""Bulk actions (HTML): choose, review (how many will change), apply; writers only; all or nothing;
one audit event per person changed. And the two partials the people list includes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.profiles.models import Profile
from crm.profiles.search import ListQuery, list_profiles
from tests.factories import make_profile, make_user, soup

HX = {"HX-Request": "true"}


def _profiles(engine) -> dict[str, Profile]:
    with Session(engine) as session:
        return {p.display_name: p for p in session.exec(select(Profile))}


def _bulk_events(engine) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "profile.bulk_update").order_by(col(AuditEvent.object_id))
        return list(session.exec(query))


def _people(engine, n: int = 4) -> list[Profile]:
    return [make_profile(engine, f"Person {i}", roles=["moderator"] if i % 2 else ["customer"], tags=["old"] if i == 1 else [])
            for i in range(n)]


def _selected(*profiles: Profile, **extra: str) -> dict:
    return {"scope": "selected", "ids": [str(p.id) for p in profiles], "list_query": "", **extra}


def test_add_a_tag_to_the_selected_people_in_three_steps(manager_client, engine):
    people = _people(engine)
    chosen = _selected(people[0], people[1], people[2])

    start = soup(manager_client.post("/people/bulk", data=chosen))
    assert start.select_one("h1").get_text(strip=True) == "Change 3 people"
    assert [i["value"] for i in start.select("form[action='/people/bulk/review'] input[name=ids]")] == [
        str(p.id) for p in people[:3]]

    review = manager_client.post("/people/bulk/review", data={**chosen, "action": "add_tag", "tag": "  Old "})
    assert review.status_code == 200
    page = soup(review)
    # "old" is already on person 1: two of the three will change, and the page says so before anything changes.
    assert page.select_one(".bulk-count-will-change strong").get_text(strip=True) == "2 people will change"
    assert page.select_one("#confirm-bulk").get_text(strip=True) == "Change 2 people"
    assert page.select_one("form[action='/people/bulk/apply'] input[name=tag]")["value"] == "old"
    assert _bulk_events(engine) == []

    applied = manager_client.post("/people/bulk/apply", data={**chosen, "action": "add_tag", "tag": "old"})
    assert applied.status_code == 303 and applied.headers["location"] == "/people"
    after = _profiles(engine)
    assert [after[f"Person {i}"].tags for i in range(4)] == [["old"], ["old"], ["old"], []]
    events = _bulk_events(engine)
    assert [(e.object_id, e.before, e.after) for e in events] == [
        (people[0].id, {"tags": []}, {"tags": ["old"]}), (people[2].id, {"tags": []}, {"tags": ["old"]})]
    assert events[0].subject == "manager@example.com"
    # The search text follows the tags (it is derived from them).
    assert "old" in after["Person 0"].search_text


def test_all_matching_the_filters_set_status_and_owner(manager_client, engine):
    people = _people(engine, 5)
    owner = make_user(engine, "owner@example.com", role="manager", name="Olga Owner")
    scope = {"scope": "all", "list_query": "role=moderator&dir=desc&page=2"}
    start = soup(manager_client.post("/people/bulk", data=scope))
    assert start.select_one("h1").get_text(strip=True) == "Change 2 people"
    review = soup(manager_client.post("/people/bulk/review", data={**scope, "action": "set_status", "status": "active"}))
    assert review.select_one(".bulk-count-will-change strong").get_text(strip=True) == "2 people will change"
    for change in ({"action": "set_status", "status": "active"}, {"action": "set_owner", "owner_id": str(owner.id)}):
        assert manager_client.post("/people/bulk/apply", data={**scope, **change}).status_code == 303
    after = _profiles(engine)
    assert {name: (p.status, p.owner_id) for name, p in after.items()} == {
        "Person 0": ("prospect", None), "Person 1": ("active", owner.id), "Person 2": ("prospect", None),
        "Person 3": ("active", owner.id), "Person 4": ("prospect", None)}
    assert len(_bulk_events(engine)) == 4
    assert {e.object_id for e in _bulk_events(engine)} == {people[1].id, people[3].id}


def test_remove_a_tag(manager_client, engine):
    people = _people(engine)
    data = {**_selected(*people), "action": "remove_tag", "tag": "old"}
    review = soup(manager_client.post("/people/bulk/review", data=data))
    assert review.select_one(".bulk-count-will-change strong").get_text(strip=True) == "1 person will change"
    manager_client.post("/people/bulk/apply", data=data)
    assert all(p.tags == [] for p in _profiles(engine).values())


@pytest.mark.parametrize("change,field", [
    ({"action": "set_owner", "owner_id": "999"}, "owner_id"),
    ({"action": "set_status", "status": "famous"}, "status"),
    ({"action": "add_tag", "tag": ""}, "tag"),
    ({"action": "add_tag", "tag": "x" * 51}, "tag"),
    ({"action": "explode"}, "action"),
])
def test_a_change_that_fails_validation_changes_nothing(manager_client, engine, change, field):
    people = _people(engine)
    before = {name: (p.tags, p.status, p.owner_id, p.updated_at) for name, p in _profiles(engine).items()}
    for step in ("/people/bulk/review", "/people/bulk/apply"):
        response = manager_client.post(step, data={**_selected(*people), **change})
        assert response.status_code == 422, step
        page = soup(response)
        assert page.select_one(f"#{field.replace('_', '_')}-error, #{field}-error") is not None, page.select(".field-error")
        assert page.select_one("form[action='/people/bulk/review']") is not None  # the form again, values kept
    after = {name: (p.tags, p.status, p.owner_id, p.updated_at) for name, p in _profiles(engine).items()}
    assert after == before
    assert _bulk_events(engine) == []


def test_an_error_midway_leaves_nothing_half_changed(manager_client, engine, monkeypatch):
    """More people than one batch; the audit insert of the second batch fails: the first batch's
    changes are rolled back with it."""
    from crm.views import bulk

    people = _people(engine, 5)
    monkeypatch.setattr(bulk, "BATCH", 2)
    calls = {"n": 0}
    real = bulk.stats.refresh_on_connection

    def failing(conn, ids):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        real(conn, ids)

    monkeypatch.setattr(bulk.stats, "refresh_on_connection", failing)
    with pytest.raises(RuntimeError):
        manager_client.post("/people/bulk/apply", data={**_selected(*people), "action": "add_tag", "tag": "new"})
    assert calls["n"] == 2
    assert all("new" not in p.tags for p in _profiles(engine).values())
    assert _bulk_events(engine) == []


def test_viewers_cannot_change_in_bulk(viewer_client, engine):
    people = _people(engine)
    data = {**_selected(*people), "action": "add_tag", "tag": "x"}
    for step in ("/people/bulk", "/people/bulk/review", "/people/bulk/apply"):
        assert viewer_client.post(step, data=data).status_code == 403
    assert _bulk_events(engine) == []


def test_nobody_selected_is_explained(manager_client, engine):
    _people(engine)
    response = manager_client.post("/people/bulk", data={"scope": "selected", "list_query": ""})
    assert response.status_code == 422
    assert "Tick at least one person" in response.text
    empty = soup(manager_client.post("/people/bulk", data={"scope": "all", "list_query": "q=nobody-at-all"}))
    assert empty.select_one(".empty-state h2").get_text(strip=True) == "Nobody to change"


def test_bulk_steps_as_fragments(manager_client, engine):
    people = _people(engine)
    start = soup(manager_client.post("/people/bulk", data=_selected(people[0]), headers=HX))
    assert start.select_one("header.topbar") is None and start.select_one("h1").get_text(strip=True) == "Change 1 person"
    review = soup(manager_client.post("/people/bulk/review", data={**_selected(people[0]), "action": "set_status",
                                                                     "status": "inactive"}, headers=HX))
    assert review.select_one("header.topbar") is None and review.select_one("#confirm-bulk") is not None
    full = soup(manager_client.post("/people/bulk", data=_selected(people[0])))
    assert full.select_one("header.topbar") is not None


# ---- the partials the people list includes ---------------------------------------------------------


def _render(app, engine, name: str, user_role: str, query: str = "role=moderator") -> object:
    people = _people(engine)
    params = ListQuery(role="moderator")
    with Session(engine) as session:
        listing = list_profiles(params, session=session)
    user = SimpleNamespace(can_write=user_role != "viewer", is_admin=False)
    request = SimpleNamespace(url=SimpleNamespace(query=query))
    html = app.state.templates.env.get_template(name).render(
        params=params, listing=listing, current_user=user, csrf_token="tok", request=request)
    return soup(html), people


def test_bulk_bar_partial(app, engine):
    page, _ = _render(app, engine, "views/_bulk_bar.html", "manager")
    form = page.select_one("form#bulk-form[method=post][action='/people/bulk']")
    assert form.select_one("input[name=csrf_token]")["value"] == "tok"
    assert form.select_one("input[name=list_query]")["value"] == "role=moderator"
    assert form.select_one("input[name=scope][value=all]").parent.get_text(strip=True) == "All 2 matching"
    assert [o["value"] for o in form.select("select[name=action] option")] == ["add_tag", "remove_tag", "set_owner", "set_status"]
    assert [b["value"] for b in form.select("button[formaction='/people/export']")] == ["csv", "json"]
    viewer, _ = _render(app, engine, "views/_bulk_bar.html", "viewer")
    assert viewer.select_one("select[name=action]") is None
    assert viewer.select_one("button[formaction='/people/export']") is not None


def test_views_bar_partial_loads_the_bar_with_the_lists_parameters(app, engine):
    page, _ = _render(app, engine, "views/_bar.html", "manager", "role=moderator&dir=desc")
    bar = page.select_one("#views-bar")
    assert bar["hx-get"] == "/people/views/bar?role=moderator&dir=desc" and bar["hx-trigger"] == "revealed"
    assert bar.select_one("a[href='/people/views']") is not None  # without script


def test_the_people_page_includes_the_bars(manager_client, engine):
    people = _people(engine)
    page = soup(manager_client.get("/people?role=moderator&dir=desc"))
    bar = page.select_one("#views-bar")
    assert bar["hx-get"].startswith("/people/views/bar?") and "role=moderator" in bar["hx-get"]
    form = page.select_one("form#bulk-form")
    assert "role=moderator" in form.select_one("input[name=list_query]")["value"]
    boxes = page.select("input[name=ids][form=bulk-form]")
    assert sorted(int(b["value"]) for b in boxes) == sorted(p.id for p in people if "moderator" in p.roles)
    fragment = soup(manager_client.get("/people?role=moderator", headers=HX))
    assert fragment.select_one("form#bulk-form") is not None  # refreshed with the results
    # The selection the page's checkboxes send goes through the three steps.
    chosen = {"scope": "selected", "ids": [b["value"] for b in boxes], "list_query": "role=moderator"}
    assert soup(manager_client.post("/people/bulk", data=chosen)).select_one("h1").get_text(strip=True) == "Change 2 people"
