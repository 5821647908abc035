"""Saved views and bulk actions in real Chromium: the bar loads by htmx with the list's filters, a
view is saved from the current (htmx-changed) filters, rows are ticked and changed in bulk, and the
selection is exported as CSV."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import make_profile

pytestmark = pytest.mark.browser


def test_save_a_view_change_in_bulk_and_export(new_page: Any, live_server: LiveServer) -> None:
    for n in range(3):
        make_profile(live_server.engine, f"Moderator {n}", roles=["moderator"])
    make_profile(live_server.engine, "Ivan Influencer", roles=["influencer"])
    page = new_page()
    sign_in(page)
    page.goto("/people")

    # Filter through htmx: the address bar follows, and the view saved is the list as it is now.
    page.locator("#people-filters select[name=role]").select_option("moderator")
    page.wait_for_url(re.compile(r"role=moderator"))
    expect(page.locator("table.people-table a.person-link")).to_have_count(3)
    bar = page.locator("#views-bar")
    bar.locator("summary", has_text="Save this view").click()
    bar.locator("input[name=name]").fill("All moderators")
    bar.locator("form[action='/people/views'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"view=\d+"))
    expect(page.locator("#views-bar summary strong")).to_have_text("All moderators")
    expect(page.locator(".flash-success")).to_contain_text("All moderators")

    # Tick the page, then add a tag in three steps.
    page.locator("#bulk-form .bulk-select-page").check()
    expect(page.locator("#bulk-form .bulk-count")).to_have_text("(3)")
    page.locator("#bulk-action").select_option("add_tag")
    page.locator("#bulk-form button", has_text="Change").click()
    expect(page.locator("h1")).to_have_text("Change 3 people")
    page.locator("#f-tag").fill("vip")
    page.locator("button", has_text="Review the change").click()
    expect(page.locator(".bulk-count-will-change strong")).to_have_text("3 people will change")
    screenshot(page, "bulk-confirm")
    page.locator("#confirm-bulk").click()
    expect(page.locator(".flash-success")).to_contain_text("3 of 3 selected people changed")

    # Export the ticked rows as CSV: a download with the id and the name of each.
    page.locator("table.people-table input[name=ids]").first.check()
    with page.expect_download() as download_info:
        page.locator("#bulk-form button[formaction='/people/export'][value=csv]").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("id,name,")
    assert len(text.splitlines()) == 2
