"""The campaign report: its arithmetic with numbers worked out by hand, and the report of a real
campaign on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.audit.service import Actor
from crm.campaigns import report, service
from crm.campaigns.models import CampaignIn, KpiIn, MemberIn, Stage, StageIn
from crm.campaigns.report import Bucket, MemberStats, SortKey, Unit
from crm.db import session_scope
from crm.errors import InvalidInput
from crm.interactions.models import InteractionIn
from tests.factories import make_profile

ACTOR = Actor(user_id=None, label="test")


# ---- pure arithmetic -----------------------------------------------------------------------------


def test_rates_divide_and_say_none_when_there_is_nothing_to_divide_by():
    assert report.rate(30, 1200) == pytest.approx(0.025)
    assert report.rate(5, 0) is None
    assert report.rate(None, 10) is None
    assert report.rate(1500.0, 600) == pytest.approx(2.5)  # 1,500 € for 600 engagements: 2.50 € each
    assert report.progress(7500, 10000) == pytest.approx(0.75)
    assert report.progress(12000, 10000) == pytest.approx(1.2)  # beyond the target is kept
    assert report.progress(5, 0) is None
    assert report.progress(None, 10) is None


def test_the_bucket_size_follows_the_campaign_length():
    assert report.unit_for(date(2026, 3, 1), date(2026, 3, 31)) == Unit.day  # 31 days
    assert report.unit_for(date(2026, 3, 1), date(2026, 4, 1)) == Unit.week  # 32 days
    assert report.unit_for(date(2026, 1, 1), date(2027, 12, 29)) == Unit.week  # 728 days = 104 weeks
    assert report.unit_for(date(2026, 1, 1), date(2028, 1, 1)) == Unit.month


def test_a_daily_series_has_every_day_and_leaves_out_days_outside_the_range():
    days = [date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 4), date(2026, 2, 28), date(2026, 3, 9)]
    buckets = report.series(days, date(2026, 3, 1), date(2026, 3, 5))
    assert [(b.start.day, b.count) for b in buckets] == [(1, 0), (2, 2), (3, 0), (4, 1), (5, 0)]
    assert all(b.start == b.end for b in buckets)


def test_a_weekly_series_runs_monday_to_sunday():
    # 2026-03-04 is a Wednesday: its week starts on Monday 2 March. The range ends on Wednesday 8 April.
    days = [date(2026, 3, 4), date(2026, 3, 8), date(2026, 3, 9), date(2026, 4, 8), date(2026, 4, 9)]
    buckets = report.series(days, date(2026, 3, 4), date(2026, 4, 8))
    assert buckets[0] == Bucket(start=date(2026, 3, 2), end=date(2026, 3, 8), count=2)
    assert buckets[1] == Bucket(start=date(2026, 3, 9), end=date(2026, 3, 15), count=1)
    assert buckets[-1] == Bucket(start=date(2026, 4, 6), end=date(2026, 4, 12), count=1)  # the 9th is after the end
    assert len(buckets) == 6
    assert sum(b.count for b in buckets) == 4


def test_a_monthly_series_crosses_the_year():
    buckets = report.series([date(2026, 12, 31), date(2027, 1, 1)], date(2026, 11, 15), date(2027, 1, 2), Unit.month)
    assert [(b.start, b.end, b.count) for b in buckets] == [
        (date(2026, 11, 1), date(2026, 11, 30), 0), (date(2026, 12, 1), date(2026, 12, 31), 1),
        (date(2027, 1, 1), date(2027, 1, 31), 1)]


def test_bars_rise_to_a_round_top():
    buckets = [Bucket(date(2026, 3, d), date(2026, 3, d), c) for d, c in ((1, 0), (2, 3), (3, 6), (4, 1))]
    chart = report.bar_chart(buckets)
    assert chart is not None and chart.top == 10  # 6 rounds up to 10
    assert [b.height for b in chart.bars] == [0, 36, 72, 12]  # 120 × count / 10
    assert [b.y for b in chart.bars] == [120, 84, 48, 108]
    assert chart.bars[1].x == pytest.approx(150 + 2)  # slot 150 wide, a 4-unit gap split on both sides
    assert chart.bars[1].width == pytest.approx(146)
    assert report.bar_chart([]) is None


def _m(name, stage="confirmed", fee=None, deliverables=0, reach=0, engagements=0) -> MemberStats:
    return MemberStats(member_id=0, profile_id=0, name=name, stage=stage, fee=fee, deliverables=deliverables,
                       reach=reach, engagements=engagements, taking_part=True)


def test_members_sort_by_any_column_with_missing_values_last():
    ana = _m("Ana", "content_live", fee=1000, deliverables=2, reach=10000, engagements=500)  # 5 %, 2 €/eng
    bea = _m("Bea", "confirmed", fee=None, deliverables=1, reach=40000, engagements=400)  # 1 %, no cost
    cai = _m("Caí", "completed", fee=300, deliverables=3, reach=0, engagements=0)  # no rate, no cost
    dan = _m("dan", "confirmed", fee=200, deliverables=1, reach=2000, engagements=400)  # 20 %, 0.50 €/eng
    rows = [cai, ana, dan, bea]
    names = lambda key, desc: [m.name for m in report.sort_members(rows, key, desc)]  # noqa: E731
    assert names(SortKey.reach, True) == ["Bea", "Ana", "dan", "Caí"]
    assert names(SortKey.reach, False) == ["Caí", "dan", "Ana", "Bea"]
    assert names(SortKey.name, False) == ["Ana", "Bea", "Caí", "dan"]  # case-insensitive
    assert names(SortKey.stage, False) == ["Bea", "dan", "Ana", "Caí"]  # board order, ties by name
    assert names(SortKey.fee, True) == ["Ana", "Caí", "dan", "Bea"]  # no fee: last either way
    assert names(SortKey.fee, False) == ["dan", "Caí", "Ana", "Bea"]
    assert names(SortKey.rate, True) == ["dan", "Ana", "Bea", "Caí"]
    assert names(SortKey.cpe, False) == ["dan", "Ana", "Bea", "Caí"]
    assert names(SortKey.deliverables, True) == ["Caí", "Ana", "Bea", "dan"]
    assert names(SortKey.engagements, True) == ["Ana", "Bea", "dan", "Caí"]
    assert dan.engagement_rate == pytest.approx(0.2) and dan.cost_per_engagement == pytest.approx(0.5)
    assert report.first_direction(SortKey.reach) == "desc" and report.first_direction(SortKey.name) == "asc"


# ---- the report of a real campaign -----------------------------------------------------------------


def _at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=UTC)


def build_campaign(engine) -> dict[str, int]:
    """Ana (confirmed, 1,000 €) posted twice; Bea (content live, 500 €) made a video and answered once;
    Cai (declined, 9,999 €) posted once; Dan (candidate, 200 €) nothing; Eva is no member but posted.

    Deliverables: Ana 10,000/300 + 5,000/200, Bea 20,000/1,000, forum answer 0/0, Cai 1,000/10, Eva 500/5.
    Reach 36,500, engagements 1,515, rate 4.15 %; spend 1,500 € (Ana + Bea), who brought 1,500 engagements:
    1.00 €/engagement (Cai's and Eva's engagements were not paid for);
    contributions (members only): Ana 2 + Bea 2 + Cai 1 = 5."""
    ids: dict[str, int] = {}
    with session_scope(engine, write=True) as s:
        c = service.create_campaign(CampaignIn(name="Spring launch", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 10),
                                               budget=3000, target_reach=50000), session=s, actor=ACTOR)
        ids["campaign"] = c.id or 0
    people = {n: make_profile(engine, n).id or 0 for n in ("Ana", "Bea", "Cai", "Dan", "Eva")}
    ids.update(people)
    cid = ids["campaign"]
    with session_scope(engine, write=True) as s:
        for name, stage, fee in (("Ana", Stage.confirmed, 1000), ("Bea", Stage.content_live, 500),
                                 ("Cai", Stage.declined, 9999), ("Dan", Stage.candidate, 200)):
            service.add_member(cid, MemberIn(profile_id=people[name], stage=stage, fee=fee), session=s, actor=ACTOR)
        service.add_kpi(cid, KpiIn(metric="engagements", target=3030), session=s, actor=ACTOR)
        service.add_kpi(cid, KpiIn(metric="signups", target=200, actual=50), session=s, actor=ACTOR)
        service.add_kpi(cid, KpiIn(metric="contributions", target=10), session=s, actor=ACTOR)
        for name, kind, day, reach, eng in (("Ana", "post", 2, 10000, 300), ("Ana", "article", 3, 5000, 200),
                                            ("Bea", "video", 3, 20000, 1000), ("Bea", "forum_answer", 9, 0, 0),
                                            ("Cai", "post", 4, 1000, 10), ("Eva", "post", 4, 500, 5)):
            service.log_for_campaign(cid, people[name], InteractionIn(kind=kind, title=f"{name} {kind}", occurred_at=_at(day),
                                                                      reach=reach, engagements=eng), session=s, actor=ACTOR)
        email = InteractionIn(kind="outreach_email", occurred_at=_at(1), reach=99, contact_anyway=True)
        service.log_for_campaign(cid, people["Ana"], email, session=s, actor=ACTOR)
        service.log_for_campaign(cid, people["Dan"], InteractionIn(kind="note", occurred_at=_at(1), reach=77),
                                 session=s, actor=ACTOR)
    return ids


def test_the_report_adds_up_a_campaign(engine):
    ids = build_campaign(engine)
    with session_scope(engine) as s:
        r = report.report(ids["campaign"], session=s, today=date(2026, 3, 20))
        assert (r.deliverables, r.reach, r.engagements) == (6, 36500, 1515)
        assert r.engagement_rate == pytest.approx(1515 / 36500)
        assert r.contributions == 5  # Eva's post is not a member's
        assert r.spend == 1500  # declined and candidate fees do not count
        assert r.cost_per_engagement == pytest.approx(1500 / 1500)  # fees over the engagements they paid for
        assert (r.fees_known, r.taking_part, r.paid_engagements) == (2, 2, 1500)
        assert r.budget_used == pytest.approx(0.5)
        kpis = {k.metric.value: k for k in r.kpis}
        assert kpis["reach"].kpi_id is None and kpis["reach"].target == 50000 and kpis["reach"].progress == pytest.approx(0.73)
        assert kpis["engagements"].actual == 1515 and kpis["engagements"].progress == pytest.approx(0.5)
        assert kpis["signups"].actual == 50 and kpis["signups"].progress == pytest.approx(0.25) and not kpis["signups"].measured
        assert kpis["contributions"].actual == 5 and kpis["contributions"].progress == pytest.approx(0.5)
        assert r.unit == Unit.day and [b.count for b in r.buckets] == [0, 1, 2, 1, 0, 0, 0, 0, 1, 0]  # 1–10 March
        # Participants: Ana and Bea take part, Cai delivered something; Dan (candidate, nothing) is not there.
        assert [m.name for m in r.members] == ["Bea", "Ana", "Cai"]
        bea = r.members[0]
        assert (bea.deliverables, bea.reach, bea.engagements, bea.fee) == (2, 20000, 1000, 500)
        assert bea.cost_per_engagement == pytest.approx(0.5)
        by_fee = report.report(ids["campaign"], session=s, sort=SortKey.fee).members
        assert [m.name for m in by_fee] == ["Cai", "Ana", "Bea"]


def test_a_campaign_without_dates_runs_from_its_first_contribution_to_today(engine):
    ids = build_campaign(engine)
    with session_scope(engine, write=True) as s:
        service.update_campaign(ids["campaign"], CampaignIn(name="Spring launch"), session=s, actor=ACTOR)
    with session_scope(engine) as s:
        r = report.report(ids["campaign"], session=s, today=date(2026, 3, 12))
        assert r.buckets[0].start == date(2026, 3, 2) and r.buckets[-1].end == date(2026, 3, 12)
        assert r.budget_used is None and not any(k.metric.value == "reach" for k in r.kpis)


def test_an_empty_campaign_has_no_rates(engine):
    with session_scope(engine, write=True) as s:
        cid = service.create_campaign(CampaignIn(name="Quiet"), session=s, actor=ACTOR).id or 0
    with session_scope(engine) as s:
        r = report.report(cid, session=s)
        assert (r.reach, r.engagements, r.spend, r.contributions) == (0, 0, 0, 0)
        assert r.engagement_rate is None and r.cost_per_engagement is None and r.members == []
        assert r.buckets and all(b.count == 0 for b in r.buckets)


def test_only_members_deliver_and_outreach_is_not_a_deliverable(engine):
    ids = build_campaign(engine)
    with session_scope(engine, write=True) as s:
        with pytest.raises(InvalidInput) as refused:
            report.log_deliverable(ids["campaign"], ids["Eva"], InteractionIn(kind="outreach_dm"), session=s, actor=ACTOR)
        assert set(refused.value.field_errors) == {"profile_id", "kind"}


def test_closing_out_twice_thanks_nobody_twice(engine):
    ids = build_campaign(engine)
    cid = ids["campaign"]
    with session_scope(engine, write=True) as s:
        done = report.complete(cid, [ids["Ana"]], "", session=s, actor=ACTOR)
        assert done.thanked == [ids["Ana"]] and not done.was_completed
    with session_scope(engine, write=True) as s:
        again = report.complete(cid, [ids["Ana"], ids["Bea"]], "Thanks!", session=s, actor=ACTOR)
        assert again.thanked == [ids["Bea"]] and again.already_thanked == [ids["Ana"]] and again.was_completed
    with session_scope(engine) as s:
        rows = {r.name: r for r in report.close_out_rows(cid, session=s)}
        assert rows["Ana"].thanked_at is not None and rows["Bea"].stage == Stage.completed
        notes = [i for i, _p in report.quotable(cid, session=s) if i.kind == "note" and i.profile_id == ids["Ana"]]
        assert len(notes) == 1
        assert rows["Bea"].contributions == 2


def test_the_csv_rows_are_the_members_and_the_kpis(engine):
    ids = build_campaign(engine)
    with session_scope(engine, write=True) as s:
        service.move_member(ids["campaign"], service.member_of(ids["campaign"], ids["Cai"], session=s).id or 0,
                            StageIn(stage=Stage.confirmed, reopen=True), session=s, actor=ACTOR)
    with session_scope(engine) as s:
        text = "".join(report.export_chunks(ids["campaign"], report.CsvPart.members, session=s))
        assert text.splitlines()[0] == ",".join(report.MEMBER_COLUMNS)
        kpis = "".join(report.export_chunks(ids["campaign"], report.CsvPart.kpis, session=s))
        assert "spend,,,11499.0," in kpis  # Cai is confirmed now: 1,000 + 500 + 9,999
