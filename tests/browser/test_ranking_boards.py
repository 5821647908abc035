"""The leaderboard in Chromium: filters swap the board without a reload, "Recompute now" shows a status
that follows the job and the board reloads itself when it is done; the page fits a phone in English
and Spanish. Screenshots: test-artifacts/ranking-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import ranking_boards_community as community
from tests.browser.conftest import DESKTOP, PHONE, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def people(live_server: LiveServer) -> dict[str, int]:
    ids = community.build(live_server.engine)
    community.compute_with_history(live_server.engine)
    return ids


def _names(page: Any) -> list[str]:
    return [name.strip() for name in page.locator("#board td.person a").all_inner_texts()]


def test_filters_and_recompute_without_a_reload(new_page: Callable[..., Any], live_server: LiveServer,
                                                 people: dict[str, int]) -> None:
    page = new_page(**DESKTOP)
    sign_in(page)
    page.goto("/ranking")
    expect(page.locator("#board td.person a")).to_have_count(4)
    assert _names(page) == community.ORDER
    page.evaluate("window.stillTheSamePage = true")

    page.locator("#b-period").select_option("30")
    expect(page).to_have_url(re.compile(r"period=30"))
    expect(page.locator("#board td.person a")).to_have_count(2)
    assert _names(page) == ["Ana", "Bruno"]
    expect(page.locator("#board th", has_text="Advocacy in the period")).to_be_visible()

    # Someone contributes a lot; the board shows it once scores are recomputed, without a reload.
    zoe = community.build_one(live_server.engine, "Zoe", talks=30)
    page.get_by_role("button", name="Recompute now").click()
    status = page.locator("#rank-status .rank-job")
    expect(status).to_be_visible()
    expect(page.locator("#rank-status .rank-done")).to_be_visible(timeout=15_000)
    expect(page.locator("#board td.person a").first).to_have_text("Zoe", timeout=5_000)
    assert _names(page) == ["Zoe", "Ana", "Bruno"]
    assert page.locator(f"#board td.person a[href='/people/{zoe}']").count() == 1
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page).to_have_url(re.compile(r"period=30"))
    screenshot(page, "ranking-desktop-after-recompute")


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-GB"), ("es", "es-ES")])
def test_the_board_fits_a_phone(new_page: Callable[..., Any], people: dict[str, int], lang: str, locale: str) -> None:
    page = new_page(**PHONE, locale=locale)
    sign_in(page)
    for path in ("/ranking", "/ranking?period=90&include_team=true", "/"):
        page.goto(path)
        width, screen = page.evaluate("[document.documentElement.scrollWidth, screen.width]")
        assert width <= screen, f"{path} is {width} px wide on a {screen} px phone"
    page.goto("/ranking")
    first = page.locator("#board tbody tr").first
    box, name = first.bounding_box(), first.locator("td.person").bounding_box()
    assert box is not None and name is not None and name["y"] - box["y"] < 30  # position and name on the first line
    expect(page.locator("#rising ol.movers li")).to_have_count(2)
    screenshot(page, f"ranking-phone-{lang}")
