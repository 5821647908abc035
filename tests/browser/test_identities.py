"""Quick identity entry in real Chromium: a link fills its row, a box of links fills several rows,
a row is removed, and the person is saved with counts written the Spanish way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def _row(page: Any, n: int) -> Any:
    return page.locator(f"#identity-row-{n}")


def test_links_fill_rows_and_a_row_can_be_removed(new_page: Any, live_server: LiveServer) -> None:
    page = new_page(locale="es-ES")
    sign_in(page)
    page.goto("/people/new")
    page.locator("#f-display_name").fill("Lucía Fernández")

    # One link typed into the first row's link field: Enter fills platform and handle and moves on to the followers.
    url = page.locator("[name=identities-0-url]")
    url.fill("https://x.com/luciaf/status/1")
    url.press("Enter")
    expect(page.locator("[name=identities-0-handle]")).to_have_value("luciaf")
    expect(page.locator("[name=identities-0-platform]")).to_have_value("x")
    expect(page.locator("[name=identities-0-followers]")).to_be_focused()
    page.keyboard.type("12.500")

    # Several links at once: each becomes a row after the one typed, and the box empties.
    page.locator("#f-links").fill("https://www.youtube.com/@LuciaTube\nhttps://www.instagram.com/lucia.f/\ngithub.com/luciaf")
    page.locator("#fill-from-links").click()
    expect(page.locator("[name=identities-3-handle]")).to_have_value("luciaf")
    expect(page.locator("[name=identities-1-platform]")).to_have_value("youtube")
    expect(page.locator("[name=identities-0-followers]")).to_have_value("12.500")
    expect(page.locator("#f-links")).to_have_value("")
    expect(page.locator("#identity-rows .identity-row")).to_have_count(5)  # four filled, one blank

    # The instagram row goes again.
    _row(page, 2).locator("[data-remove-identity]").click()
    expect(_row(page, 2)).to_have_count(0)
    screenshot(page, "identities-quick-entry")

    page.locator("#profile-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    identities = page.locator("section", has=page.get_by_role("heading", name=re.compile("Identidades|Identities")))
    table = identities.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(4)  # header + x, youtube, github
    expect(table).to_contain_text("LuciaTube")
    expect(table).not_to_contain_text("lucia.f")
    expect(page.locator("body")).to_contain_text("12.500")
