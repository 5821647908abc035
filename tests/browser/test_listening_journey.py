"""Issue 11's "done when", as a new community manager would do it with the demo people, in Chromium:
import a file of posts with a burst of negative mentions about a product, see the spike alert with who
is talking, see a champion's complaint ranked above a larger stranger's with the reason, open a
complaint signal routed to Support, resolve it, close the loop with the person, and find it in the
month's report with a quote."""

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
from sqlmodel import col, select

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.imports.seed_loader import default_seed_dir, load_seed
from crm.jobs import service as jobs
from crm.listening import alerts, match
from crm.listening.models import Topic
from crm.profiles.models import Identity, Profile
from crm.ranking import service as ranking
from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser

PRODUCT = "Nimbo Dashboards"


def _setup(server: LiveServer) -> tuple[Profile, Identity]:
    """The demo people with their scores, a topic for the product and a rule for complaints about it."""
    engine = server.engine
    load_seed(engine, default_seed_dir(), shift_to=datetime.now(UTC) - timedelta(days=1))
    ranking.recompute(engine, trigger="test")
    with session_scope(engine, write=True) as session:
        topic = Topic(name=PRODUCT, kind="product", terms=[PRODUCT, "dashboard*"])
        session.add(topic)
        session.flush()
        match.enqueue_listen(topic.id or 0, session=session)
    jobs.run_pending(engine)
    with session_scope(engine, write=True) as session:
        rule, _secret = alerts.create_rule(alerts.AlertRuleIn(
            name="Complaints about dashboards", topic_id=topic.id, negative_only=True, min_count=4, max_p=0.01),
            session=session, actor=SYSTEM, allow_private=False)
        rule.evaluated_through = _last_hour() - timedelta(hours=1)  # the next tick evaluates the last whole hour
        session.add(rule)
        # A champion with a modest audience, and one of their identities to write the file with.
        champion = session.exec(select(Profile).where(Profile.level == 1, col(Profile.is_team_member).is_(False),
                                                      col(Profile.may_contact).is_(True), col(Profile.reach) > 0)
                                .order_by(col(Profile.reach))).first()
        assert champion is not None, "the demo data has champions"
        identity = session.exec(select(Identity).where(Identity.profile_id == champion.id)).first()
        assert identity is not None
        session.expunge(champion)
        session.expunge(identity)
    return champion, identity


def _last_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _posts(identity: Identity, path: Path) -> Path:
    """A CSV of posts: the champion's complaint (1,200 people reached), a stranger's with 300,000, and others."""
    before = _last_hour() - timedelta(minutes=2)  # all inside the window the tick tests, whatever the time
    rows = [
        (identity.platform, identity.handle, "", "complaint", f"{PRODUCT} broke our on-call this morning",
         "Every panel is blank and nobody answers. Terrible.", 1_200, -0.7),
        ("youtube", "bigstrangerchannel", "Big Stranger", "post", f"{PRODUCT} is down for everyone?",
         "Blank dashboards since 8am. Bad day.", 300_000, -0.7),
    ]
    for i in range(5):
        rows.append(("x", f"angryuser{i}", f"Angry User {i}", "post", f"{PRODUCT} not loading",
                     "The dashboard times out again. Broken.", 300 + i, -0.6))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "platform", "handle", "person_name", "kind", "title", "body", "reach", "sentiment",
                     "occurred_at", "channel", "url"])
    for n, (platform, handle, name, kind, title, body, reach, sentiment) in enumerate(rows):
        when = (before - timedelta(minutes=5 * n)).isoformat()
        writer.writerow([f"burst-{n}", platform, handle, name, kind, title, body, reach, sentiment, when, platform,
                         f"https://social.example/burst/{n}"])
    path.write_text(out.getvalue())
    return path


def test_burst_alert_radar_signal_loop_and_report(new_page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    champion, identity = _setup(live_server)
    page = new_page()
    sign_in(page)

    # 1. Import the file of posts.
    page.goto("/imports")
    page.locator("#file").set_input_files(str(_posts(identity, tmp_path / "burst.csv")))
    page.locator("select[name=entity]").select_option("interactions")
    page.locator("#upload-form input[name=source]").fill("social-listening")
    page.locator("#upload-form button[type=submit]").click()
    page.locator("#import-form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("No row was rejected.", timeout=30_000)
    with live_server.engine.connect() as conn:
        mentions = conn.execute(text("SELECT count(*) FROM mention m JOIN interaction i ON i.id = m.interaction_id "
                                     "WHERE i.source = 'social-listening'")).scalar_one()
        stranger = conn.execute(text("SELECT p.id, p.status FROM profile p JOIN identity d ON d.profile_id = p.id "
                                     "WHERE d.handle_key = 'bigstrangerchannel'")).one()
    assert mentions == 7 and stranger.status == "prospect"  # the unknown author is a prospect now

    # 2. The worker's next tick evaluates the rule: the spike alert, with who is talking.
    assert alerts.evaluate_due(live_server.engine)
    page.goto("/listening/alerts")
    alert = page.locator("article.alert-card").first
    expect(alert).to_contain_text(PRODUCT)
    expect(alert).to_contain_text(champion.display_name)
    expect(alert).to_contain_text("Big Stranger")
    screenshot(page, "listening-alert")

    # 3. The radar: the champion's complaint above the larger stranger's, and why.
    page.goto("/listening")
    rows = page.locator("table.radar-table tbody tr")
    expect(rows.first).to_be_visible()
    order = [rows.nth(i).get_attribute("data-standing") for i in range(rows.count())]
    assert order.index("champion") < order.index("stranger"), order
    champion_row = page.locator("table.radar-table tbody tr[data-standing=champion]").first
    expect(champion_row.locator(".reason")).to_contain_text(re.compile("champion", re.I))
    stranger_row = page.locator("table.radar-table tbody tr[data-standing=stranger]").first
    expect(stranger_row).to_contain_text("Big Stranger")
    expect(page.locator("#radar-bursts")).to_contain_text(champion.display_name)  # loaded after the list
    screenshot(page, "listening-radar")

    # 4. Open a complaint signal from the champion's row: routed to Support.
    champion_row.locator("a.row-signal").click()
    expect(page.locator("#signal-form")).to_be_visible()
    expect(page.locator("#signal-person")).to_contain_text(champion.display_name)
    page.locator("#signal-form button[type=submit]").click()
    expect(page.locator("#signal-status")).to_be_visible()
    expect(page.locator("#signal-department")).to_have_text("Support")
    signal_url = page.url

    # 5. Resolve it, then close the loop with the person.
    page.locator("details.resolve summary").click()
    page.locator("#f-note").fill("Fixed the panel renderer; deployed at noon.")
    page.locator("#resolve-form button[type=submit]").click()
    expect(page.locator("#signal-status")).to_have_text("Resolved")
    page.locator("#loop-form input[name=kind][value=outreach_email]").check()
    page.locator("#f-message").fill("Thanks for telling us: the dashboards are fixed.")
    page.locator("#loop-form button[type=submit]").click()
    expect(page.locator("#loop-done")).to_be_visible()
    screenshot(page, "listening-signal-resolved")
    page.goto(f"/people/{champion.id}")
    expect(page.get_by_text("Thanks for telling us: the dashboards are fixed.")).to_be_visible()

    # 6. This month's report: the signal counted, the champion's post picked as a quote.
    month = datetime.now(UTC).strftime("%Y-%m")
    page.goto(f"/listening/report?period=month&start={month}")
    expect(page.locator(".signals-opened")).to_have_text("1")
    expect(page.locator(".signals-resolved")).to_have_text("1")
    page.locator("details.quote-picker summary").click()
    candidate = page.locator("li.quote-candidate", has_text=f"{PRODUCT} broke our on-call")
    candidate.locator("input[type=checkbox]").check()
    page.locator(".quote-picker-form button[type=submit]").click()
    expect(page.locator("#quotes")).to_contain_text(f"{PRODUCT} broke our on-call")
    screenshot(page, "listening-report")
    assert signal_url.rsplit("/", 1)[-1].isdigit()
