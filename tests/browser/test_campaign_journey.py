"""Issue 9's "done when", as a new community manager would do it with the demo data, in Chromium:
create a campaign about a topic, see ranked candidates with reasons, build a 10-person roster, see a
warm-introduction path to one candidate, move people through the pipeline, log a deliverable, complete
the campaign and see the report."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from crm.imports.seed_loader import default_seed_dir, load_seed
from crm.ranking import service as ranking
from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_a_campaign_from_discovery_to_report(new_page: Any, live_server: LiveServer, browser_errors: Any) -> None:
    browser_errors.allow_status(422)  # the form refuses an end before the start, on purpose
    now = datetime.now(UTC)
    load_seed(live_server.engine, default_seed_dir(), shift_to=now)
    ranking.recompute(live_server.engine)
    page = new_page()
    sign_in(page)

    # Create a campaign about a topic the demo people talk about.
    page.goto("/campaigns")
    page.locator("#new-campaign").click()
    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("Python week")
    form.locator("input[name=topics]").fill("python, data engineering")
    form.locator("input[name=keywords]").fill("python")
    form.locator("input[name=starts_on]").fill((now - timedelta(days=1)).date().isoformat())
    form.locator("input[name=ends_on]").fill((now - timedelta(days=3)).date().isoformat())  # before the start
    form.locator("button[type=submit]").click()
    expect(page.locator("#ends_on-error")).to_be_visible()  # a clear message, values kept
    expect(page.locator("#campaign-form input[name=name]")).to_have_value("Python week")
    page.locator("#campaign-form input[name=ends_on]").fill((now + timedelta(days=20)).date().isoformat())
    page.locator("#campaign-form input[name=budget]").fill("4000")
    page.locator("#campaign-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    campaign_id = int(page.url.rsplit("/", 1)[1])

    # Ranked candidates, each with its reasons.
    page.goto(f"/campaigns/{campaign_id}/discover")
    cards = page.locator("li.candidate-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 10
    first = cards.first
    assert "python" in first.locator(".card-why").inner_text().lower()
    fits = [float(v.replace(",", ".")) for v in page.locator("dd[data-col=fit]").all_inner_texts()]
    assert fits == sorted(fits, reverse=True) and fits[0] > 0
    screenshot(page, "campaign-discover")

    # A warm introduction to one of them: "Ana → Luis → target", with the evidence for each hop.
    found = None
    for index in range(min(cards.count(), 15)):
        card = cards.nth(index)
        card.get_by_role("link", name=re.compile("How to reach")).click()
        intro = card.locator(".warm-intro")
        expect(intro).to_be_visible()
        if intro.get_attribute("data-found") == "yes" and card.locator(".intro-hop").count() >= 1:
            found = card
            break
    assert found is not None, "no candidate among the first 15 has a warm path from the team or a champion"
    people = found.locator(".intro-path a.intro-person").all_inner_texts()
    assert len(people) >= 2 and people[-1] == found.locator("h3 a").inner_text()
    assert "strength" in found.locator(".intro-hop").first.inner_text()

    # A 10-person roster, compared with the top 10 by score, added to the pipeline.
    page.goto(f"/campaigns/{campaign_id}/roster")
    page.locator("#r-k").fill("10")
    page.locator("#roster-form button[type=submit]").click()
    rows = page.locator("table.roster-table tbody tr")
    expect(rows).to_have_count(10)
    screenshot(page, "campaign-roster")
    page.get_by_role("button", name=re.compile("Add these 10 to the pipeline")).click()
    expect(page.locator("#roster-added")).to_contain_text("10")

    # The pipeline: everyone shortlisted; move two people on, one of them to confirmed.
    page.goto(f"/campaigns/{campaign_id}/pipeline")
    shortlisted = page.locator("li.member-card[data-stage=shortlisted]")
    expect(shortlisted).to_have_count(10)
    mover = shortlisted.first
    mover_id = mover.get_attribute("id")
    mover_name = mover.locator("a.member-name").inner_text()
    mover.locator("button.step-on").focus()
    page.keyboard.press("Enter")  # one htmx action, by keyboard: shortlisted -> contacted
    expect(page.locator(f"#{mover_id}")).to_have_attribute("data-stage", "contacted")
    member = mover_id.removeprefix("member-")
    # The board is swapped whole; the keyboard stays on the same button of the moved card.
    expect(page.locator(f"#step-on-{member}")).to_be_focused()
    card = page.locator(f"#{mover_id}")
    card.locator("select[name=stage]").select_option("confirmed")
    card.locator("form.move-form button[type=submit]").click()
    expect(page.locator(f"#{mover_id}")).to_have_attribute("data-stage", "confirmed")
    assert page.url.endswith("/pipeline")  # no reload: the board was swapped in place
    screenshot(page, "campaign-pipeline")

    # A deliverable from the confirmed member.
    page.goto(f"/campaigns/{campaign_id}/deliverables")
    form = page.locator("form.deliverable-form")
    form.locator("select[name=profile_id]").select_option(label=mover_name)
    form.locator("select[name=kind]").select_option("post")
    form.locator("input[name=url]").fill("https://example.com/python-week/1")
    form.locator("input[name=title]").fill("Ten things I like about the new CLI")
    form.locator("input[name=reach]").fill("12,000")
    form.locator("input[name=engagements]").fill("600")
    form.locator("button[type=submit]").click()
    expect(page.locator("table.deliverables")).to_contain_text("Ten things I like about the new CLI")

    # Complete the campaign (the close-out thanks the participant) and see the report.
    page.goto(f"/campaigns/{campaign_id}/complete")
    expect(page.locator("tr.participant")).to_have_count(1)
    page.locator("form.closeout-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/campaigns/{campaign_id}/report$"))
    expect(page.locator(".flash-success")).to_contain_text("1 person thanked")
    expect(page.locator("dd.total-reach")).to_have_text("12,000")
    expect(page.locator("dd.total-engagements")).to_have_text("600")
    expect(page.locator("dd.total-rate")).to_contain_text("5")
    screenshot(page, "campaign-report")

    with live_server.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM campaign WHERE id = :id"), {"id": campaign_id}).scalar_one()
        stages = dict(conn.execute(text("SELECT stage, count(*) FROM campaign_member WHERE campaign_id = :id"
                                        " GROUP BY stage"), {"id": campaign_id}).all())
        moves = conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'campaign.member_stage'"
                                  " AND object_id = :id"), {"id": campaign_id}).scalar_one()
    assert status == "completed" and stages == {"shortlisted": 9, "completed": 1}
    assert moves == 3  # contacted, confirmed, and completed by the close-out: each audited
