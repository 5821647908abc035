"""Quick identity entry and complete profiles: links that fill rows, counts in the reader's locale,
removing rows, owner and consent; through the form (plain and htmx) and the API, on both databases."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}
ES = {"Accept-Language": "es"}


def _identity(platform: str, handle: str, followers: int = 0, **more) -> dict:
    return {"platform": platform, "handle": handle, "followers": followers, **more}


def _user_id(engine, email: str) -> int:
    with Session(engine) as session:
        return session.exec(select(User).where(User.email == email)).one().id


def _identities(engine) -> list[tuple[str, str, str, int]]:
    with Session(engine) as session:
        return sorted((i.platform, i.handle, i.url, i.followers) for i in session.exec(select(Identity)))


# ---- the form as it first appears ----------------------------------------------------------------


def test_new_form_offers_links_first_and_the_creator_as_owner(manager_client, engine):
    page = soup(manager_client.get("/people/new"))
    owner = page.select_one("#f-owner_id option[selected]")
    assert owner is not None and owner["value"] == str(_user_id(engine, "manager@example.com"))
    assert page.select_one("#f-links[name=links]") is not None and page.select_one("#fill-from-links") is not None
    rows = page.select("#identity-rows fieldset.identity-row")
    assert len(rows) == 3
    first = rows[0]
    # The link comes first in each row, the platform starts as "from the link", each row has a remove button.
    assert first.select("input, select")[0]["name"] == "identities-0-url"
    assert first.select_one("select[name=identities-0-platform] option[selected]")["value"] == ""
    assert first.select_one("[data-remove-identity]") is not None
    url = first.select_one("input[name=identities-0-url]")
    assert url["hx-get"] == "/people/identity-fill?index=0" and "paste" in url["hx-trigger"]
    # The identities come right after the name, and the similar-names hint is kept.
    assert page.select_one("#similar-people")["hx-get"].startswith("/people/similar")
    order = [el.get("id") for el in page.select("#f-display_name, #identities, #f-bio, fieldset.consent")]
    assert order == ["f-display_name", "identities", "f-bio", None]
    assert page.select_one('script[src="/static/js/identities.js"]') is not None


def test_consent_is_grouped_and_explained(manager_client):
    consent = soup(manager_client.get("/people/new")).select_one("fieldset.consent")
    assert consent.select_one("legend").get_text(strip=True) == "Consent"
    for name in ("may_contact", "may_feature"):
        box = consent.select_one(f"input[name={name}]")
        assert consent.select_one(f"#{box['aria-describedby']}").get_text(strip=True)
    assert consent.select_one("#f-consent_basis") is not None and consent.select_one("#f-consent_date") is not None
    assert soup(manager_client.get("/people/new")).select_one("fieldset.ownership #f-owner_id") is not None


# ---- a pasted link fills its row (htmx) ------------------------------------------------------------


def test_a_pasted_link_fills_its_row_as_a_fragment(manager_client):
    params = {"index": "2", "identities-2-url": "https://www.youtube.com/@AnaTube/videos", "identities-2-platform": "",
              "identities-2-handle": "", "identities-2-followers": "12,4K", "identities-2-verified": "on"}
    response = manager_client.get("/people/identity-fill", params=params, headers=HX)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None and page.select_one("main") is None
    row = page.select_one("fieldset#identity-row-2.identity-row")
    assert row.select_one("select[name=identities-2-platform] option[selected]")["value"] == "youtube"
    assert row.select_one("input[name=identities-2-handle]")["value"] == "AnaTube"
    assert row.select_one("input[name=identities-2-url]")["value"] == "https://www.youtube.com/@AnaTube/videos"
    assert row.select_one("input[name=identities-2-followers]")["value"] == "12,4K"  # what was typed stays
    assert row.select_one("input[name=identities-2-verified]").has_attr("checked")
    assert row.select_one(".field-error") is None


def test_a_link_without_scheme_is_completed_and_a_bad_one_is_explained_in_place(manager_client):
    row = soup(manager_client.get("/people/identity-fill", params={"index": "0", "identities-0-url": "github.com/octocat"},
                                  headers=HX))
    assert row.select_one("input[name=identities-0-url]")["value"] == "https://github.com/octocat"
    assert row.select_one("input[name=identities-0-handle]")["value"] == "octocat"
    bad = soup(manager_client.get("/people/identity-fill", params={"index": "0", "identities-0-url": "not a link"},
                                  headers=HX))
    field = bad.select_one("input[name=identities-0-url]")
    assert field["value"] == "not a link" and field["aria-invalid"] == "true"
    assert "not a web address" in bad.select_one(f"#{field['aria-describedby']}").get_text()


def test_the_fill_endpoint_without_htmx_goes_to_the_form(manager_client):
    response = manager_client.get("/people/identity-fill", params={"identities-0-url": "https://x.com/ana"})
    assert response.status_code == 303 and response.headers["location"] == "/people/new"


# ---- a box of links fills several rows at once (htmx) --------------------------------------------------


def test_pasted_links_fill_rows_after_those_typed(manager_client):
    params = {
        "identities-0-url": "", "identities-0-platform": "github", "identities-0-handle": "lucia", "identities-0-followers": "5",
        "identities-1-url": "", "identities-1-platform": "", "identities-1-handle": "",  # a blank row: dropped
        "links": "https://x.com/luciaf\n\n  https://www.instagram.com/lucia.f/  \nhttps://github.com/lucia\nnot a link\n",
    }
    response = manager_client.get("/people/identity-links", params=params, headers=HX)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("html") is None
    rows = page.select("#identity-rows fieldset.identity-row")
    shown = [(r.select_one("select option[selected]")["value"], r.select_one("input[name$=-handle]")["value"]) for r in rows]
    # github/lucia was already typed, so its link is not added twice; a blank row ends the list.
    assert shown == [("github", "lucia"), ("x", "luciaf"), ("instagram", "lucia.f"), ("", "")]
    assert rows[0].select_one("input[name=identities-0-followers]")["value"] == "5"
    button = page.select_one("#add-identity")
    assert button["hx-swap-oob"] == "true" and button["hx-get"].endswith("index=4")
    # The box comes back out of band with only the line that is not a link, and says why.
    box = page.select_one("#identity-links")
    assert box["hx-swap-oob"] == "true"
    textarea = box.select_one("textarea#f-links")
    assert textarea.get_text() == "not a link" and textarea["aria-invalid"] == "true"
    assert "not profile links" in box.select_one("#links-error").get_text()
    clean = soup(manager_client.get("/people/identity-links", params={"links": "https://x.com/ana"}, headers=HX))
    emptied = clean.select_one("textarea#f-links")
    assert emptied.get_text() == "" and not emptied.has_attr("aria-invalid")


def test_the_links_endpoint_without_htmx_goes_to_the_form(manager_client):
    response = manager_client.get("/people/identity-links", params={"links": "https://x.com/ana"})
    assert response.status_code == 303 and response.headers["location"] == "/people/new"


def test_a_viewer_cannot_use_the_entry_helpers(viewer_client):
    for path in ("/people/identity-fill", "/people/identity-links"):
        assert viewer_client.get(path, headers=HX).status_code == 403


# ---- the form round trip ---------------------------------------------------------------------------------


def _form(**overrides) -> dict:
    data = {"display_name": "Lucía Fernández", "status": "active", "owner_id": ""}
    data.update(overrides)
    return data


def test_three_identities_from_links_only_in_one_save(manager_client, engine):
    """The seventeen steps: a name and three pasted links, with counts as a Spanish reader writes them."""
    data = _form(**{
        "identities-0-url": "https://x.com/luciaf", "identities-0-platform": "", "identities-0-followers": "12.500",
        "identities-1-url": "https://www.youtube.com/@LuciaTube", "identities-1-platform": "", "identities-1-followers": "1,2M",
        "identities-2-url": "https://www.instagram.com/lucia.f/", "identities-2-platform": "", "identities-2-followers": "3 k",
    })
    response = manager_client.post("/people", data=data, headers=ES)
    assert response.status_code == 303, soup(response).select(".field-error")
    assert _identities(engine) == [
        ("instagram", "lucia.f", "https://www.instagram.com/lucia.f/", 3000),
        ("x", "luciaf", "https://x.com/luciaf", 12500),
        ("youtube", "LuciaTube", "https://www.youtube.com/@LuciaTube", 1_200_000),
    ]
    with Session(engine) as session:
        assert session.exec(select(Profile)).one().reach == 1_215_500


def test_english_counts_and_handles_build_their_urls(manager_client, engine):
    data = _form(**{"identities-0-platform": "tiktok", "identities-0-handle": "@lucia.codes", "identities-0-url": "",
                    "identities-0-followers": "12,500"})
    assert manager_client.post("/people", data=data).status_code == 303
    assert _identities(engine) == [("tiktok", "lucia.codes", "https://www.tiktok.com/@lucia.codes", 12500)]


def test_links_typed_in_the_box_are_saved_without_javascript(manager_client, engine):
    data = _form(links="https://github.com/lucia\nhttps://www.reddit.com/user/lucia_r/")
    assert manager_client.post("/people", data=data).status_code == 303
    assert [(p, h) for p, h, _, _ in _identities(engine)] == [("github", "lucia"), ("reddit", "lucia_r")]


def test_bad_values_are_kept_with_a_message_beside_each(manager_client, engine):
    data = _form(**{
        "display_name": "Lucía", "topics": "python, devrel",
        "identities-0-url": "https://x.com/luciaf", "identities-0-platform": "", "identities-0-followers": "12,500",
        "identities-1-url": "no es un enlace", "identities-1-platform": "", "identities-1-followers": "7",
        "identities-2-url": "https://x.com/home", "identities-2-platform": "",
    })
    response = manager_client.post("/people", data=data, headers=ES)
    assert response.status_code == 422
    page = soup(response)
    rows = page.select("fieldset.identity-row")
    followers = rows[0].select_one("input[name=identities-0-followers]")
    assert followers["value"] == "12,500" and followers["aria-invalid"] == "true"  # "12,500" is ambiguous in Spanish
    assert "12.500" in rows[0].select_one(f"#{followers['aria-describedby']}").get_text()
    url = rows[1].select_one("input[name=identities-1-url]")
    assert url["value"] == "no es un enlace" and url["aria-invalid"] == "true"
    assert rows[1].select_one("input[name=identities-1-followers]")["value"] == "7"
    assert rows[2].select_one("input[name=identities-2-url]")["aria-invalid"] == "true"
    # The good parts stay too: the name, the topics, the first row's link read into platform and handle.
    assert page.select_one("#f-display_name")["value"] == "Lucía" and page.select_one("#f-topics")["value"] == "python, devrel"
    assert rows[0].select_one("input[name=identities-0-handle]")["value"] == "luciaf"
    with Session(engine) as session:
        assert session.exec(select(Profile)).all() == []


def test_a_failed_save_gives_the_links_back_as_typed_with_what_stopped_each(manager_client, engine):
    make_profile(engine, "Taken", identities=[_identity("x", "lucia_x")])
    typed = "https://github.com/lucia\nhttps://x.com/home\nhttps://x.com/lucia_x"
    response = manager_client.post("/people", data=_form(links=typed))
    assert response.status_code == 422
    page = soup(response)
    box = page.select_one("textarea#f-links")
    assert box.get_text() == typed and box["aria-invalid"] == "true"
    message = page.select_one("#links-error").get_text()
    assert message.startswith("https://x.com/home: These lines are not profile links")
    assert "github.com/lucia" not in message and "lucia_x" not in message
    # Not also turned into rows, so the next save does not add them twice.
    assert [el["value"] for el in page.select("#identity-rows input[name$=-url]") if el["value"]] == []
    with Session(engine) as session:
        assert [p.display_name for p in session.exec(select(Profile))] == ["Taken"]
    # A link whose handle belongs to someone else is reported on the box too, by its line.
    clash = soup(manager_client.post("/people", data=_form(links="https://github.com/lucia\nhttps://x.com/lucia_x")))
    assert clash.select_one("textarea#f-links").get_text() == "https://github.com/lucia\nhttps://x.com/lucia_x"
    message = clash.select_one("#links-error").get_text()
    assert message.startswith("https://x.com/lucia_x: x handle lucia_x already belongs to Taken")
    assert manager_client.post("/people", data=_form(links="https://github.com/lucia")).status_code == 303


def test_bad_values_as_htmx_return_just_the_form_with_the_messages(manager_client):
    data = _form(**{"identities-0-url": "https://x.com/ana", "identities-0-followers": "12.500"})
    response = manager_client.post("/people", data=data, headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("html") is None and page.select_one("form#profile-form") is not None
    field = page.select_one("input[name=identities-0-followers]")
    assert field["value"] == "12.500" and field["aria-invalid"] == "true"


def test_removing_a_row_deletes_that_identity_and_kept_rows_keep_their_links(manager_client, engine):
    profile = make_profile(engine, "Ana López", identities=[
        _identity("x", "ana", 10, url="https://twitter.com/ana"), _identity("github", "ana", 5)])
    page = soup(manager_client.get(f"/people/{profile.id}/edit"))
    rows = page.select("#identity-rows fieldset.identity-row")
    assert all(row.select_one("[data-remove-identity]") for row in rows)
    # The x row is removed (its fields are not sent); the github row stays, sent without its URL field.
    data = {"display_name": "Ana López", "status": "active", "owner_id": "",
            "identities-1-platform": "github", "identities-1-handle": "ana", "identities-1-followers": "5"}
    assert manager_client.post(f"/people/{profile.id}", data=data).status_code == 303
    assert _identities(engine) == [("github", "ana", "https://github.com/ana", 5)]


# ---- owner ------------------------------------------------------------------------------------------


def test_the_form_saves_the_preselected_owner_or_nobody(manager_client, engine):
    me = _user_id(engine, "manager@example.com")
    assert manager_client.post("/people", data=_form(owner_id=str(me))).status_code == 303
    assert manager_client.post("/people", data=_form(display_name="Nobody's", owner_id="")).status_code == 303
    with Session(engine) as session:
        owners = {p.display_name: p.owner_id for p in session.exec(select(Profile))}
    assert owners == {"Lucía Fernández": me, "Nobody's": None}


def test_api_create_without_owner_sets_the_creator(manager_client, engine):
    me = _user_id(engine, "manager@example.com")
    created = manager_client.post("/api/v1/profiles", json={"display_name": "Marta Ruiz"})
    assert created.status_code == 201 and created.json()["owner_id"] == me
    nobody = manager_client.post("/api/v1/profiles", json={"display_name": "Unowned", "owner_id": None})
    assert nobody.status_code == 201 and nobody.json()["owner_id"] is None
    # A patch does not change the owner it does not mention.
    patched = manager_client.patch(f"/api/v1/profiles/{nobody.json()['id']}", json={"bio": "x"})
    assert patched.json()["owner_id"] is None


# ---- the API reads links the same way -------------------------------------------------------------------


def test_api_accepts_url_only_identities(manager_client):
    body = {"display_name": "Marta Ruiz", "identities": [
        {"url": "https://www.instagram.com/marta.ruiz/?hl=es", "followers": 250000},
        {"url": "https://community.nimbo.example/u/marta"},
        {"platform": "x", "handle": "@MartaR"},
        {"url": "https://marta.blog.example/"},
    ]}
    created = manager_client.post("/api/v1/profiles", json=body)
    assert created.status_code == 201, created.text
    shown = sorted((i["platform"], i["handle"], i["url"]) for i in created.json()["identities"])
    assert shown == [
        ("blog", "marta.blog.example", "https://marta.blog.example/"),
        ("discourse", "marta", "https://community.nimbo.example/u/marta"),
        ("instagram", "marta.ruiz", "https://www.instagram.com/marta.ruiz/?hl=es"),
        ("x", "MartaR", "https://x.com/MartaR"),
    ]
    # The same link again, even typed another way, is the same identity: one person per handle.
    again = manager_client.post("/api/v1/profiles", json={"display_name": "Other", "identities": [
        {"url": "instagram.com/Marta.Ruiz"}]})
    assert again.status_code == 422 and "already belongs" in str(again.json())


def test_api_refuses_a_url_that_is_not_a_url_with_a_field_message(manager_client):
    response = manager_client.post("/api/v1/profiles", json={"display_name": "X", "identities": [{"url": "not a url"}]})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [tuple(e["loc"]) for e in errors] == [("body", "identities", 0, "url")]
    assert "not a web address" in errors[0]["msg"]


def test_api_keeps_plain_numbers(manager_client):
    response = manager_client.post("/api/v1/profiles", json={"display_name": "X", "identities": [
        {"url": "https://x.com/ana", "followers": "12.500"}]}, headers=ES)
    assert response.status_code == 422  # "12.500" is not a count in JSON, whatever the reader's language


def test_api_put_keeps_a_stored_link_when_only_the_handle_is_sent(manager_client):
    created = manager_client.post("/api/v1/profiles", json={"display_name": "Ana", "identities": [
        {"platform": "x", "handle": "ana", "url": "https://twitter.com/ana"}]}).json()
    body = {"display_name": "Ana", "identities": [{"platform": "x", "handle": "ana", "followers": 3}]}
    replaced = manager_client.put(f"/api/v1/profiles/{created['id']}", json=body).json()
    assert [(i["url"], i["followers"]) for i in replaced["identities"]] == [("https://twitter.com/ana", 3)]
