"""Issue 7's "done when", as a new community manager would do it with the demo data, in Chromium:
find every Spanish-speaking forum moderator with more than 1,000 followers who has not posted in 60
days, save that as a view, export it to CSV, log a note on one of them, and open their ego network."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from crm.imports.seed_loader import default_seed_dir, load_seed
from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def _expected(live_server: LiveServer, now: datetime) -> set[str]:
    """The answer, worked out from the tables rather than through the app's own search code."""
    cutoff = now - timedelta(days=60)
    with live_server.engine.connect() as conn:
        people = conn.execute(text(
            "SELECT p.id, p.display_name, p.language, p.roles FROM profile p"
            " WHERE (SELECT COALESCE(SUM(followers), 0) FROM identity i WHERE i.profile_id = p.id) > 1000")).all()
        posted = {pid for (pid,) in conn.execute(
            text("SELECT DISTINCT profile_id FROM interaction WHERE kind = 'post' AND occurred_at >= :cutoff"),
            {"cutoff": cutoff.replace(tzinfo=None).isoformat(sep=" ")})}
    return {name for pid, name, language, roles in people
            if language.split("-")[0] == "es" and "moderator" in roles and pid not in posted}


def test_quiet_spanish_moderators_saved_exported_noted_and_their_network(new_page: Any, live_server: LiveServer) -> None:
    now = datetime.now(UTC)
    load_seed(live_server.engine, default_seed_dir(), shift_to=now)
    expected = _expected(live_server, now)
    assert len(expected) >= 2, "the demo data should hold a few quiet Spanish moderators"

    page = new_page()
    sign_in(page)
    page.goto("/people")
    filters = page.locator("#people-filters")
    if filters.locator("select[name=role]").is_hidden():  # folded on narrow screens
        filters.locator("details.filter-panel > summary").click()
    filters.locator("select[name=role]").select_option("moderator")
    filters.locator("input[name=language]").fill("es")
    filters.locator("input[name=reach_min]").fill("1001")
    filters.locator("select[name=activity]").select_option("did_not")
    filters.locator("select[name=kind]").select_option("post")
    filters.locator("input[name=days]").fill("60")
    filters.locator("input[name=days]").press("Enter")
    page.wait_for_url(re.compile(r"activity=did_not.*"))
    rows = page.locator("table.people-table a.person-link")
    expect(rows).to_have_count(len(expected))
    assert set(rows.all_inner_texts()) == expected
    screenshot(page, "journey-quiet-spanish-moderators")

    # Save it as a view: the bar names it, and reopening it gives the same people.
    bar = page.locator("#views-bar")
    bar.locator("summary", has_text="Save this view").click()
    bar.locator("input[name=name]").fill("Quiet Spanish moderators")
    bar.locator("form[action='/people/views'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"view=\d+"))
    expect(page.locator("#views-bar summary strong")).to_have_text("Quiet Spanish moderators")
    page.goto("/people/views")
    page.get_by_role("link", name="Quiet Spanish moderators").first.click()
    expect(rows).to_have_count(len(expected))

    # Export all of them to CSV.
    page.locator("#bulk-form input[name=scope][value=all]").check()
    with page.expect_download() as download:
        page.locator("#bulk-form button[formaction='/people/export'][value=csv]").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert {row["name"] for row in exported} == expected

    # Log a note on one of them, from their profile, without a reload.
    first = sorted(expected)[0]
    page.locator("table.people-table a.person-link", has_text=first).click()
    expect(page.locator("h1")).to_contain_text(first)
    page.evaluate("window.__same_document = true")
    form = page.locator("form.interaction-form").first
    if form.is_hidden():
        page.locator("summary", has_text="Log an interaction").click()
    form.locator("select[name=kind]").select_option("note")
    form.locator("input[name=title]").fill("Asked about moderating the Spanish forum again")
    form.locator("button[type=submit]").click()
    expect(page.locator("#timeline")).to_contain_text("Asked about moderating the Spanish forum again")
    assert page.evaluate("window.__same_document === true"), "logging the note reloaded the page"

    # Open their ego network: drawn, with the people around them listed as text too.
    page.locator("details.ego > summary").click()
    canvas = page.locator("details.ego .graph-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    assert canvas.evaluate("el => el.cy.nodes().length") >= 1
    screenshot(page, "journey-ego-network")


def test_global_search_opens_from_any_page_and_finds_people(new_page: Any, live_server: LiveServer) -> None:
    from tests.factories import make_profile

    lucia = make_profile(live_server.engine, "Lucía Gómez Marín", location="Madrid, España")
    make_profile(live_server.engine, "Bruno Díaz", location="Sevilla")
    page = new_page()
    sign_in(page)
    page.goto("/settings")
    page.keyboard.press("/")
    box = page.locator("#global-q")
    expect(box).to_be_focused()
    box.press_sequentially("lucia gomez", delay=20)
    results = page.locator("#global-search-results")
    expect(results).to_be_visible()
    expect(results.locator("a.search-match")).to_have_count(1)
    expect(box).to_have_attribute("aria-expanded", "true")
    screenshot(page, "global-search-dropdown")
    box.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/people/{lucia.id}")
    page.keyboard.press("Control+k")
    expect(page.locator("#global-q")).to_be_focused()
