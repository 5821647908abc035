"""People pages: list, search, sort, paginate, create, edit, delete — as full pages and htmx fragments."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _names(page) -> list[str]:
    return [a.get_text(strip=True) for a in page.select("table.people-table a.person-link")]


def _identity(platform: str, handle: str, followers: int = 0) -> dict:
    return {"platform": platform, "handle": handle, "followers": followers}


def test_empty_list_explains_what_to_do(manager_client):
    page = soup(manager_client.get("/people"))
    assert page.select_one(".empty-state h2").get_text(strip=True) == "No people yet"
    assert page.select_one(".empty-state a[href='/people/new']") is not None


def test_list_shows_people_with_reach_and_handles(manager_client, engine):
    identities = [_identity("x", "@analopez", 12000), _identity("youtube", "anatube", 3000)]
    make_profile(engine, "Ana López", roles=["influencer"], identities=identities)
    page = soup(manager_client.get("/people"))
    row = page.select_one("table.people-table tbody tr")
    assert row.select_one("a.person-link").get_text(strip=True) == "Ana López"
    assert row.select_one("td.num")["title"] == "15,000"
    assert [h.get_text(" ", strip=True) for h in row.select(".handle")] == ["x @analopez", "youtube anatube"]
    assert page.title.get_text() == "People · Altavoz"


def test_search_matches_names_and_handles_case_insensitively(manager_client, engine):
    make_profile(engine, "Ana López", identities=[_identity("x", "@analopez")])
    make_profile(engine, "Bruno Díaz", identities=[_identity("github", "brunod")])
    make_profile(engine, "Carla 100% Real")
    assert _names(soup(manager_client.get("/people?q=LÓPEZ"))) == ["Ana López"]
    assert _names(soup(manager_client.get("/people?q=@BRUNOD"))) == ["Bruno Díaz"]
    assert _names(soup(manager_client.get("/people?q=100%25"))) == ["Carla 100% Real"]
    assert _names(soup(manager_client.get("/people?q=%25"))) == ["Carla 100% Real"]  # % is literal, not a wildcard
    empty = soup(manager_client.get("/people?q=zzz"))
    assert empty.select_one(".empty-state h2").get_text(strip=True) == "Nobody matches"


def test_search_as_fragment_returns_only_the_results_block(manager_client, engine):
    make_profile(engine, "Ana López")
    response = manager_client.get("/people?q=ana", headers=HX)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("nav") is None and page.select_one("form#people-filters") is None
    assert _names(page) == ["Ana López"]
    assert page.select_one("title").get_text() == "People: “ana” · Altavoz"
    assert "HX-Request" in response.headers["vary"]
    # A boosted navigation gets the whole page.
    full = soup(manager_client.get("/people?q=ana", headers={**HX, "HX-Boosted": "true"}))
    assert full.select_one("form#people-filters") is not None


def test_sort_by_reach_and_paginate(manager_client, engine):
    for n in range(13):
        make_profile(engine, f"Person {n:02d}", identities=[_identity("x", f"p{n}", n * 100)])
    first = soup(manager_client.get("/people?sort=reach&dir=desc"))
    assert _names(first)[:3] == ["Person 12", "Person 11", "Person 10"]
    assert len(_names(first)) == 10  # page_size in the test settings
    assert first.select_one(".pagination a[rel=next]")["href"].endswith("page=2")
    second = soup(manager_client.get("/people?sort=reach&dir=desc&page=2"))
    assert _names(second) == ["Person 02", "Person 01", "Person 00"]
    assert second.select_one(".pagination a[rel=prev]") is not None
    header = first.select_one("th a.sorted")
    assert header["aria-sort"] == "descending"


def test_bad_list_parameters_fall_back_to_defaults(manager_client, engine):
    make_profile(engine, "Ana López")
    response = manager_client.get("/people?page=abc&sort=DROP&dir=sideways&status=nope")
    assert response.status_code == 200
    assert _names(soup(response)) == ["Ana López"]


def test_filter_by_status_and_role(manager_client, engine):
    make_profile(engine, "Active Influencer", status="active", roles=["influencer"])
    make_profile(engine, "Prospect Customer", status="prospect", roles=["customer"])
    assert _names(soup(manager_client.get("/people?status=active"))) == ["Active Influencer"]
    assert _names(soup(manager_client.get("/people?role=customer"))) == ["Prospect Customer"]


def _form(token: str = "", **overrides) -> dict:
    data = {
        "display_name": "Lucía Fernández", "status": "active", "roles": ["evangelist", "moderator"],
        "topics": "Python, DevRel, python", "language": "es", "location": "Sevilla, España", "bio": "Habla de Python.",
        "identities-0-platform": "x", "identities-0-handle": "@luciaf", "identities-0-followers": "12,500",
        "identities-1-platform": "github", "identities-1-handle": "luciaf", "identities-1-url": "https://github.com/luciaf",
        "identities-2-platform": "x", "identities-2-handle": "", "may_contact": "on",
    }
    data.update(overrides)
    return data


def test_create_profile_with_identities(manager_client, engine):
    response = manager_client.post("/people", data=_form())
    assert response.status_code == 303
    profile_url = response.headers["location"]
    page = soup(manager_client.get(profile_url))
    assert page.select_one("h1").get_text(" ", strip=True) == "Lucía Fernández"
    assert "Lucía Fernández added." in page.select_one(".flash").get_text()
    with Session(engine) as session:
        profile = session.exec(select(Profile)).one()
        assert profile.topics == ["python", "devrel"]
        assert profile.roles == ["evangelist", "moderator"]
        assert profile.may_contact and not profile.may_feature
        handles = sorted((i.platform, i.handle, i.followers) for i in session.exec(select(Identity)))
        assert handles == [("github", "luciaf", 0), ("x", "luciaf", 12500)]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "profile.create")).one()
        assert event.actor_id is not None and event.after["display_name"] == "Lucía Fernández"
    # The flash is shown once.
    again = soup(manager_client.get(profile_url))
    assert again.select_one(".flash") is None


def test_invalid_form_rerenders_with_values_and_field_errors(manager_client, engine):
    data = _form(display_name="", **{"identities-0-followers": "lots", "identities-1-url": "ftp://x"})
    response = manager_client.post("/people", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#f-display_name")["aria-invalid"] == "true"
    assert page.select_one("#display_name-error").get_text() == "This field is required."
    rows = page.select("fieldset.identity-row")
    assert rows[0].select_one("input[name=identities-0-followers]")["value"] == "lots"
    assert rows[0].select_one(".field-error") is not None
    assert "http" in rows[1].select_one(".field-error").get_text()
    # Everything else the user typed is still there.
    assert page.select_one("#f-location")["value"] == "Sevilla, España"
    assert page.select_one("#f-bio").get_text() == "Habla de Python."
    assert page.select_one("input[name=roles][value=moderator]").has_attr("checked")
    with Session(engine) as session:
        assert session.exec(select(Profile)).all() == []


def test_invalid_form_as_htmx_returns_just_the_form(manager_client):
    response = manager_client.post("/people", data=_form(display_name=""), headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("form#profile-form") is not None
    assert page.select_one("header") is None


def test_htmx_create_redirects_with_hx_redirect(manager_client):
    response = manager_client.post("/people", data=_form(), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/people/")


def test_identity_taken_by_someone_else_is_reported_on_its_row(manager_client, engine):
    make_profile(engine, "Original Owner", identities=[_identity("x", "@luciaf")])
    response = manager_client.post("/people", data=_form(**{"identities-0-handle": "LUCIAF"}))
    assert response.status_code == 422
    error = soup(response).select("fieldset.identity-row")[0].select_one(".field-error").get_text()
    assert "already belongs to Original Owner" in error


def test_same_identity_twice_in_one_form(manager_client):
    response = manager_client.post("/people", data=_form(**{"identities-1-platform": "x", "identities-1-handle": "@LuciaF"}))
    assert response.status_code == 422
    assert "listed twice" in soup(response).select("fieldset.identity-row")[1].select_one(".field-error").get_text()


def test_edit_profile_keeps_unchanged_identities_and_audits_the_change(manager_client, engine):
    profile = make_profile(engine, "Ana López", identities=[_identity("x", "@ana", 10), _identity("github", "ana", 5)])
    with Session(engine) as session:
        kept_id = session.exec(select(Identity).where(Identity.platform == "x")).one().id
    form = soup(manager_client.get(f"/people/{profile.id}/edit"))
    assert form.select_one("#f-display_name")["value"] == "Ana López"
    assert form.select_one("input[name=identities-0-handle]")["value"] in ("@ana", "ana")
    data = {"display_name": "Ana López García", "status": "active",
            "identities-0-platform": "x", "identities-0-handle": "@ana", "identities-0-followers": "20"}
    response = manager_client.post(f"/people/{profile.id}", data=data)
    assert response.status_code == 303
    with Session(engine) as session:
        identities = session.exec(select(Identity)).all()
        assert [(i.id, i.followers) for i in identities] == [(kept_id, 20)]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "profile.update")).one()
        assert event.before["display_name"] == "Ana López" and event.after["display_name"] == "Ana López García"
    page = soup(manager_client.get(f"/people/{profile.id}"))
    assert "Edited" in page.select_one(".history").get_text()


def test_identity_row_endpoint_adds_a_row_and_moves_the_button(manager_client):
    page = soup(manager_client.get("/people/identity-row?index=4", headers=HX))
    assert page.select_one("select[name=identities-4-platform]") is not None
    button = page.select_one("#add-identity")
    assert button["hx-swap-oob"] == "true" and button["hx-get"].endswith("index=5")
    full = manager_client.get("/people/identity-row?index=4")
    assert full.status_code == 303 and full.headers["location"] == "/people/new"


def test_delete_needs_confirmation_and_removes_everything(manager_client, engine):
    profile = make_profile(engine, "Short Lived", identities=[_identity("x", "@gone")])
    confirm = soup(manager_client.get(f"/people/{profile.id}/delete"))
    assert confirm.select_one("h1").get_text(strip=True) == "Delete Short Lived?"
    assert "1 identity" in confirm.get_text()
    response = manager_client.post(f"/people/{profile.id}/delete")
    assert response.status_code == 303 and response.headers["location"] == "/people"
    assert "Short Lived was deleted." in soup(manager_client.get("/people")).select_one(".flash").get_text()
    with Session(engine) as session:
        assert session.exec(select(Identity)).all() == []
        deleted = session.exec(select(AuditEvent).where(AuditEvent.action == "profile.delete")).one()
        assert deleted.before["display_name"] == "Short Lived"
    assert manager_client.get(f"/people/{profile.id}").status_code == 404


def test_missing_profile_is_a_friendly_404(manager_client):
    response = manager_client.get("/people/999999")
    assert response.status_code == 404
    page = soup(response)
    assert page.select_one(".error-code").get_text() == "404"
    assert "no person with id 999999" in page.select_one("main").get_text()


def test_profile_page_shows_timeline_and_consent(manager_client, engine):
    from datetime import timedelta

    from crm.db import session_scope, utcnow
    from crm.interactions.models import Interaction

    profile = make_profile(engine, "Timeline Person", may_feature=True, consent_basis="consent")
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=profile.id, kind="forum_answer", title="How to tune WAL",
                                occurred_at=utcnow() - timedelta(days=2), reach=1500, sentiment=0.5))
    page = soup(manager_client.get(f"/people/{profile.id}"))
    item = page.select_one(".timeline-item.kind-forum_answer")
    assert "Forum answer" in item.get_text() and "How to tune WAL" in item.get_text()
    assert "positive" in item.select_one(".sentiment").get_text()  # not by colour alone
    assert page.title.get_text() == "Timeline Person · Altavoz"


def test_profile_page_lists_strongest_connections_both_ways(manager_client, engine):
    from crm.db import session_scope
    from crm.interactions.models import Relationship

    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    carla = make_profile(engine, "Carla Gil")
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ana.id, target_id=bruno.id, kind="follows", strength=0.3))
        session.add(Relationship(source_id=carla.id, target_id=ana.id, kind="collaborates", strength=0.9))
    items = soup(manager_client.get(f"/people/{ana.id}")).select("#connections-panel tr.connection")
    assert [i.get_text(" ", strip=True) for i in items] == [
        "Carla Gil Collaborates ← ← from them 0.90 –", "Bruno Díaz Follows → → to them 0.30 –"]
    assert items[0].select_one("a")["href"] == f"/people/{carla.id}"


def test_filter_by_topic_from_a_profile_chip(manager_client, engine):
    ana = make_profile(engine, "Ana López", topics=["data engineering", "python"])
    make_profile(engine, "Bruno Díaz", topics=["python_tools"])  # _ must not act as a LIKE wildcard
    make_profile(engine, "Carla Gil", topics=["café"])
    chip = soup(manager_client.get(f"/people/{ana.id}")).select_one("a.chip.topic")
    assert chip["href"] == "/people?topic=data%20engineering"
    assert _names(soup(manager_client.get(chip["href"]))) == ["Ana López"]
    assert _names(soup(manager_client.get("/people?topic=python"))) == ["Ana López"]
    assert _names(soup(manager_client.get("/people?topic=python_tools"))) == ["Bruno Díaz"]
    assert _names(soup(manager_client.get("/people?topic=Café"))) == ["Carla Gil"]
    page = soup(manager_client.get("/people?topic=python&sort=reach&dir=desc"))
    assert page.select_one("input[name=topic]")["value"] == "python"
    assert page.select_one("th a.sorted")["href"] == "/people?topic=python&sort=reach&dir=asc"


def test_pagination_links_keep_every_filter(manager_client, engine):
    for n in range(12):
        make_profile(engine, f"Active {n:02d}", status="active", topics=["python"])
    page = soup(manager_client.get("/people?status=active&topic=python&q=active&sort=name&dir=desc"))
    assert page.select_one(".pagination a[rel=next]")["href"] == (
        "/people?q=active&status=active&topic=python&sort=name&dir=desc&page=2"
    )


def test_timeline_shows_twenty_then_loads_older_with_htmx(manager_client, engine):
    from datetime import timedelta

    from crm.db import session_scope, utcnow
    from crm.interactions.models import Interaction

    profile = make_profile(engine, "Busy Person")
    with session_scope(engine, write=True) as session:
        for n in range(45):
            session.add(Interaction(profile_id=profile.id, kind="post", title=f"Post {n:02d}",
                                    occurred_at=utcnow() - timedelta(days=n)))
    page = soup(manager_client.get(f"/people/{profile.id}"))
    titles = [li.get_text(" ", strip=True) for li in page.select("#timeline li:not(.audit-event)")]
    assert len(titles) == 20 and "Post 00" in titles[0]
    more = page.select_one("#timeline-more button")
    assert more["hx-get"] == f"/people/{profile.id}/timeline?offset=20"
    assert "20 of 45" in page.select_one("#timeline-more").get_text()

    fragment = soup(manager_client.get(more["hx-get"], headers=HX))
    assert fragment.select_one("nav") is None
    older = [li.get_text(" ", strip=True) for li in fragment.select("li")]
    assert len(older) == 20 and "Post 20" in older[0]
    oob = fragment.select_one("#timeline-more")
    assert oob["hx-swap-oob"] == "true" and "40 of 45" in oob.get_text()
    last = soup(manager_client.get(oob.select_one("button")["hx-get"], headers=HX))
    assert len(last.select("li")) == 5 and last.select_one("#timeline-more button") is None

    full = manager_client.get(f"/people/{profile.id}/timeline?offset=20")  # without htmx: a page of its own
    assert full.status_code == 200 and soup(full).select_one("#timeline-panel #timeline") is not None
    assert manager_client.get("/people/424242/timeline", headers=HX).status_code == 404


def test_similar_names_are_suggested_while_typing(manager_client, engine):
    ana = make_profile(engine, "María José Fernández")
    make_profile(engine, "Bruno Díaz")
    hint = soup(manager_client.get("/people/similar?display_name=Fernandez+Maria+Jose", headers=HX))
    links = hint.select(".similar a")
    assert [a.get_text() for a in links] == ["María José Fernández"]
    assert links[0]["href"] == f"/people/{ana.id}"
    assert soup(manager_client.get("/people/similar?display_name=Carla+Gil", headers=HX)).select_one(".similar") is None
    # Editing Ana does not warn about Ana herself.
    own = soup(manager_client.get(f"/people/similar?display_name=Maria+Jose+Fernandez&exclude={ana.id}", headers=HX))
    assert own.select_one(".similar") is None
    form = soup(manager_client.get(f"/people/{ana.id}/edit"))
    assert form.select_one("#similar-people")["hx-get"] == f"/people/similar?exclude={ana.id}"
    full = manager_client.get("/people/similar?display_name=Bruno")
    assert full.status_code == 303 and full.headers["location"] == "/people?q=Bruno"


def test_a_page_past_the_end_shows_the_last_page(manager_client, engine):
    for n in range(12):
        make_profile(engine, f"Person {n:02d}")
    page = soup(manager_client.get("/people?page=99"))
    assert _names(page) == ["Person 10", "Person 11"]
    assert "Page 2 of 2" in page.select_one(".pagination").get_text()


# ---- bad input gets a field error or a 4xx, never a 500 ------------------------------------------


def test_a_huge_timeline_offset_is_a_4xx_not_a_500(manager_client, engine):
    profile = make_profile(engine, "Busy Person")
    for offset in ("99999999999999999999", str(10**30), str(2**63)):
        response = manager_client.get(f"/people/{profile.id}/timeline?offset={offset}", headers=HX)
        assert response.status_code == 422, offset


def test_a_number_with_thousands_of_digits_is_a_field_error(manager_client, engine):
    for digits in (4_000, 5_000):  # Python refuses to read more than 4,300 digits as an int
        response = manager_client.post("/people", data=_form(**{"identities-0-followers": "9" * digits}))
        assert response.status_code == 422, digits
        error = soup(response).select("fieldset.identity-row")[0].select_one(".field-error")
        assert error is not None, digits
    with Session(engine) as session:
        assert session.exec(select(Profile)).all() == []


def test_a_handle_whose_key_is_too_long_is_a_field_error(manager_client, engine):
    # "ß" case-folds to "ss": 200 characters typed, 400 in the key the identity is unique on.
    response = manager_client.post("/people", data=_form(**{"identities-0-handle": "ß" * 200}))
    assert response.status_code == 422
    error = soup(response).select("fieldset.identity-row")[0].select_one(".field-error")
    assert error is not None and "too long" in error.get_text()
    with Session(engine) as session:
        assert session.exec(select(Identity)).all() == []


def test_a_handle_of_only_at_signs_is_a_field_error(manager_client, engine):
    for handle in ("@", "@@", " @ "):
        response = manager_client.post("/people", data=_form(**{"identities-1-handle": handle}))
        assert response.status_code == 422, handle
        error = soup(response).select("fieldset.identity-row")[1].select_one(".field-error")
        assert error is not None and "handle" in error.get_text().lower(), handle
    with Session(engine) as session:
        assert session.exec(select(Identity)).all() == []


def test_editing_in_the_browser_keeps_identity_counts_the_form_does_not_show(manager_client, engine):
    identity = {"platform": "youtube", "handle": "anatube", "followers": 900, "following": 12, "posts": 340,
                "engagement_rate": 4.5}
    profile = make_profile(engine, "Ana López", identities=[identity])
    form = soup(manager_client.get(f"/people/{profile.id}/edit"))
    data = {field["name"]: field.get("value", "") for field in form.select("#profile-form input[name]")
            if field.get("type") != "checkbox"}
    data.update({"status": "active", "identities-0-platform": "youtube", "identities-0-followers": "1,000"})
    assert manager_client.post(f"/people/{profile.id}", data=data).status_code == 303
    with Session(engine) as session:
        saved = session.exec(select(Identity)).one()
    assert (saved.followers, saved.following, saved.posts, saved.engagement_rate) == (1000, 12, 340, 4.5)


def test_bad_list_parameters_fall_back_one_by_one(manager_client, engine):
    make_profile(engine, "Active Ana", status="active")
    make_profile(engine, "Prospect Pablo", status="prospect")
    # A bad page or sort does not throw away the good filter next to it.
    page = soup(manager_client.get("/people?page=abc&sort=DROP&status=active&per_page=0"))
    assert _names(page) == ["Active Ana"]
    assert page.select_one("select[name=status] option[selected]")["value"] == "active"
    for bad in ("page=-1", "page=1e3", "page=99999999999999999999", "dir=sideways", "role=boss", "q=" + "x" * 500):
        assert manager_client.get(f"/people?{bad}").status_code == 200, bad
