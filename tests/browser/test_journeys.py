"""Real user journeys in real Chromium: sign in, add a person, search, fix a form, delete, and a viewer.

Everything here is done by clicking and typing; the only direct database work is setting up
users and people before a journey starts. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MANAGER_NAME, BrowserErrors, LiveServer, screenshot, sign_in
from tests.factories import make_profile, make_user

pytestmark = pytest.mark.browser

MARKER = "window.__altavozNoReload"


def _set_marker(page: Any) -> None:
    """A value that lives only as long as this document: a full page load wipes it."""
    page.evaluate(f"{MARKER} = 'still here'")


def _assert_marker(page: Any) -> None:
    assert page.evaluate(f"{MARKER} ?? null") == "still here", (
        "the page was reloaded instead of swapped in place"
    )


def _identity(page: Any, n: int) -> Any:
    """The n-th identity row of the profile form (1-based, as its accessible name says)."""
    return page.get_by_role("group", name=f"Identity {n}", exact=True)


def test_csp_violations_are_reported(
    page: Any, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    """The guard every other test relies on: an inline style must show up as an error."""
    page.goto("/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
    page.wait_for_timeout(100)  # the violation event is dispatched asynchronously
    errors = browser_errors.take()
    assert any("style-src" in e for e in errors), errors


def test_a_sign_in_lands_on_the_dashboard(page: Any, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to Altavoz")).to_be_visible()
    screenshot(page, "a-sign-in-form")

    page.get_by_label("E-mail").fill("manager@example.com")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name=f"Good to see you, {MANAGER_NAME}")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "a-dashboard")


def test_b_add_a_person_with_two_identities(page: Any, live_server: LiveServer) -> None:
    sign_in(page)
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("button", name="Add a person").first.click()  # the empty list offers it twice
    expect(page).to_have_url(re.compile(r"/people/new$"))
    expect(page.get_by_role("heading", name="Add a person")).to_be_visible()

    page.locator("#f-display_name").fill("Ana López")
    page.get_by_label("Evangelist").check()
    page.get_by_label("Location").fill("Sevilla")
    first = _identity(page, 1)
    first.get_by_label("Platform").select_option("x")
    first.get_by_label("Handle").fill("ana_devrel")
    first.get_by_label("Followers").fill("12000")

    # The form starts with three rows; the button asks the server for a fourth (htmx, beforeend),
    # and the response also replaces the button out of band so the next click asks for a fifth.
    expect(_identity(page, 4)).to_have_count(0)
    page.get_by_role("button", name="Add another identity").click()
    second = _identity(page, 4)
    expect(second).to_be_visible()
    second.get_by_label("Platform").select_option("github")
    second.get_by_label("Handle").fill("ana-codes")
    page.get_by_role("button", name="Add another identity").click()
    expect(_identity(page, 5)).to_be_visible()
    expect(_identity(page, 4)).to_have_count(1)
    expect(page.get_by_role("button", name="Add another identity")).to_have_count(1)
    expect(page.locator("[name=identities-4-handle]")).to_have_count(1)
    screenshot(page, "b-profile-form")

    page.get_by_role("button", name="Add person").click()

    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.get_by_role("heading", name="Ana López", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Ana López added.")
    identities = page.locator("section", has=page.get_by_role("heading", name="Identities")).get_by_role(
        "table"
    )
    expect(identities.get_by_role("row")).to_have_count(3)  # header + two identities
    expect(identities.get_by_role("cell", name="ana_devrel")).to_be_visible()
    expect(identities.get_by_role("cell", name="ana-codes")).to_be_visible()
    expect(identities.get_by_role("cell", name="Github")).to_be_visible()
    screenshot(page, "b-profile-created")


def test_c_search_updates_results_in_place(page: Any, live_server: LiveServer) -> None:
    make_profile(
        live_server.engine,
        "Ana López",
        identities=[{"platform": "x", "handle": "ana_devrel", "followers": 12000}],
    )
    make_profile(live_server.engine, "Bruno Díaz", identities=[{"platform": "github", "handle": "brunod"}])
    make_profile(live_server.engine, "Carla Ruiz", identities=[{"platform": "x", "handle": "carla_r"}])
    sign_in(page)
    page.get_by_role("link", name="People", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/people")
    results = page.locator("#results")
    expect(results.locator(".result-count")).to_have_text("3 people")
    _set_marker(page)

    page.get_by_role("searchbox", name="Search people").press_sequentially("devr", delay=30)

    expect(results.locator(".result-count")).to_have_text("1 person matching “devr”")
    expect(page).to_have_url(re.compile(r"/people\?(.*&)?q=devr(&|$)"))
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("link", name="Ana López")).to_be_visible()
    expect(results.get_by_role("link", name="Bruno Díaz")).to_have_count(0)
    _assert_marker(page)
    screenshot(page, "c-search-results")

    rows.get_by_role("link", name="Ana López").click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.get_by_role("heading", name="Ana López", level=1)).to_be_visible()

    # Back returns to the pushed search, not the unfiltered list.
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=devr"))
    expect(page.locator("#results .result-count")).to_have_text("1 person matching “devr”")


def test_d_empty_name_is_reported_in_place(
    page: Any, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow_status(422)
    sign_in(page)
    page.goto("/people/new")
    _set_marker(page)
    page.get_by_label("Bio").fill("Answers every Python question on the forum.")
    page.get_by_label("Location").fill("Madrid")
    page.get_by_label("Moderator").check()
    # A row without a link needs its platform chosen ("From the link" is the default): the name is
    # then the only mistake on the form.
    _identity(page, 1).get_by_label("Platform").select_option("discourse")
    _identity(page, 1).get_by_label("Handle").fill("no_name_yet")
    _identity(page, 1).get_by_label("Followers").fill("3400")

    page.get_by_role("button", name="Add person").click()

    name = page.locator("#f-display_name")
    expect(name).to_have_attribute("aria-invalid", "true")
    error = page.locator("label[for=f-display_name] .field-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("This field is required.")
    expect(name).to_have_attribute("aria-describedby", "display_name-error")
    expect(page.get_by_role("alert")).to_have_text(re.compile("Please correct the fields marked below"))
    # Nothing the user typed is lost.
    expect(page.get_by_label("Bio")).to_have_value("Answers every Python question on the forum.")
    expect(page.get_by_label("Location")).to_have_value("Madrid")
    expect(page.get_by_label("Moderator")).to_be_checked()
    expect(_identity(page, 1).get_by_label("Platform")).to_have_value("discourse")
    expect(_identity(page, 1).get_by_label("Handle")).to_have_value("no_name_yet")
    expect(_identity(page, 1).get_by_label("Followers")).to_have_value("3400")
    # Swapped by htmx, not a new page: same URL, same document, one form, keyboard on the name.
    expect(page).to_have_url(re.compile(r"/people/new$"))
    _assert_marker(page)
    expect(page.locator("form#profile-form")).to_have_count(1)
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(name).to_be_focused()
    screenshot(page, "d-form-errors")

    # Correcting the mistake then succeeds.
    name.fill("Nora Nombre")
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("heading", name="Nora Nombre", level=1)).to_be_visible()


def test_d_a_resized_box_survives_the_error_re_render(
    page: Any, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    """Dragging a textarea's corner gives it an inline size; htmx must not copy that onto the
    re-rendered form (its settle step would, with setAttribute: a CSP violation, see static/js/app.js)."""
    browser_errors.allow_status(422)
    sign_in(page)
    page.goto("/people/new")
    bio = page.get_by_label("Bio")
    bio.fill("Talks about Rust.")
    box = bio.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # the resize handle
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 80, steps=5)
    page.mouse.up()
    assert bio.get_attribute("style"), "dragging the corner should have resized the box"

    page.get_by_role("button", name="Add person").click()

    expect(page.locator("#f-display_name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Bio")).to_have_value("Talks about Rust.")
    page.wait_for_timeout(100)  # violations are reported asynchronously; the fixture fails on any


def test_e_delete_through_the_confirmation_page(page: Any, live_server: LiveServer) -> None:
    make_profile(live_server.engine, "Dora Delete", identities=[{"platform": "x", "handle": "dora"}])
    make_profile(live_server.engine, "Eve Stays")
    sign_in(page)
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Dora Delete").click()
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(re.compile(r"/people/\d+/delete$"))
    expect(page.get_by_role("heading", name="Delete Dora Delete?")).to_be_visible()
    expect(page.get_by_text("1 identity", exact=True)).to_be_visible()
    screenshot(page, "e-delete-confirmation")
    page.get_by_role("button", name="Delete", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/people")
    # The list has a second live region (the bulk bar's "selected" count), so find the flash by its words.
    flash = page.get_by_role("status").filter(has_text="was deleted")
    expect(flash).to_have_text("Dora Delete was deleted.")
    expect(page.locator("#results .result-count")).to_have_text("1 person")
    expect(page.get_by_role("link", name="Dora Delete")).to_have_count(0)
    expect(page.get_by_role("link", name="Eve Stays")).to_be_visible()
    screenshot(page, "e-after-delete")


def test_f_viewer_cannot_add_people(
    page: Any, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow_status(403)
    make_user(live_server.engine, "viewer@example.com", role="viewer", name="Vic Viewer")
    make_profile(live_server.engine, "Ana López")
    sign_in(page, "viewer@example.com")
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("link", name="Ana López")).to_be_visible()
    expect(page.get_by_role("button", name="Add a person")).to_have_count(0)
    expect(page.get_by_role("link", name="Add a person")).to_have_count(0)
    page.get_by_role("link", name="Ana López").click()
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)

    page.goto("/people/new")
    expect(page.get_by_role("heading", name="You cannot do that")).to_be_visible()
    expect(page.get_by_text("Your role can read but not change anything.")).to_be_visible()
    screenshot(page, "f-viewer-forbidden")

    page.goto("/people")
    expect(page.locator("#results .result-count")).to_have_text("1 person")


def test_g_demoted_while_editing_gets_a_whole_error_page(
    page: Any, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    """The form is open when the role changes: the 403 replaces <main>, not just the form."""
    from sqlmodel import Session, select

    from crm.accounts.models import User
    from crm.db import write_bind

    browser_errors.allow_status(403)
    sign_in(page, "manager@example.com")
    page.goto("/people/new")
    page.locator("#f-display_name").fill("Too Late")
    with Session(write_bind(live_server.engine)) as session:
        user = session.exec(select(User).where(User.email == "manager@example.com")).one()
        user.role = "viewer"
        session.add(user)
        session.commit()
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("heading", name="You cannot do that")).to_be_visible()
    expect(page.locator("header.topbar")).to_have_count(1)  # one page, not a page inside the form
    expect(page.locator("form#profile-form")).to_have_count(0)
    screenshot(page, "g-demoted-forbidden")


def test_h_older_history_loads_in_place(page: Any, live_server: LiveServer) -> None:
    from datetime import timedelta

    from crm.db import session_scope, utcnow
    from crm.interactions.models import Interaction

    person = make_profile(live_server.engine, "Busy Person")
    with session_scope(live_server.engine, write=True) as session:
        for n in range(25):
            session.add(Interaction(profile_id=person.id, kind="forum_answer", title=f"Answer {n:02d}",
                                    occurred_at=utcnow() - timedelta(days=n)))
    sign_in(page)
    page.goto(f"/people/{person.id}")
    # Interactions come 20 a page; audit events about the person (here: "added") are interleaved by time.
    items = page.locator("#timeline li.timeline-item:not(.audit-event)")
    events = page.locator("#timeline li.audit-event")
    expect(items).to_have_count(20)
    expect(events).to_have_count(1)
    expect(page.locator("#timeline-more")).to_contain_text("20 of 25")
    _set_marker(page)
    page.get_by_role("button", name="Show older").click()
    expect(items).to_have_count(25)
    expect(items.last).to_contain_text("Answer 24")
    expect(events).to_have_count(1)  # each event on exactly one page, not repeated by the older one
    expect(page.locator("#timeline-more")).to_contain_text("25 of 25")
    expect(page.get_by_role("button", name="Show older")).to_have_count(0)
    _assert_marker(page)
    screenshot(page, "h-timeline-older")


def test_i_revoking_a_token_asks_first(page: Any, live_server: LiveServer) -> None:
    sign_in(page)
    page.goto("/settings")
    page.get_by_label("Token name").fill("Zapier")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("avz_")
    revoke = page.get_by_role("button", name="Revoke")

    page.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    expect(page.locator("#tokens tbody tr")).to_have_count(1)  # kept: the user said no

    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    revoke.click()
    expect(page.get_by_text("Token revoked.")).to_be_visible()
    expect(page.locator("#tokens tbody tr")).to_have_count(0)
    assert messages == ["Revoke the token “Zapier”? Scripts using it stop working."]


def test_j_a_similar_name_is_pointed_out_while_typing(page: Any, live_server: LiveServer) -> None:
    make_profile(live_server.engine, "María José Fernández")
    sign_in(page)
    page.goto("/people/new")
    _set_marker(page)
    page.locator("#f-display_name").press_sequentially("Maria Jose Fernandez", delay=10)
    hint = page.get_by_role("status").filter(has_text="Already in Altavoz?")
    expect(hint).to_be_visible()
    expect(hint.get_by_role("link", name="María José Fernández")).to_be_visible()
    _assert_marker(page)
    screenshot(page, "j-similar-name")
