"""The last filter a person sets is the one the list shows, however slow the answer before it.
htmx drops a request while another from the same form is in flight unless told to replace it;
that once left the people list on the previous filter (seen as a flaky journey test in CI)."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from crm.imports.seed_loader import default_seed_dir, load_seed
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser


def test_a_slow_answer_does_not_swallow_the_next_filter(new_page: Any, live_server: LiveServer) -> None:
    load_seed(live_server.engine, default_seed_dir(), shift_to=datetime.now(UTC))
    with live_server.engine.connect() as conn:
        spanish_moderators = {name for name, language, roles in conn.execute(
            text("SELECT display_name, language, roles FROM profile")).all()
            if "moderator" in roles and language.split("-")[0] == "es"}
    assert 2 <= len(spanish_moderators) <= 50

    page = new_page()
    sign_in(page)
    page.goto("/people")
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if not held:
            held.append(route)  # left unanswered until the next filter has been sent
        else:
            route.continue_()

    page.route(re.compile(r"/people\?"), hold_the_first)
    filters = page.locator("#people-filters")
    if filters.locator("select[name=role]").is_hidden():
        filters.locator("details.filter-panel > summary").click()
    filters.locator("select[name=role]").select_option("moderator")
    for _ in range(50):  # the role's request is on its way, and held
        if held:
            break
        page.wait_for_timeout(50)
    assert held
    filters.locator("input[name=language]").fill("es")
    filters.locator("input[name=language]").press("Enter")
    page.wait_for_url(re.compile(r"language=es"))
    with contextlib.suppress(Exception):  # already aborted by the newer request, which is the point
        held[0].continue_()
    rows = page.locator("table.people-table a.person-link")
    expect(rows).to_have_count(len(spanish_moderators))
    assert set(rows.all_inner_texts()) == spanish_moderators
    page.wait_for_timeout(500)  # a late answer to the first request must not land afterwards either
    assert set(rows.all_inner_texts()) == spanish_moderators
