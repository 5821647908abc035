"""Issue 10's "done when", as a new community manager would do it with the demo data, in Chromium:
open the "not yet thanked" queue, award points and a badge to three people in bulk, see them leave the
queue, see their balances and badges, redeem a reward for one, approve and fulfil it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.imports.seed_loader import default_seed_dir, load_seed
from crm.recognition import badges, rewards
from crm.recognition.models import RewardCategory
from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_thank_three_in_bulk_then_redeem_approve_and_fulfil(new_page: Any, live_server: LiveServer) -> None:
    load_seed(live_server.engine, default_seed_dir(), shift_to=datetime.now(UTC))
    with session_scope(live_server.engine, write=True) as session:  # a badge nobody holds yet, and a reward
        badges.create_badge(badges.BadgeIn(name="Launch crew", symbol="✦", manual=True), session=session, actor=SYSTEM)
        rewards.create_reward(rewards.RewardIn(name="Shout-out in the newsletter", category=RewardCategory.shout_out,
                                               cost=50), session=session, actor=SYSTEM)
    page = new_page()
    sign_in(page)

    # The queue: tick the first three people, give them 40 points and a badge in one step.
    page.goto("/recognition")
    rows = page.locator("table.queue-table tbody tr[data-profile]")
    expect(rows.first).to_be_visible()
    before = rows.count()
    chosen = [int(rows.nth(i).get_attribute("data-profile") or 0) for i in range(3)]
    for pid in chosen:
        page.locator(f'tr[data-profile="{pid}"] td.tick input[type=checkbox]').check()
    page.locator("#bulk-points").fill("40")
    page.locator("#bulk-badge").select_option(label="✦ Launch crew")
    page.locator("#bulk-reason").fill("Thanks for the launch week")
    page.locator("#bulk-points-button").click()
    expect(page.locator("#queue .notice.success")).to_contain_text("40 points and the badge")
    for pid in chosen:  # they leave the queue, without a reload
        expect(page.locator(f'tr[data-profile="{pid}"]')).to_have_count(0)
    assert page.locator("table.queue-table tbody tr[data-profile]").count() >= min(before - 3, 1)
    screenshot(page, "recognition-queue-after-bulk")

    # Their balances and badges, on their pages.
    for pid in chosen:
        page.goto(f"/people/{pid}")
        panel = page.locator("#recognition-panel")
        lifetime = int(re.sub(r"\D", "", panel.locator("#points-lifetime").inner_text()))
        assert lifetime >= 40
        expect(panel.locator(".earned-badges")).to_contain_text("Launch crew")
    with live_server.engine.connect() as conn:
        awarded = conn.execute(text("SELECT profile_id, amount FROM point_entry WHERE kind = 'awarded'")).all()
    assert sorted(awarded) == sorted((pid, 40) for pid in chosen)

    # Redeem a reward for one of them: their first redemption waits for approval, then is fulfilled.
    person = chosen[0]  # nobody has redeemed anything yet: this is their first redemption
    page.goto(f"/recognition/rewards?profile_id={person}")
    balance = int(page.locator(".points-balance").get_attribute("data-balance") or 0)
    card = page.locator("li.reward-card", has_text="Shout-out in the newsletter")
    card.locator("form.redeem-form button[type=submit]").click()
    expect(page.locator(".flash-success, .notice.success").first).to_be_visible()
    page.goto("/recognition/redemptions")
    row = page.locator(f"tr[data-redemption]:has(a[href='/people/{person}'])")
    expect(row).to_have_attribute("data-status", "requested")
    row.locator("form.approve-form button[type=submit]").click()
    expect(row).to_have_attribute("data-status", "approved")
    row.locator("#" + (row.locator("form.fulfil-form input[name=tracking]").get_attribute("id") or "")).fill("Newsletter #42")
    row.locator("form.fulfil-form button[type=submit]").click()
    expect(row).to_have_attribute("data-status", "fulfilled")
    screenshot(page, "recognition-redemption-fulfilled")

    page.goto(f"/recognition/rewards?profile_id={person}")
    assert int(page.locator(".points-balance").get_attribute("data-balance") or 0) == balance - 50
