"""The people page as a segment builder (filters, chips, columns, sort, empty state), the header's global
search, and the API list's filters — full pages and htmx fragments, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.profiles import stats
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _names(page) -> list[str]:
    return [a.get_text(strip=True) for a in page.select("table.people-table a.person-link")]


def _ident(platform: str, handle: str, followers: int = 0) -> dict:
    return {"platform": platform, "handle": handle, "followers": followers}


def _people(engine) -> None:
    make_profile(engine, "Lucía Gómez", roles=["moderator"], language="es", location="Madrid", may_contact=True,
                 bio="Kubernetes operator", identities=[_ident("discourse", "lucia", 2500)])
    make_profile(engine, "Bruno Díaz", roles=["moderator"], language="en", location="London",
                 identities=[_ident("discourse", "bruno", 300)])
    make_profile(engine, "Carla Gil", roles=["influencer"], language="es", location="Sevilla",
                 identities=[_ident("youtube", "carla", 90000)])


def test_the_filter_panel_finds_spanish_moderators_with_reach(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/people?role=moderator&language=es&platform=discourse&followers_min=1000"))
    assert _names(page) == ["Lucía Gómez"]
    assert page.select_one("#f-role option[selected]")["value"] == "moderator"
    assert page.select_one("#f-language")["value"] == "es"
    assert page.select_one("#f-followers_min")["value"] == "1000"
    assert page.select_one("details.filter-panel").has_attr("open")
    assert page.select_one(".result-count").get_text(" ", strip=True).startswith("1 person")
    # Phones: the panel is a disclosure, closed when no filter is in use.
    assert not soup(manager_client.get("/people")).select_one("details.filter-panel").has_attr("open")


def test_active_filters_are_chips_that_remove_themselves(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/people?role=moderator&language=es&sort=reach&dir=desc"))
    chips = page.select(".active-filters li.filter-chip")
    assert [c.select_one("span").get_text(" ", strip=True) for c in chips] == ["Role: Moderator", "Language: es"]
    remove_language = chips[1].select_one("a.remove")
    assert remove_language["aria-label"] == "Remove filter: Language"
    query = parse_qs(urlsplit(remove_language["href"]).query)
    assert query == {"role": ["moderator"], "sort": ["reach"], "dir": ["desc"]}
    assert _names(soup(manager_client.get(remove_language["href"]))) == ["Lucía Gómez", "Bruno Díaz"]


def test_the_activity_chip_names_what_and_when(manager_client, engine):
    ana = make_profile(engine, "Ana")
    make_profile(engine, "Bea")
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=ana.id, kind="post", occurred_at=utcnow() - timedelta(days=3)))
        session.flush()
        stats.refresh([ana.id], session=session)
    page = soup(manager_client.get("/people?kind=post&days=60&activity=did_not"))
    assert _names(page) == ["Bea"]
    chip = page.select_one(".active-filters li.filter-chip")
    assert chip.select_one("span").get_text(" ", strip=True) == "Did not: Post in the last 60 days"
    assert chip.select_one("a.remove")["href"] == "/people?sort=name&dir=asc"
    row = soup(manager_client.get("/people?q=ana")).select_one("table.people-table tbody tr")
    assert row.select_one("td[data-col=last_activity] time") is not None
    assert row.select_one("td[data-col=contributions]").get_text(strip=True) == "1"


def test_the_empty_state_says_which_filters_to_loosen(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/people?role=journalist&language=es"))
    assert page.select_one(".empty-state h2").get_text(strip=True) == "Nobody matches"
    links = page.select(".empty-state ul.loosen a")
    assert [a.get_text(strip=True) for a in links] == ["Remove “Role”", "Remove “Language”"]
    assert _names(soup(manager_client.get(links[0]["href"]))) == ["Carla Gil", "Lucía Gómez"]


def test_default_columns_checkboxes_and_consent_in_words(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/people?sort=name"))
    headers = [th["data-col"] for th in page.select("table.people-table thead th[data-col]")]
    assert headers == ["name", "roles", "identities", "reach", "score", "level", "contributions", "last_activity",
                       "consent", "status"]
    row = page.select_one("table.people-table tbody tr")
    box = row.select_one("td.select input[type=checkbox]")
    assert (box["name"], box["form"]) == ("ids", "bulk-form") and box["value"].isdigit()
    assert row.select_one("td[data-col=language]") is None  # a column to choose, not shown by default
    chosen = soup(manager_client.get("/people?sort=name&cols=language")).select_one("table.people-table tbody tr")
    assert chosen.select_one("td[data-col=language]").get_text(strip=True) == "English"
    consent = row.select_one("td[data-col=consent]").get_text(" ", strip=True)
    assert consent == "✗ no contact ✗ no feature"  # Bruno: said in words, not by colour alone
    lucia = page.select("table.people-table tbody tr")[2]
    assert "✓ may contact" in lucia.select_one("td[data-col=consent]").get_text(" ", strip=True)


def test_cols_chooses_the_columns_and_travels_in_links(manager_client, engine):
    for n in range(12):
        make_profile(engine, f"Person {n:02d}", location="Madrid")
    page = soup(manager_client.get("/people?cols=location,owner&sort=name"))
    assert [th["data-col"] for th in page.select("thead th[data-col]")] == ["name", "location", "owner"]
    assert page.select_one("tbody td[data-col=location]").get_text(strip=True) == "Madrid"
    assert "cols=location%2Cowner" in page.select_one(".pagination a[rel=next]")["href"]
    ticked = [box["value"] for box in page.select("fieldset.columns-choice input:checked")]
    assert ticked == ["location", "owner"]
    # The form sends one `cols` per ticked box.
    again = soup(manager_client.get("/people?cols=reach&cols=language"))
    assert [th["data-col"] for th in again.select("thead th[data-col]")] == ["name", "reach", "language"]
    # An unknown column on the page falls back to the default set.
    assert len(soup(manager_client.get("/people?cols=secret")).select("thead th[data-col]")) == 10


def test_sorting_by_a_header_keeps_filters_and_swaps_the_results(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/people?role=moderator"))
    header = page.select_one("thead th[data-col=reach] a")
    assert header["hx-target"] == "#results" and header["hx-push-url"] == "true"
    # The first click on an amount puts the biggest first.
    assert parse_qs(urlsplit(header["hx-get"]).query) == {"role": ["moderator"], "sort": ["reach"], "dir": ["desc"]}
    response = manager_client.get("/people?role=moderator&sort=reach&dir=desc", headers=HX)
    fragment = soup(response)
    assert fragment.select_one("form#people-filters") is None
    assert _names(fragment) == ["Lucía Gómez", "Bruno Díaz"]
    # the order travels with the results block, tied to the filter form
    assert fragment.select_one("input[name=sort]")["value"] == "reach"
    assert fragment.select_one("input[name=sort]")["form"] == "people-filters"
    assert fragment.select_one("input[name=dir]")["value"] == "desc"
    form = soup(manager_client.get("/people")).select_one("form#people-filters")
    assert form["hx-get"] == "/people" and form["hx-target"] == "#results" and form["hx-push-url"] == "true"


def test_saved_view_and_bulk_bar_partials_are_included(manager_client, engine, monkeypatch):
    _people(engine)
    html = manager_client.get("/people").text
    page = soup(html)
    bulk_box = page.select_one("input[name=ids]")
    assert bulk_box is not None
    # the partials' comments do not render; their place is before the filters and the table
    assert html.index('id="people-filters"') < html.index('id="results"')


# ---- global search -------------------------------------------------------------------------------------


def test_every_signed_in_page_has_the_global_search_box(manager_client):
    for path in ("/", "/people", "/settings"):
        box = soup(manager_client.get(path)).select_one("header form.global-search input#global-q")
        assert box is not None, path
        assert box["hx-get"] == "/search" and box["hx-target"] == "#global-search-results"
        assert box.find_parent("form")["action"] == "/people"
    head_scripts = [s["src"] for s in soup(manager_client.get("/")).select("head script[src]")]
    assert "/static/js/people.js" in head_scripts


def test_global_search_fragment_lists_top_matches_and_a_link_to_all(manager_client, engine):
    _people(engine)
    make_profile(engine, "Lucas Small", identities=[_ident("x", "lucas", 3)])
    response = manager_client.get("/search?q=luc", headers=HX)
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("header") is None
    links = fragment.select("a[data-match]")
    assert [a.select_one(".match-name").get_text(strip=True) for a in links[:-1]] == ["Lucía Gómez", "Lucas Small"]
    assert links[0]["href"].startswith("/people/")
    assert links[-1]["href"] == "/people?q=luc"
    none = soup(manager_client.get("/search?q=zzzz", headers=HX))
    assert none.select_one(".search-none a")["href"] == "/people?q=zzzz"
    assert soup(manager_client.get("/search?q=", headers=HX)).select("a") == []


def test_global_search_as_a_full_page(manager_client, engine):
    _people(engine)
    page = soup(manager_client.get("/search?q=madrid"))
    assert page.title.get_text() == "Search: “madrid” · Altavoz"
    assert [a.get_text(strip=True) for a in page.select("main .match-name")] == ["Lucía Gómez"]
    assert page.select_one("header #global-q") is not None


def test_global_search_needs_a_signed_in_user(client):
    assert client.get("/search?q=x").status_code in (302, 303)


# ---- the API -------------------------------------------------------------------------------------------


def test_the_api_list_accepts_the_same_filters(manager_client, engine):
    _people(engine)
    response = manager_client.get("/api/v1/profiles", params={"role": "moderator", "language": "es",
                                                               "followers_min": 1000, "platform": "discourse"})
    assert response.status_code == 200
    assert [p["display_name"] for p in response.json()["items"]] == ["Lucía Gómez"]
    body = manager_client.get("/api/v1/profiles", params={"q": "kubernetes"}).json()
    assert [p["display_name"] for p in body["items"]] == ["Lucía Gómez"]
    ordered = manager_client.get("/api/v1/profiles", params={"sort": "reach", "order": "desc"}).json()
    assert [p["display_name"] for p in ordered["items"]] == ["Carla Gil", "Lucía Gómez", "Bruno Díaz"]
    assert ordered["items"][0]["reach"] == 90000


def test_the_api_list_answers_bad_filters_with_422_json(manager_client):
    for bad in ({"reach_min": "-1"}, {"reach_min": "lots"}, {"kind": "dance"}, {"owner": "mona"}, {"team": "maybe"},
                {"sort": "secret"}, {"reach_min": "10", "reach_max": "5"}, {"cols": "password"}, {"unknown": "1"},
                {"may_contact": "perhaps"}, {"platform": "myspace"}, {"days": "0"}):
        response = manager_client.get("/api/v1/profiles", params=bad)
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/json"), bad
