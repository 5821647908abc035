"""Saved views (HTML): save from the list, open, rename, update, delete; who sees and changes what;
and list exports (CSV/JSON) from the list, a selection and a saved view."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from crm.audit.models import AuditEvent
from crm.views.models import SavedView
from tests.factories import csrf_token, make_profile, make_user, sign_in, soup

HX = {"HX-Request": "true"}


@pytest.fixture
def other_client(app, engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A second browser, signed in as another manager."""
    make_user(engine, "other@example.com", role="manager", name="Otto Other")
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, "other@example.com")
        yield other


def _save(client: TestClient, name: str, list_query: str = "role=moderator&sort=reach&dir=desc", **extra: str):
    return client.post("/people/views", data={"name": name, "list_query": list_query, **extra})


def _views(engine) -> list[SavedView]:
    with Session(engine) as session:
        return list(session.exec(select(SavedView).order_by(col(SavedView.id))))


def _audit(engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))))


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


# ---- saving and opening -------------------------------------------------------------------------


def test_save_the_current_list_as_a_view_and_open_it(manager_client, engine):
    response = _save(manager_client, "Moderators by reach",
                     "q=ana&role=moderator&sort=reach&dir=desc&page=3&cols=reach,nonsense,status")
    assert response.status_code == 303
    (view,) = _views(engine)
    assert view.name == "Moderators by reach" and view.shared is False
    assert view.query == {"q": "ana", "role": "moderator", "sort": "reach", "order": "desc"}  # not the page
    assert view.columns == ["reach", "status"]  # those the list knows
    assert _query(response.headers["location"]) == {
        "q": ["ana"], "role": ["moderator"], "sort": ["reach"], "dir": ["desc"], "cols": ["reach,status"], "view": [str(view.id)]}

    opened = manager_client.get(f"/people/views/{view.id}")
    assert opened.status_code == 303
    assert urlsplit(opened.headers["location"]).path == "/people"
    assert _query(opened.headers["location"])["role"] == ["moderator"]
    (event,) = _audit(engine, "view.create")
    assert event.object_id == view.id and event.after["query"]["role"] == "moderator"


def test_opened_view_lists_the_same_people_as_its_filters(manager_client, engine):
    make_profile(engine, "Mora Moderator", roles=["moderator"])
    make_profile(engine, "Ivan Influencer", roles=["influencer"])
    _save(manager_client, "Mods", "role=moderator")
    (view,) = _views(engine)
    page = soup(manager_client.get(manager_client.get(f"/people/views/{view.id}").headers["location"]))
    assert [a.get_text(strip=True) for a in page.select("table.people-table a.person-link")] == ["Mora Moderator"]


def test_a_name_used_twice_is_a_field_error_not_a_500(manager_client, engine):
    assert _save(manager_client, "Mine").status_code == 303
    again = _save(manager_client, "MINE", "status=active")
    assert again.status_code == 422
    page = soup(again)
    assert "already" in page.select_one("#view-name-error").get_text()
    assert page.select_one("input#f-view-name")["value"] == "MINE"  # what was typed is kept
    assert page.select_one("input[name=list_query]")["value"] == "status=active"
    assert len(_views(engine)) == 1


def test_save_errors_as_fragment(manager_client):
    response = manager_client.post("/people/views", data={"name": "", "list_query": ""}, headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("nav.topbar, header.topbar") is None
    assert page.select_one("#view-name-error").get_text(strip=True) == "This field is required."


def test_a_stored_parameter_that_no_longer_validates_is_dropped_with_a_notice(manager_client, engine):
    _save(manager_client, "Old")
    with Session(engine) as session:
        view = session.exec(select(SavedView)).one()
        view.query = {"role": "astronaut", "status": "active", "retired_filter": "x"}
        session.add(view)
        session.commit()
        view_id = view.id
    opened = manager_client.get(f"/people/views/{view_id}")
    assert opened.status_code == 303
    assert _query(opened.headers["location"]) == {"status": ["active"], "view": [str(view_id)]}
    page = soup(manager_client.get(opened.headers["location"]))
    notice = page.select_one(".flash-error").get_text()
    assert "role" in notice and "retired_filter" in notice


# ---- who sees and changes what ------------------------------------------------------------------


def test_private_views_are_not_visible_to_others_shared_ones_are(manager_client, other_client, engine):
    _save(manager_client, "Private one")
    _save(manager_client, "Shared one", shared="on")
    private, shared = _views(engine)
    assert shared.shared is True and private.shared is False

    names = [a.get_text(strip=True) for a in soup(other_client.get("/people/views")).select("a.view-link")]
    assert names == ["Shared one"]
    assert other_client.get(f"/people/views/{private.id}").status_code == 404
    assert other_client.get(f"/people/views/{private.id}/export?format=csv").status_code == 404
    assert other_client.post(f"/people/views/{private.id}/delete").status_code == 404
    # Seen but not theirs: they may not change it.
    assert other_client.get(f"/people/views/{shared.id}").status_code == 303
    assert other_client.post(f"/people/views/{shared.id}", data={"name": "Hijacked"}).status_code == 403
    assert other_client.post(f"/people/views/{shared.id}/delete").status_code == 403
    assert other_client.post(f"/people/views/{shared.id}/query", data={"list_query": "status=active"}).status_code == 403
    assert [v.name for v in _views(engine)] == ["Private one", "Shared one"]
    mine = [a.get_text(strip=True) for a in soup(manager_client.get("/people/views")).select("a.view-link")]
    assert mine == ["Private one", "Shared one"]


def test_an_admin_may_change_someone_elses_shared_view(manager_client, app, engine):
    _save(manager_client, "Team view", shared="on")
    (view,) = _views(engine)
    make_user(engine, "boss@example.com", role="admin")
    with TestClient(app, follow_redirects=False) as boss:
        sign_in(boss, "boss@example.com")
        assert boss.post(f"/people/views/{view.id}", data={"name": "Renamed by admin", "shared": "on"}).status_code == 303
    assert _views(engine)[0].name == "Renamed by admin"


def test_viewers_save_private_views_but_cannot_share(viewer_client, engine):
    assert _save(viewer_client, "Just mine").status_code == 303
    refused = _save(viewer_client, "For everyone", shared="on")
    assert refused.status_code == 422
    assert "share" in soup(refused).select_one("#shared-error").get_text()
    assert [(v.name, v.shared) for v in _views(engine)] == [("Just mine", False)]
    # Their own view is theirs to rename and delete.
    (view,) = _views(engine)
    assert viewer_client.post(f"/people/views/{view.id}", data={"name": "Renamed"}).status_code == 303
    assert viewer_client.post(f"/people/views/{view.id}", data={"name": "Renamed", "shared": "on"}).status_code == 422
    assert viewer_client.post(f"/people/views/{view.id}/delete").status_code == 303
    assert _views(engine) == []


# ---- rename, update, delete ---------------------------------------------------------------------


def test_rename_update_to_current_filters_and_delete_with_confirmation(manager_client, engine):
    _save(manager_client, "First")
    _save(manager_client, "Second")
    first, second = _views(engine)

    form = soup(manager_client.get(f"/people/views/{first.id}/edit"))
    assert form.select_one("input#f-view-name")["value"] == "First"
    clash = manager_client.post(f"/people/views/{first.id}", data={"name": "Second"})
    assert clash.status_code == 422 and soup(clash).select_one("#view-name-error") is not None
    assert manager_client.post(f"/people/views/{first.id}", data={"name": "Renamed"}).status_code == 303

    updated = manager_client.post(f"/people/views/{first.id}/query", data={"list_query": "status=active&sort=updated&cols=owner"})
    assert updated.status_code == 303
    assert _query(updated.headers["location"])["status"] == ["active"]
    first = _views(engine)[0]
    assert first.name == "Renamed" and first.query == {"status": "active", "sort": "updated"} and first.columns == ["owner"]

    confirm = soup(manager_client.get(f"/people/views/{second.id}/delete"))
    assert confirm.select_one("h1").get_text(strip=True) == "Delete the view “Second”?"
    assert confirm.select_one(f"form[action='/people/views/{second.id}/delete'] button#confirm-delete") is not None
    fragment = soup(manager_client.get(f"/people/views/{second.id}/delete", headers=HX))
    assert fragment.select_one("header.topbar") is None and fragment.select_one("#confirm-delete") is not None
    assert manager_client.post(f"/people/views/{second.id}/delete").status_code == 303
    assert [v.name for v in _views(engine)] == ["Renamed"]
    assert [e.before["name"] for e in _audit(engine, "view.delete")] == ["Second"]
    assert len(_audit(engine, "view.update")) == 2


def test_views_page_full_fragment_and_empty(manager_client):
    empty = soup(manager_client.get("/people/views"))
    assert empty.select_one(".empty-state h2").get_text(strip=True) == "No saved views yet"
    assert empty.title.get_text() == "Saved views · Altavoz"
    _save(manager_client, "Mods")
    fragment = soup(manager_client.get("/people/views", headers=HX))
    assert fragment.select_one("header.topbar") is None
    assert [a.get_text(strip=True) for a in fragment.select("a.view-link")] == ["Mods"]
    assert fragment.select_one("td[data-label='Filters'] .chip").get_text(strip=True) == "role: moderator"


def test_the_bar_lists_views_and_offers_save_and_update(manager_client, engine):
    _save(manager_client, "Mods")
    (view,) = _views(engine)
    bar = soup(manager_client.get(f"/people/views/bar?status=active&dir=desc&view={view.id}", headers=HX))
    assert bar.select_one("header.topbar") is None
    assert [a.get_text(strip=True) for a in bar.select(".views-pick-list a[href^='/people/views/']")] == ["Mods"]
    assert bar.select_one("summary strong").get_text(strip=True) == "Mods"
    update = bar.select_one(f"form[action='/people/views/{view.id}/query']")
    assert parse_qs(update.select_one("input[name=list_query]")["value"]) == {"status": ["active"], "dir": ["desc"]}
    save = bar.select_one("form[action='/people/views']")
    assert save.select_one("input[name=name][required]") is not None
    assert save.select_one("input[name=shared]") is not None  # a manager may share
    # Without htmx, the bar is the views page.
    full = manager_client.get("/people/views/bar")
    assert full.status_code == 303 and full.headers["location"] == "/people/views"


def test_the_bar_hides_sharing_from_viewers(viewer_client):
    bar = soup(viewer_client.get("/people/views/bar", headers=HX))
    assert bar.select_one("form[action='/people/views'] input[name=shared]") is None


# ---- exports ------------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def test_export_csv_matches_the_lists_filters_on_every_page(manager_client, engine):
    for n in range(13):
        make_profile(engine, f"Mod {n:02d}", roles=["moderator"],
                     identities=[{"platform": "x", "handle": f"m{n}", "followers": n}])
    make_profile(engine, "Ivan Influencer", roles=["influencer"])
    response = manager_client.get("/people/export?format=csv&role=moderator&dir=desc&page=2")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="people.csv"'
    rows = _csv(response)
    assert len(rows) == 13  # every page, not the page shown
    assert sorted(r["name"] for r in rows) == [f"Mod {n:02d}" for n in range(13)]
    assert list(rows[0])[:2] == ["id", "name"]
    (event,) = _audit(engine, "export.list")
    assert event.after["count"] == 13 and event.after["format"] == "csv" and event.after["query"]["role"] == "moderator"


def test_export_json_with_chosen_columns(viewer_client, engine):
    owner = make_user(engine, "owner@example.com", role="manager")
    ana = make_profile(engine, "Ana", roles=["moderator"], tags=["vip"], language="es", owner_id=owner.id,
                       identities=[{"platform": "x", "handle": "@ana", "followers": 1200}])
    response = viewer_client.get("/people/export?format=json&cols=reach,tags,nonsense,identities,owner")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert json.loads(response.text) == [
        {"id": ana.id, "name": "Ana", "reach": 1200, "tags": ["vip"], "identities": ["x:ana"], "owner": "owner@example.com"}]
    default = json.loads(viewer_client.get("/people/export?format=json").text)
    assert list(default[0]) == ["id", "name", "roles", "identities", "reach", "score", "level", "contributions",
                                "last_activity", "consent", "status"]  # the list's default columns


def test_csv_export_escapes_formulas(manager_client, engine):
    make_profile(engine, "=HYPERLINK(\"http://evil.example\")", location="+34 Madrid", bio="x", tags=["@home"])
    make_profile(engine, "-2+3")
    make_profile(engine, "Plain Name", location="Madrid")
    rows = {r["location"]: r for r in _csv(manager_client.get("/people/export?format=csv&cols=name,location,tags"))}
    assert rows["'+34 Madrid"]["name"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows["'+34 Madrid"]["tags"] == "'@home"
    assert rows["Madrid"]["name"] == "Plain Name"
    assert rows[""]["name"] == "'-2+3"


def test_export_of_a_selection_and_of_a_saved_view(manager_client, engine):
    people = [make_profile(engine, f"P{n}", roles=["moderator"] if n % 2 else []) for n in range(5)]
    chosen = [people[1].id, people[4].id]
    response = manager_client.post("/people/export", data={"format": "csv", "scope": "selected",
                                                           "ids": [str(i) for i in chosen], "list_query": ""})
    assert response.status_code == 200
    assert [int(r["id"]) for r in _csv(response)] == sorted(chosen)
    nobody = manager_client.post("/people/export", data={"format": "csv", "scope": "selected",
                                                         "list_query": "role=moderator"}, follow_redirects=False)
    assert nobody.status_code == 303 and nobody.headers["location"] == "/people?role=moderator"  # the filters kept
    flash = soup(manager_client.get(nobody.headers["location"])).select_one(".flash-error")
    assert "Tick at least one person" in flash.get_text()
    everyone = manager_client.post("/people/export", data={"format": "json", "scope": "all", "ids": [str(chosen[0])],
                                                           "list_query": "role=moderator"})
    assert [r["id"] for r in json.loads(everyone.text)] == [people[1].id, people[3].id]

    _save(manager_client, "Mods", "role=moderator&cols=roles")
    (view,) = _views(engine)
    exported = manager_client.get(f"/people/views/{view.id}/export?format=csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="Mods.csv"'
    rows = _csv(exported)
    assert [r["name"] for r in rows] == ["P1", "P3"] and list(rows[0]) == ["id", "name", "roles"]
    assert _audit(engine, "export.list")[-1].after["view_id"] == view.id
    assert manager_client.get(f"/people/views/{view.id}/export?format=xls").status_code == 422


def test_list_urls_round_trip():
    from crm.profiles.search import ListQuery
    from crm.web.views import list_from_string, list_url, view_from_string

    url = list_url({"q": "ana lópez", "may_contact": True, "order": "desc", "reach_min": 1000}, ["reach", "status"], 7)
    assert url == "/people?q=ana+l%C3%B3pez&may_contact=true&dir=desc&reach_min=1000&cols=reach%2Cstatus&view=7"
    params, columns = list_from_string(url.partition("?")[2])
    assert params == ListQuery(q="ana lópez", may_contact=True, order="desc", reach_min=1000)
    assert columns == ["reach", "status"]
    # Unknown parameters and bad values are left out, as the list page does; a view keeps known columns only.
    params, columns = view_from_string("role=astronaut&status=active&csrf_token=x&page=2&cols=reach&cols=shoe")
    assert params == ListQuery(status="active") and columns == ["reach"]


def test_views_page_shows_views_with_numbers_and_yes_no_filters(manager_client):
    """A view holding numbers and booleans (reach, days, consent) is listed, not a 500."""
    token = csrf_token(manager_client, "/people")
    query = "role=moderator&language=es&reach_min=1001&activity=did_not&kind=post&days=60&may_contact=false"
    saved = manager_client.post("/people/views", data={"csrf_token": token, "name": "Quiet", "list_query": query})
    assert saved.status_code == 303
    page = manager_client.get("/people/views")
    assert page.status_code == 200
    chips = [c.get_text(" ", strip=True) for c in soup(page).select(".chip")]
    assert "reach_min: 1001" in chips and "days: 60" in chips and "may_contact: False" in chips
