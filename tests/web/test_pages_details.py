"""Details every page gets right: unique ids, the navigation on error pages, one way to write a date
per locale, languages by name, and words that go through gettext."""

from __future__ import annotations

import gettext
from datetime import datetime, timedelta

import pytest
from babel import Locale
from babel.dates import format_date, format_time

from crm import i18n
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Profile
from tests.factories import make_profile, soup

PAGES = [
    "/", "/people", "/people/{id}", "/people/new", "/people/{id}/edit", "/people/{id}/delete", "/settings",
    "/settings/audit", "/campaigns", "/recognition", "/api/docs", "/no-such-page", "/people/999999",
]
NAV = ["Dashboard", "People", "Ranking", "Communities", "Campaigns", "Recognition", "Listening", "Settings"]


@pytest.fixture
def person(engine) -> Profile:
    """A person with identities, a connection, a history and a language."""
    ana = make_profile(
        engine, "Ana López", language="es", roles=["evangelist"],
        identities=[{"platform": "x", "handle": "ana_devrel", "followers": 12000},
                    {"platform": "github", "handle": "ana-codes", "url": "https://github.com/ana-codes"}],
    )
    bruno = make_profile(engine, "Bruno Díaz")
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ana.id, target_id=bruno.id, kind="replies_to", strength=0.5))
        session.add(Interaction(profile_id=ana.id, kind="talk", title="PyCon talk", occurred_at=utcnow() - timedelta(days=3)))
    return ana


def _duplicate_ids(html: str) -> list[str]:
    ids = [str(element["id"]) for element in soup(html).select("[id]")]
    return sorted({i for i in ids if ids.count(i) > 1})


def test_no_two_elements_share_an_id_on_any_page(admin_client, person):
    assert admin_client.post("/settings/tokens", data={"name": "CI", "days": "30"}).status_code in (200, 303)
    for path in PAGES:
        response = admin_client.get(path.format(id=person.id))
        assert response.status_code in (200, 404), path
        assert not _duplicate_ids(response.text), f"{path} repeats ids {_duplicate_ids(response.text)}"


def test_no_two_elements_share_an_id_when_forms_show_their_errors(admin_client, person):
    responses = {
        "profile form": admin_client.post("/people", data={"display_name": "", "identities-0-platform": "x",
                                                           "identities-0-handle": "", "identities-0-url": "nope"}),
        "add a user": admin_client.post("/settings/users", data={"name": "", "email": "nope", "password": "x"}),
    }
    for form, response in responses.items():
        assert response.status_code == 422, form
        assert not _duplicate_ids(response.text), f"{form} repeats ids {_duplicate_ids(response.text)}"


def test_settings_has_one_field_per_label(admin_client):
    page = soup(admin_client.get("/settings"))
    for label in page.select("label[for]"):
        assert len(page.select(f"#{label['for']}")) == 1, label["for"]
    assert page.select_one("#f-user-name")["name"] == "name"


@pytest.mark.parametrize("path", ["/no-such-page", "/people/999999"])
def test_a_missing_page_keeps_the_navigation(manager_client, path):
    response = manager_client.get(path)
    assert response.status_code == 404
    page = soup(response)
    assert [a.get_text(strip=True).lstrip("⚙") for a in page.select("header .mainnav a")] == NAV
    assert page.select_one("header form[action='/logout'] button[type=submit]") is not None
    assert page.select_one("h1").get_text(strip=True) == "Nothing here"


def test_a_missing_page_shows_a_stranger_no_navigation(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert soup(response).select_one("header .mainnav") is None


@pytest.mark.parametrize(("lang", "name"), [("en", "Spanish"), ("es", "español")])
def test_a_persons_language_is_shown_by_its_name(admin_client, person, lang, name):
    page = soup(admin_client.get(f"/people/{person.id}", headers={"Accept-Language": lang}))
    assert page.select_one(".page-head .language").get_text(strip=True) == name


@pytest.mark.parametrize("lang", ["en", "es"])
def test_dates_are_written_one_way_per_locale(admin_client, person, lang):
    """Every <time> shows Babel's medium date, alone or followed by the short time (the tests' time zone is UTC)."""
    admin_client.post("/settings/tokens", data={"name": "CI", "days": "30"})
    locale = Locale.parse(lang)
    checked: dict[str, int] = {"date": 0, "date and time": 0}
    for path in ["/", "/people", f"/people/{person.id}", "/settings", "/settings/audit"]:
        for time in soup(admin_client.get(path, headers={"Accept-Language": lang})).select("time"):
            moment = datetime.fromisoformat(str(time["datetime"]))
            day = format_date(moment.date(), format="medium", locale=locale)
            with_time = str(locale.datetime_formats["medium"]).format(format_time(moment, format="short", locale=locale), day)
            text = time.get_text(strip=True)
            assert text in (day, with_time), f"{path}: {text!r} is neither {day!r} nor {with_time!r}"
            checked["date" if text == day else "date and time"] += 1
    assert checked["date"] >= 3 and checked["date and time"] >= 5, checked


class _Marked(gettext.NullTranslations):
    """A catalogue that marks whatever it translates, to see which words went through gettext."""

    def gettext(self, message: str) -> str:
        return f"«{message}»"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"«{singular if n == 1 else plural}»"


def test_breadcrumbs_the_menu_and_relationship_kinds_go_through_gettext(admin_client, person, monkeypatch):
    monkeypatch.setitem(i18n._CATALOGUES, "es", _Marked())
    spanish = {"Accept-Language": "es"}
    for path in [f"/people/{person.id}", f"/people/{person.id}/edit", "/people/new", "/settings/audit"]:
        page = soup(admin_client.get(path, headers=spanish))
        assert [nav["aria-label"] for nav in page.select("nav.breadcrumb")] == ["«Breadcrumb»"], path
        assert page.select_one("header nav")["aria-label"] == "«Main»"
        assert "«Menu»" in page.select_one("header details.menu > summary").get_text()
    page = soup(admin_client.get(f"/people/{person.id}", headers=spanish))
    assert page.select_one(".connections .chip.kind").get_text(strip=True) == "«Replies to»"


@pytest.mark.parametrize("lang,shown", [("en", "0.97%"), ("es", "0,97\u00a0%")])
def test_an_engagement_rate_is_a_percentage_for_the_locale(admin_client, engine, lang, shown):
    profile = make_profile(engine, "Engaged", identities=[{"platform": "x", "handle": "engaged", "engagement_rate": 0.97}])
    page = soup(admin_client.get(f"/people/{profile.id}", headers={"Accept-Language": lang}))
    cell = page.select_one("td[data-label]:-soup-contains('%')")
    assert cell is not None and cell.get_text(strip=True) in (shown, shown.replace("\u00a0", " "))
