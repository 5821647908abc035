"""The dashboard: this month against last, top contributors (the radar and signals widgets: test_radar, test_signals)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_skeleton

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.interactions.service import Headline, contributions_by_month
from tests.factories import make_profile, soup


def _add(engine, profile_id: int, kind: str, days_ago: float, sentiment: float | None = None, title: str = "") -> None:
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=profile_id, kind=kind, title=title, sentiment=sentiment,
                                occurred_at=utcnow() - timedelta(days=days_ago)))


def _card(page, label: str):
    for card in page.select(".stats article"):
        if card.select_one(".stat-label").get_text(strip=True) == label:
            return card
    raise AssertionError(f"no {label} card")


def _stat(page, label: str) -> str:
    return _card(page, label).select_one(".stat").get_text(" ", strip=True)


def test_empty_dashboard_says_so(manager_client):
    page = soup(manager_client.get("/"))
    assert page.title.get_text() == "Dashboard · Altavoz"
    assert _stat(page, "Contributions").startswith("0")
    texts = [e.get_text(" ", strip=True) for e in page.select(".empty-state")]
    assert any("No contributions in the last 30 days" in t for t in texts)
    assert any("No contributions recorded yet" in t for t in texts)


def test_headlines_compare_with_the_previous_thirty_days(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    for days in (1, 2, 3):
        _add(engine, ana.id, "forum_answer", days)
    _add(engine, bruno.id, "review", 4)
    _add(engine, bruno.id, "post", 40)
    _add(engine, bruno.id, "post", 45)
    _add(engine, ana.id, "outreach_email", 1)  # outreach is not a contribution
    page = soup(manager_client.get("/"))
    assert _stat(page, "Contributions") == "4 ▲ 100%"
    assert _stat(page, "People contributing") == "2 ▲ 100%"
    top = [li.get_text(" ", strip=True) for li in page.select("ol.ranked li")]
    assert top == ["Ana López 3 contributions", "Bruno Díaz 1 contribution"]
    bars = page.select(".chart rect.bar")
    assert len(bars) >= 12
    assert sum(int(t.get_text().rsplit(": ", 1)[1]) for t in page.select(".chart g title")) == 6


def test_recent_changes_are_for_people_who_can_change_things(manager_client, engine):
    make_profile(engine, "Somebody")
    assert soup(manager_client.get("/")).select_one(".history") is not None


def test_viewers_do_not_see_the_activity_log(viewer_client, engine):
    make_profile(engine, "Somebody")
    assert soup(viewer_client.get("/")).select_one(".history") is None


def test_change_percentages():
    assert Headline("x", 15, 10).change_pct == 50
    assert Headline("x", 5, 10).change_pct == -50
    assert Headline("x", 5, 0).change_pct is None


def test_team_members_are_kept_out_of_top_contributors(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    tomas = make_profile(engine, "Tomás Team", is_team_member=True)
    for days in (1, 2, 3):
        _add(engine, tomas.id, "talk", days)
    _add(engine, ana.id, "review", 1)
    page = soup(manager_client.get("/"))
    assert [a.get_text(strip=True) for a in page.select("ol.ranked li a")] == ["Ana López"]
    assert _stat(page, "Contributions").startswith("4")  # the headline numbers still count everyone


def test_no_change_is_neutral_and_no_previous_value_shows_no_percentage(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    _add(engine, ana.id, "post", 1)
    _add(engine, ana.id, "post", 40)
    page = soup(manager_client.get("/"))
    contributions = _card(page, "Contributions").select_one(".delta")
    assert contributions.get_text(strip=True) == "0%"
    assert contributions["class"] == ["delta", "neutral"]
    added = _card(page, "People added").select_one(".delta")  # one person now, none before
    assert added.get_text(strip=True) == "new" and "%" not in added.get_text()
    assert added["class"] == ["delta", "neutral"]


def test_changes_are_formatted_for_the_locale(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    _add(engine, ana.id, "post", 1)
    _add(engine, ana.id, "post", 2)
    _add(engine, ana.id, "post", 40)
    english = _card(soup(manager_client.get("/")), "Contributions").select_one(".delta.up")
    assert english.get_text(strip=True) == "▲ 100%"
    spanish = soup(manager_client.get("/", headers={"Accept-Language": "es"}))
    assert spanish.select_one(".stats .delta.up").get_text(strip=True) == "▲ 100\xa0%"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_chart_months_are_named_in_the_locale_with_the_year_where_it_changes(manager_client, engine, lang):
    ana = make_profile(engine, "Ana López")
    _add(engine, ana.id, "post", 1)
    page = soup(manager_client.get("/", headers={"Accept-Language": lang}))
    months = [utcnow().date().replace(day=1)]
    while len(months) < 12:
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    labels = [t.get_text() for t in page.select(".chart text.bar-label")]
    assert labels == [format_skeleton("MMM", m, locale=lang) for m in months]
    years = [(g.select_one(".bar-label").get_text(), g.select_one(".bar-year").get_text())
             for g in page.select(".chart g") if g.select_one(".bar-year")]
    expected = [(format_skeleton("MMM", m, locale=lang), str(m.year)) for i, m in enumerate(months) if i == 0 or m.month == 1]
    assert years == expected
    title = page.select(".chart g title")[-1].get_text()
    assert title == f"{format_skeleton('yMMMM', months[-1], locale=lang)}: 1"


@pytest.mark.parametrize("now", [datetime(2026, 3, 31, 12, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
                                 datetime(2027, 1, 15, 23, 59, tzinfo=UTC)])
def test_the_chart_shows_the_last_twelve_calendar_months(engine, now):
    with session_scope(engine) as session:
        months = [m.month for m in contributions_by_month(session=session, now=now)]
    assert len(months) == 12
    assert months[-1] == date(now.year, now.month, 1)
    assert all((b.year * 12 + b.month) - (a.year * 12 + a.month) == 1 for a, b in zip(months, months[1:], strict=False))


def test_recent_changes_leave_out_sign_ins_sign_outs_and_failed_logins(manager_client, engine):
    make_profile(engine, "Somebody")  # "added a person"; signing the manager in was recorded too
    with session_scope(engine, write=True) as session:
        for action in (AuditAction.login_succeeded, AuditAction.login_failed, AuditAction.login_throttled, AuditAction.logout,
                       AuditAction.user_password, AuditAction.token_create, AuditAction.token_revoke,
                       AuditAction.session_revoke_others):
            audit.record(session=session, actor=audit.SYSTEM, action=action, subject="ana@example.com")
    items = [li.get_text(" ", strip=True) for li in soup(manager_client.get("/")).select(".history li")]
    assert any("added a person" in item for item in items), items
    for phrase in ("signed in", "signed out", "failed to sign in", "throttled", "password", "API token", "other sessions"):
        assert not any(phrase in item for item in items), items
