"""A person's points history (reversals with a reason and a confirmation, points by hand), the point
rules pages (versions, a new version, bad input kept) and re-scoring with a preview (full page and htmx)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition import ledger
from crm.recognition.models import AwardIn, PointEntry, PointRuleSet
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _setup(engine):
    pid = make_profile(engine, "Ana López").id
    with session_scope(engine, write=True) as s:
        log.log_interaction(pid, InteractionIn(kind="talk", title="Keynote",
                                               occurred_at=utcnow() - timedelta(days=2)), session=s, actor=SYSTEM)
        ledger.award(AwardIn(profile_ids=[pid], points=15, reason="Meetup host"), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        ids = s.execute(select(PointEntry.id).where(PointEntry.profile_id == pid).order_by(PointEntry.id)).scalars().all()
    return pid, ids


def _balance(page):
    return tuple(page.select_one(f"#balance-{k}").get_text(strip=True) for k in ("current", "lifetime", "held"))


def test_points_page_shows_balance_and_entries_newest_first(manager_client, engine):
    pid, (earned, awarded) = _setup(engine)
    page = soup(manager_client.get(f"/people/{pid}/points"))
    assert page.title.get_text().startswith("Points of Ana López")
    assert _balance(page) == ("55", "55", "0")
    rows = page.select("table.points-entries tbody tr")
    assert [r["id"] for r in rows] == [f"entry-{awarded}", f"entry-{earned}"]
    assert "Meetup host" in rows[0].get_text() and "Mona Manager" not in rows[0].get_text()
    assert rows[1].select_one("a.interaction-link") is not None and "v1" in rows[1].get_text()
    assert len(page.select("form.reverse-form")) == 2
    fragment = soup(manager_client.get(f"/people/{pid}/points?page=1", headers=HX))
    assert fragment.select_one("html") is None and len(fragment.select("table.points-entries tbody tr")) == 2


def test_points_page_paginates(manager_client, engine):
    pid = make_profile(engine, "Ana").id
    with session_scope(engine, write=True) as s:
        for i in range(30):
            ledger.award(AwardIn(profile_ids=[pid], points=1 + i, reason=f"r{i}"), session=s, actor=SYSTEM)
    first = soup(manager_client.get(f"/people/{pid}/points"))
    assert len(first.select("table.points-entries tbody tr")) == 25 and first.select_one('a[rel="next"]') is not None
    second = soup(manager_client.get(f"/people/{pid}/points?page=2", headers=HX))
    assert len(second.select("table.points-entries tbody tr")) == 5


def test_reverse_needs_a_reason_and_a_confirmation_and_happens_once(manager_client, engine):
    pid, (earned, awarded) = _setup(engine)
    url = f"/people/{pid}/points/{awarded}/reverse"
    unconfirmed = manager_client.post(url, data={"reason": "wrong person"})
    assert unconfirmed.status_code == 422 and "Tick the box" in soup(unconfirmed).select_one("#points-error").get_text()
    no_reason = manager_client.post(url, data={"confirm": "yes"})
    assert no_reason.status_code == 422
    done = manager_client.post(url, data={"reason": "wrong person", "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/people/{pid}/points"
    page = soup(manager_client.get(f"/people/{pid}/points"))
    assert _balance(page) == ("40", "40", "0")
    assert "reversed" in page.select_one(f"#entry-{awarded}").get_text()
    assert page.select_one(f"#entry-{awarded} form.reverse-form") is None  # no second reversal offered
    again = manager_client.post(url, data={"reason": "again", "confirm": "yes"})
    assert again.status_code == 409
    with session_scope(engine) as s:
        reversal = s.execute(select(PointEntry).where(PointEntry.reverses_id == awarded)).scalar_one()
        assert (reversal.amount, reversal.reason, reversal.kind) == (-15, "wrong person", "reversal")
    reversal_id = reversal.id
    assert manager_client.post(f"/people/{pid}/points/{reversal_id}/reverse",
                               data={"reason": "x", "confirm": "yes"}).status_code == 422  # reversals are not reversed
    other = make_profile(engine, "Bruno").id
    assert manager_client.post(f"/people/{other}/points/{earned}/reverse",
                               data={"reason": "x", "confirm": "yes"}).status_code == 404


def test_award_to_one_person(manager_client, engine):
    pid, _ = _setup(engine)
    bad = manager_client.post(f"/people/{pid}/points/award", data={"points": "0", "reason": "x"})
    assert bad.status_code == 422
    page = soup(bad)
    assert page.select_one("#f-points")["value"] == "0" and page.select_one("#points-error-msg") is not None
    ok = manager_client.post(f"/people/{pid}/points/award", data={"points": "5", "reason": "Docs fix"})
    assert ok.status_code == 303
    assert _balance(soup(manager_client.get(f"/people/{pid}/points")))[0] == "60"


def test_viewer_sees_points_without_correction_forms(viewer_client, engine):
    pid, _ = _setup(engine)
    page = soup(viewer_client.get(f"/people/{pid}/points"))
    assert _balance(page)[0] == "55" and page.select_one("form.reverse-form") is None
    assert page.select_one("form.award-form") is None


def test_rules_page_shows_versions_and_the_one_in_force(manager_client, engine):
    with session_scope(engine, write=True) as s:
        ledger.ensure_rules(s.connection())
        from crm.recognition.models import PointRuleIn, PointRuleSetIn
        ledger.create_rule_set(PointRuleSetIn(starts_at=utcnow() + timedelta(days=10), note="Next quarter",
                                              rules=[PointRuleIn(kind="post", points=3)]), session=s, actor=SYSTEM)
    page = soup(manager_client.get("/recognition/rules"))
    assert page.title.get_text().startswith("Point rules")
    assert "version 1" in page.select_one("#rules-in-force h2").get_text()
    assert len(page.select("#rules-in-force tbody tr")) == 12
    rows = page.select("#rule-versions tbody tr")
    assert "upcoming" in rows[0].get_text() and "Next quarter" in rows[0].get_text()
    assert "in force" in rows[1].get_text()


def test_new_version_form_is_prefilled_and_saves(manager_client, engine):
    form = soup(manager_client.get("/recognition/rules/new"))
    assert form.select_one("#f-points-talk")["value"] == "40" and form.select_one("#f-points-complaint")["value"] == ""
    data = {f"points.{k}": "" for k in ("post", "talk")}
    data.update({"points.post": "7", "cap.post": "21", "points.talk": "50", "ch_kind": ["post", ""],
                 "ch_channel": ["x", ""], "ch_points": ["1", ""], "ch_cap": ["", ""], "note": "More for posts",
                 "start_date": (utcnow() - timedelta(days=1)).date().isoformat(), "start_time": "08:30"})
    saved = manager_client.post("/recognition/rules", data=data)
    assert saved.status_code == 303 and saved.headers["location"] == "/recognition/rules"
    with session_scope(engine) as s:
        latest = s.execute(select(PointRuleSet).order_by(PointRuleSet.version.desc())).scalars().first()
        assert latest.version == 2 and latest.note == "More for posts"
        assert sorted((r["kind"], r["channel"], r["points"], r["daily_cap"]) for r in latest.rules) == [
            ("post", "", 7, 21), ("post", "x", 1, None), ("talk", "", 50, None)]
        assert latest.starts_at.hour == 8 and latest.starts_at.minute == 30
    page = soup(manager_client.get("/recognition/rules"))
    assert "version 2" in page.select_one("#rules-in-force h2").get_text()


def test_bad_rules_are_refused_with_the_values_kept(manager_client, engine):
    zero = manager_client.post("/recognition/rules", data={"points.post": "0", "points.talk": "40"})
    assert zero.status_code == 422
    page = soup(zero)
    assert page.select_one("#f-points-post")["value"] == "0" and page.select_one("#f-points-talk")["value"] == "40"
    assert "1 to 10,000" in page.select_one("#points-post-error").get_text()
    absurd = soup(manager_client.post("/recognition/rules", data={"points.post": "5000000"}))
    assert absurd.select_one("#points-post-error") is not None
    twice = manager_client.post("/recognition/rules", data={"points.post": "5", "ch_kind": ["post", "post"],
                                                            "ch_channel": ["x", "X"], "ch_points": ["1", "2"],
                                                            "ch_cap": ["", ""]})
    assert twice.status_code == 422 and "appear twice" in soup(twice).select_one("#form-error").get_text()
    assert [i["value"] for i in soup(twice).select("input[name=ch_channel]")][:2] == ["x", "X"]
    empty = manager_client.post("/recognition/rules", data={"note": "nothing"})
    assert empty.status_code == 422 and "at least one kind" in empty.text
    bad_date = manager_client.post("/recognition/rules", data={"points.post": "5", "start_date": "31/03/2026"})
    assert bad_date.status_code == 422 and soup(bad_date).select_one("#start_date-error") is not None
    with session_scope(engine) as s:
        assert s.execute(select(PointRuleSet).where(PointRuleSet.version > 1)).first() is None


def _rescore_setup(engine):
    pid = make_profile(engine, "Ana").id
    with session_scope(engine, write=True) as s:
        log.log_interaction(pid, InteractionIn(kind="post", occurred_at=utcnow() - timedelta(days=1)),
                            session=s, actor=SYSTEM)
        from crm.recognition.models import PointRuleIn, PointRuleSetIn
        ledger.create_rule_set(PointRuleSetIn(starts_at=utcnow() - timedelta(days=5),
                                              rules=[PointRuleIn(kind="post", points=8)]), session=s, actor=SYSTEM)
    return pid


def test_rescore_preview_full_and_fragment_then_apply_with_confirmation(manager_client, engine):
    pid = _rescore_setup(engine)
    since = (utcnow() - timedelta(days=3)).date().isoformat()
    form = soup(manager_client.get("/recognition/rules/rescore"))
    assert form.select_one("#f-since") is not None and form.select_one("#rs-changes") is None
    full = soup(manager_client.get(f"/recognition/rules/rescore?since={since}"))
    assert full.select_one("#rs-changes").get_text(strip=True) == "1"
    assert full.select_one("#rs-delta").get_text(strip=True) == "+3"
    part = soup(manager_client.get(f"/recognition/rules/rescore?since={since}", headers=HX))
    assert part.select_one("html") is None and part.select_one("#f-since") is None
    assert [td.get_text(strip=True) for td in part.select(".rescore-people tbody td")][:3] == ["Ana", "1", "+3"]
    assert part.select_one('form.rescore-apply input[name=since]')["value"] == since
    unconfirmed = manager_client.post("/recognition/rules/rescore/apply", data={"since": since})
    assert unconfirmed.status_code == 422
    applied = manager_client.post("/recognition/rules/rescore/apply", data={"since": since, "confirm": "yes"})
    assert applied.status_code == 303
    with session_scope(engine) as s:
        assert ledger.balances([pid], conn=s.connection())[pid].current == 8
    again = soup(manager_client.get(f"/recognition/rules/rescore?since={since}"))
    assert "Nothing would change" in again.select_one(".empty-state").get_text()
    bad = manager_client.get("/recognition/rules/rescore?since=yesterday")
    assert bad.status_code == 422 and soup(bad).select_one("#since-error") is not None
