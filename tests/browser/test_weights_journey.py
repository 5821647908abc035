"""Issue 8's "done when", in Chromium: a manager makes a new version of the score weights that counts
reach alone, sees the preview list who would move, activates it, and the leaderboard (after the
recompute the in-process worker runs) puts the person with the biggest audience first. Then the
person's page explains the new score in numbers that add up."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.ranking import service
from tests.browser.conftest import PHONE, LiveServer, screenshot, sign_in
from tests.score_data import community

pytestmark = pytest.mark.browser


def test_reach_only_weights_previewed_activated_and_applied(new_page: Any, live_server: LiveServer) -> None:
    people = community(live_server.engine)
    service.recompute(live_server.engine)  # version 1 (the defaults) is active: Bruno, the contributor, leads

    page = new_page()
    sign_in(page)
    page.goto("/ranking")
    expect(page.locator("table.board-table tbody tr").first).to_have_attribute("data-profile", str(people["Bruno"]))
    page.locator(".page-head a[href='/ranking/weights']").click()
    page.wait_for_url(re.compile(r"/ranking/weights$"))
    page.locator("#new-weight-set").click()
    page.wait_for_url(re.compile(r"/ranking/weights/new$"))

    # Only reach counts; a name says why.
    page.get_by_label("Name").fill("Reach only")
    page.get_by_label("Reach", exact=True).fill("1")
    page.get_by_label("Advocacy", exact=True).fill("0")
    page.get_by_label("Influence", exact=True).fill("0")
    page.locator("#save-weights").click()
    page.wait_for_url(re.compile(r"/ranking/weights/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text("Version 2 saved")

    # The preview: Ana (half a million followers) moves up to #1, Bruno moves down.
    preview = page.locator("#preview")
    first_up = preview.locator(".movers-up tbody tr").first
    expect(first_up).to_have_attribute("data-profile", str(people["Ana"]))
    expect(first_up).to_contain_text(re.compile(r"#\d → #1"))
    expect(preview.locator(f".movers-down tbody tr[data-profile='{people['Bruno']}']")).to_have_count(1)
    expect(preview.locator(".top-after ol li").first).to_contain_text("Ana")
    expect(page.locator(".values-table tr.changed")).to_have_count(3)
    screenshot(page, "weights-preview")

    # Activate, after the confirmation step.
    page.locator("#activate-weights").click()
    page.wait_for_url(re.compile(r"/ranking/weights/\d+/activate$"))
    page.locator("#confirm-activate").click()
    page.wait_for_url(re.compile(r"/ranking$"))
    expect(page.locator(".flash-success")).to_contain_text("Version 2 is active")

    # The worker recomputes; the board reloads itself when the job is done, with Ana first.
    expect(page.locator(".rank-done")).to_be_visible(timeout=20_000)
    expect(page.locator("table.board-table tbody tr").first).to_have_attribute("data-profile", str(people["Ana"]),
                                                                               timeout=10_000)
    expect(page.locator(".board-meta")).to_contain_text("weights version 2")
    screenshot(page, "weights-activated-board")

    # Ana's page says why: reach is all that counts, and the points add up to the score.
    page.goto(f"/people/{people['Ana']}")
    panel = page.locator("#score-panel")
    expect(panel.locator(".score-rank")).to_have_text("Rank #1 of 4")
    shares = panel.locator("table.score-components tbody td.share").all_inner_texts()
    assert shares == ["100%", "0%", "0%"]
    points = [float(p) for p in panel.locator("table.score-components tbody td.points").all_inner_texts()]
    score = float(panel.locator(".score-value").inner_text())
    assert score == 100.0 and sum(points) == pytest.approx(score)
    expect(panel.locator(".score-formula a")).to_have_text("Weights version 2")


def test_the_pages_fit_a_phone(new_page: Any, live_server: LiveServer, browser_errors: Any) -> None:
    people = community(live_server.engine)
    service.recompute(live_server.engine)
    page = new_page(**PHONE, locale="es-ES")
    sign_in(page)
    for path in ("/ranking/weights", "/ranking/weights/new", "/ranking/weights/1", f"/people/{people['Bruno']}",
                 f"/people/{people['Bruno']}/score"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
    page.goto("/ranking/weights/new")
    browser_errors.allow_status(422)
    page.locator("input[name='kinds.post']").fill("-2")
    page.locator("#save-weights").click()
    expect(page.locator("#kinds-post-error")).to_be_visible()
    expect(page.locator("input[name='kinds.post']")).to_have_value("-2")
