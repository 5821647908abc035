"""Badge pages: the list, the form (new, edit, bad input), a badge's page with holders (full page and
htmx fragment), awards by hand (picker and ids), revoking with confirmation, "check everyone", and the
recognition panel on a person's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import col

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.recognition import badges, ledger
from crm.recognition.badges import BadgeCriteria, BadgeIn
from crm.recognition.models import AwardIn, Badge, BadgeAward
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}
X: Table = Interaction.__table__  # type: ignore[attr-defined]


def _add(engine, pid: int, kind: str = "forum_answer", n: int = 1, days: float = 1) -> None:
    now = utcnow()
    with session_scope(engine, write=True) as s:
        s.connection().execute(X.insert(), [{"profile_id": pid, "kind": kind, "occurred_at": now - timedelta(days=days),
                                             "source": "manual", "created_at": now, "channel": "", "url": "", "title": "",
                                             "body": "", "reach": 0, "engagements": 0} for _ in range(n)])


def _badge(engine, name: str = "Helper", manual: bool = False, **criteria: Any) -> int:
    data = BadgeIn(name=name, manual=manual, symbol="🏅",
                   criteria=None if manual else BadgeCriteria(**{"count": 2, **criteria}))
    with session_scope(engine, write=True) as s:
        return badges.create_badge(data, session=s, actor=SYSTEM).badge.id or 0


def _holders(engine, badge_id: int) -> dict[int, BadgeAward]:
    with session_scope(engine) as s:
        return {a.profile_id: a for a in s.execute(select(BadgeAward).where(col(BadgeAward.badge_id) == badge_id)).scalars()}


def _form(**changes: str) -> dict[str, str]:
    data = {"name": "Forum helper", "symbol": "🛟", "description": "Answers questions", "earned": "criteria",
            "kind": "forum_answer", "count": "3", "window_days": "90", "min_sentiment": "", "topic": "",
            "campaign_id": "", "active": "on"}
    data.update(changes)
    return data


def test_an_empty_list_invites_a_writer(manager_client):
    page = soup(manager_client.get("/recognition/badges"))
    assert page.select_one("#no-badges") is not None
    assert page.select_one("a#new-badge")["href"] == "/recognition/badges/new"
    assert page.select_one(".recognition-tabs a[aria-current=page]")["href"] == "/recognition/badges"
    assert page.select_one("title").get_text().startswith("Badges")


def test_the_list_shows_symbol_criteria_in_words_and_holder_counts(viewer_client, engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    _add(engine, ana, n=2)
    _add(engine, bea, n=2)
    auto = _badge(engine, kind="forum_answer", window_days=90)
    manual = _badge(engine, "Star", manual=True)
    page = soup(viewer_client.get("/recognition/badges"))
    row = page.select_one(f"tr#badge-{auto}")
    assert row.select_one(".badge-symbol").get_text() == "🏅"
    assert row.select_one(".criteria").get_text(strip=True) == "2 × forum answer · in the last 90 days"
    assert row.select_one(".holders").get_text(strip=True) == "2"
    assert page.select_one(f"tr#badge-{manual} .criteria").get_text(strip=True) == "Awarded by hand"
    assert page.select_one("a#new-badge") is None  # a viewer reads only


def test_a_new_badge_is_created_and_evaluated_for_everyone(manager_client, engine):
    ana = make_profile(engine, "Ana").id
    _add(engine, ana, n=3)
    form = soup(manager_client.get("/recognition/badges/new")).select_one("form#badge-form")
    assert form["action"] == "/recognition/badges"
    assert form.select_one("input[name=earned][value=criteria]").has_attr("checked")
    response = manager_client.post("/recognition/badges", data=_form())
    assert response.status_code == 303
    badge_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert list(_holders(engine, badge_id)) == [ana]
    with session_scope(engine) as s:
        badge = s.get(Badge, badge_id)
        assert (badge.name, badge.symbol, badge.manual) == ("Forum helper", "🛟", False)
        assert badge.criteria["count"] == 3 and badge.criteria["window_days"] == 90
    page = soup(manager_client.get(response.headers["location"]))
    assert "1 person earned it" in page.select_one(".flash-success").get_text()


def test_bad_input_comes_back_with_the_values_and_a_message_per_field(manager_client, engine):
    response = manager_client.post("/recognition/badges", data=_form(name="", count="0", symbol="ab", min_sentiment="2"))
    assert response.status_code == 422
    form = soup(response).select_one("form#badge-form")
    assert form.select_one("#name-error").get_text(strip=True) == "This field is required."
    assert "at least 1" in form.select_one("#count-error").get_text()
    assert "one emoji" in form.select_one("#symbol-error").get_text()
    assert "-1" in form.select_one("#min_sentiment-error").get_text()
    assert form.select_one("#f-count")["value"] == "0" and form.select_one("#f-symbol")["value"] == "ab"
    assert form.select_one("#f-description").get_text() == "Answers questions"
    assert form.select_one("#f-kind option[selected]")["value"] == "forum_answer"
    with session_scope(engine) as s:
        assert s.execute(select(Badge)).first() is None


def test_a_criterion_that_can_never_be_met_says_why_on_its_field(manager_client, engine):
    response = manager_client.post("/recognition/badges", headers=HX, data=_form(kind="complaint", campaign_id="77"))
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("html") is None  # the form alone, swapped in place
    assert page.select_one("#badge-form-error").get_text(strip=True) == "These criteria could never be met."
    assert "not a contribution" in page.select_one("#kind-error").get_text()
    empty = manager_client.post("/recognition/badges", data=_form(count=""))
    assert "how many" in soup(empty).select_one("#count-error").get_text()


def test_a_taken_name_is_refused_on_the_name(manager_client, engine):
    _badge(engine, "Forum helper", manual=True)
    response = manager_client.post("/recognition/badges", data=_form(name="FORUM HELPER"))
    assert response.status_code == 422
    assert "already" in soup(response).select_one("#name-error").get_text()


def test_a_manual_badge_ignores_the_criteria_boxes(manager_client, engine):
    response = manager_client.post("/recognition/badges", data=_form(earned="manual", count="", name="Hero"))
    assert response.status_code == 303
    with session_scope(engine) as s:
        badge = s.execute(select(Badge)).scalar_one()
        assert badge.manual and badge.criteria == {}


def test_editing_shows_the_values_keeps_holders_and_says_so(manager_client, engine):
    ana = make_profile(engine, "Ana").id
    badge_id = _badge(engine, kind="forum_answer", window_days=30, min_sentiment=0.25)
    with session_scope(engine, write=True) as s:
        badges.award_badge(badge_id, [ana], session=s, actor=SYSTEM)
    form = soup(manager_client.get(f"/recognition/badges/{badge_id}/edit")).select_one("form#badge-form")
    assert form.select_one("#f-count")["value"] == "2" and form.select_one("#f-window_days")["value"] == "30"
    assert form.select_one("#f-min_sentiment")["value"] == "0.25"
    assert form.select_one("#keeps-holders") is not None
    response = manager_client.post(f"/recognition/badges/{badge_id}/edit",
                                   data=_form(name="Helper", count="5", window_days="", min_sentiment="0,5"))
    assert response.status_code == 303
    with session_scope(engine) as s:
        badge = s.get(Badge, badge_id)
        assert badge.criteria["count"] == 5 and badge.criteria["window_days"] is None
        assert badge.criteria["min_sentiment"] == 0.5
    assert list(_holders(engine, badge_id)) == [ana]  # still held


def test_a_badge_page_lists_holders_with_when_and_why(manager_client, engine):
    ana, bea = make_profile(engine, "Ana").id, make_profile(engine, "Bea").id
    _add(engine, ana, n=2)
    badge_id = _badge(engine)
    with session_scope(engine, write=True) as s:
        badges.award_badge(badge_id, [bea], session=s, actor=SYSTEM, reason="Ran the meetup")
    page = soup(manager_client.get(f"/recognition/badges/{badge_id}"))
    assert page.select_one("title").get_text().startswith("🏅 Helper")
    assert page.select_one("#badge-criteria").get_text(" ", strip=True).endswith("2 × contribution · all time")
    rows = {int(r["data-profile"]): r for r in page.select("#holders tr.holder")}
    assert rows[ana].select_one(".why").get_text(strip=True) == "Earned automatically"
    assert "Ran the meetup" in rows[bea].select_one(".why").get_text()
    assert rows[ana].select_one("a.revoke-link")["href"] == f"/recognition/badges/{badge_id}/revoke?profile_id={ana}"
    assert page.select_one("form#award-form") is not None and page.select_one("#evaluate-badge") is not None


def test_a_viewer_sees_holders_without_the_buttons(viewer_client, engine):
    badge_id = _badge(engine, "Star", manual=True)
    page = soup(viewer_client.get(f"/recognition/badges/{badge_id}"))
    assert page.select_one("form#award-form") is None and page.select_one("#evaluate-badge") is None
    assert page.select_one("#no-holders") is not None
    assert viewer_client.get("/recognition/badges/99999").status_code == 404


def test_holders_are_paginated_and_htmx_gets_the_list_alone(manager_client, engine):
    pids = [make_profile(engine, f"Person {i:02d}").id for i in range(30)]
    badge_id = _badge(engine, "Star", manual=True)
    with session_scope(engine, write=True) as s:
        badges.award_badge(badge_id, pids, session=s, actor=SYSTEM)
    first = soup(manager_client.get(f"/recognition/badges/{badge_id}"))
    assert len(first.select("#holders tr.holder")) == 25
    assert first.select_one(".pagination a[rel=next]")["href"] == f"/recognition/badges/{badge_id}?&page=2"
    second = manager_client.get(f"/recognition/badges/{badge_id}?page=2", headers=HX)
    assert second.headers["Vary"] == "HX-Request"
    fragment = soup(second)
    assert fragment.select_one("html") is None and fragment.select_one("section#holders") is not None
    assert len(fragment.select("tr.holder")) == 5


def test_awarding_by_hand_with_the_picker_and_ids_skips_holders(manager_client, engine):
    ana, bea, cai = (make_profile(engine, n).id for n in ("Ana Gómez", "Bea", "Cai"))
    badge_id = _badge(engine, "Star", manual=True)
    picker = manager_client.get(f"/recognition/badges/{badge_id}/picker?q=gomez", headers=HX)
    boxes = soup(picker).select("input[type=checkbox][name=profile_ids]")
    assert [int(b["value"]) for b in boxes] == [ana]
    assert manager_client.get(f"/recognition/badges/{badge_id}/picker?q=ana").status_code == 303  # no htmx: the list
    response = manager_client.post(f"/recognition/badges/{badge_id}/award",
                                   data={"profile_ids": [str(ana)], "ids": f"{bea}, #{ana}", "reason": "Launch week"})
    assert response.status_code == 303
    assert set(_holders(engine, badge_id)) == {ana, bea}
    again = manager_client.post(f"/recognition/badges/{badge_id}/award", headers=HX, data={"ids": f"{bea} {cai}"})
    assert again.status_code == 204 and again.headers["HX-Redirect"] == f"/recognition/badges/{badge_id}"
    assert set(_holders(engine, badge_id)) == {ana, bea, cai}
    flash = soup(manager_client.get(f"/recognition/badges/{badge_id}")).select_one(".flash-success").get_text()
    assert "Awarded to 1 person" in flash and "1 had it already" in flash


def test_a_refused_award_keeps_what_was_typed(manager_client, engine):
    ana = make_profile(engine, "Ana").id
    badge_id = _badge(engine, "Star", manual=True)
    response = manager_client.post(f"/recognition/badges/{badge_id}/award", headers=HX,
                                   data={"profile_ids": [str(ana)], "ids": "12x, 99999", "reason": "Because"})
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("html") is None
    assert "12x" in page.select_one("#award-ids-error").get_text()
    assert page.select_one("#award-ids")["value"] == "12x, 99999" and page.select_one("#award-reason")["value"] == "Because"
    assert page.select_one(f"input[name=profile_ids][value='{ana}']").has_attr("checked")
    unknown = manager_client.post(f"/recognition/badges/{badge_id}/award", data={"ids": "99999"})
    assert unknown.status_code == 422
    assert "99999" in soup(unknown).select_one("#award-error").get_text()
    nobody = manager_client.post(f"/recognition/badges/{badge_id}/award", data={"ids": ""})
    assert "at least one person" in soup(nobody).select_one("#award-error").get_text()
    assert _holders(engine, badge_id) == {}


def test_revoking_asks_first_and_is_audited(manager_client, engine):
    ana = make_profile(engine, "Ana").id
    badge_id = _badge(engine, "Star", manual=True)
    with session_scope(engine, write=True) as s:
        badges.award_badge(badge_id, [ana], session=s, actor=SYSTEM)
    confirm = soup(manager_client.get(f"/recognition/badges/{badge_id}/revoke?profile_id={ana}"))
    assert "Take “Star” back from Ana?" in confirm.select_one("h1").get_text()
    form = confirm.select_one("#confirm-revoke form")
    assert form["action"] == f"/recognition/badges/{badge_id}/revoke"
    assert form.select_one("input[name=profile_id]")["value"] == str(ana)
    response = manager_client.post(f"/recognition/badges/{badge_id}/revoke",
                                   data={"profile_id": str(ana), "reason": "Mistake"})
    assert response.status_code == 303 and response.headers["location"] == f"/recognition/badges/{badge_id}"
    assert _holders(engine, badge_id) == {}
    with session_scope(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "badge.revoke")).scalar_one()
        assert event.object_id == ana and event.after == {"reason": "Mistake"}
    assert manager_client.get(f"/recognition/badges/{badge_id}/revoke?profile_id={ana}").status_code == 404
    assert manager_client.post(f"/recognition/badges/{badge_id}/revoke", data={"profile_id": str(ana)}).status_code == 404


def test_check_everyone_awards_those_who_qualify_now(manager_client, engine):
    badge_id = _badge(engine, count=2)
    ana = make_profile(engine, "Ana").id
    _add(engine, ana, n=2)
    response = manager_client.post(f"/recognition/badges/{badge_id}/evaluate")
    assert response.status_code == 303
    assert list(_holders(engine, badge_id)) == [ana]
    flash = soup(manager_client.get(f"/recognition/badges/{badge_id}")).select_one(".flash-success").get_text()
    assert "1 more person earned it" in flash
    manual = _badge(engine, "Star", manual=True)
    manager_client.post(f"/recognition/badges/{manual}/evaluate")
    assert "only awarded by hand" in soup(manager_client.get(f"/recognition/badges/{manual}")).select_one(
        ".flash-error").get_text()


def test_the_person_page_shows_balance_badges_progress_and_points(manager_client, engine):
    ana = make_profile(engine, "Ana").id
    near = _badge(engine, "Near", count=4, kind="forum_answer")
    star = _badge(engine, "Star", manual=True)
    _add(engine, ana, n=3)
    with session_scope(engine, write=True) as s:
        badges.award_badge(star, [ana], session=s, actor=SYSTEM)
        ledger.award(AwardIn(profile_ids=[ana], points=30, reason="Great talk"), session=s, actor=SYSTEM)
    page = soup(manager_client.get(f"/people/{ana}"))
    panel = page.select_one("#recognition-panel")
    assert panel.select_one("#points-current").get_text(strip=True) == "30"
    assert panel.select_one("#points-lifetime").get_text(strip=True) == "30"
    assert panel.select_one("#points-held").get_text(strip=True) == "0"
    earned = panel.select("li.earned-badge")
    assert len(earned) == 1 and "Star" in earned[0].get_text() and "by hand" in earned[0].get_text()
    bar = panel.select_one(f"li.progress-row[data-badge='{near}'] progress")
    assert (bar["value"], bar["max"]) == ("3", "4")
    assert "3 / 4" in panel.select_one(f"li.progress-row[data-badge='{near}'] label").get_text()
    entries = panel.select("li.ledger-entry")
    assert len(entries) == 1 and "+30" in entries[0].get_text() and "Great talk" in entries[0].get_text()
    assert panel.select_one("#points-history-link")["href"] == f"/people/{ana}/points"


def test_a_person_with_nothing_yet_gets_empty_states(viewer_client, engine):
    ana = make_profile(engine, "Ana").id
    panel = soup(viewer_client.get(f"/people/{ana}")).select_one("#recognition-panel")
    assert panel.select_one("#no-badges-yet") is not None
    assert panel.select_one("#points-current").get_text(strip=True) == "0"
    assert panel.select_one("a.revoke-link") is None
