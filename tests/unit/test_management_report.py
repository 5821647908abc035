"""The report for management: periods, every headline number recomputed from the raw rows of a
constructed dataset (two periods, several channels, a competitor topic, a quote from someone who has
not consented to being featured), quotes, CSV safety and the scheduled e-mail against a real SMTP server."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM, Actor
from crm.campaigns.models import Campaign
from crm.db import session_scope
from crm.errors import InvalidInput
from crm.interactions import log
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction, InteractionIn
from crm.listening import report
from crm.listening.models import ManagementReport, Mention, ReportPeriod, ReportRecipient, Signal, Topic
from crm.profiles.models import Profile
from crm.recognition.models import Badge, BadgeAward, PointEntry, Recognition
from tests.factories import make_profile
from tests.local_smtp import free_port

ACTOR = Actor(user_id=None, label="test")
MARCH = report.Period(ReportPeriod.month, date(2026, 3, 1))
FEB = report.Period(ReportPeriod.month, date(2026, 2, 1))


def at(day: str, hour: int = 12) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, tzinfo=UTC)


def _log(s: Session, pid: int, **fields: Any) -> int:
    item = log.log_interaction(pid, InteractionIn.model_validate({"kind": "post", **fields}), session=s, actor=SYSTEM)
    return item.id or 0


def build(engine, *, competitor: bool = True) -> dict[str, int]:
    """March 2026 against February 2026 on x, reddit, youtube and discourse."""
    ana = make_profile(engine, "Ana Amiga", may_feature=True, roles=["customer"]).id or 0
    ben = make_profile(engine, "Ben Bajo", may_feature=False, roles=["customer"]).id or 0
    cai = make_profile(engine, "Cai Grande", may_feature=False, roles=["influencer"]).id or 0
    with session_scope(engine, write=True) as s:
        s.add(Topic(name="Acme", kind="brand", terms=["acme"]))
        s.add(Topic(name="Rocket", kind="product", terms=["rocket"]))
        if competitor:
            s.add(Topic(name="Globex", kind="competitor", terms=["globex"]))
    ids: dict[str, int] = {"ana": ana, "ben": ben, "cai": cai}
    with session_scope(engine, write=True) as s:
        ids["love"] = _log(s, ana, channel="x", title="Acme is great", occurred_at=at("2026-03-02"), reach=1000,
                           engagements=40, sentiment=0.8)
        ids["both"] = _log(s, ana, channel="x", body="acme rocket launch day", occurred_at=at("2026-03-05"), reach=500,
                           engagements=5, sentiment=-0.5)
        ids["broke"] = _log(s, ben, kind="review", channel="reddit", body="The rocket broke, awful and terrible",
                            occurred_at=at("2026-03-10"), reach=200, engagements=90)
        ids["versus"] = _log(s, cai, channel="reddit", body="globex is better than acme", occurred_at=at("2026-03-11"),
                             reach=3000, sentiment=0.0)
        ids["rival"] = _log(s, cai, kind="video", channel="youtube", title="globex unboxing", occurred_at=at("2026-03-12"),
                            reach=10000, engagements=700, sentiment=0.5)
        ids["answer"] = _log(s, ben, kind="forum_answer", channel="discourse", body="configure it like this",
                             occurred_at=at("2026-03-13"))
        ids["note"] = _log(s, ana, kind="note", body="acme call notes", occurred_at=at("2026-03-14"))
        ids["complaint"] = _log(s, ben, kind="complaint", channel="reddit", body="acme support is slow",
                                occurred_at=at("2026-03-31", 23), reach=50, sentiment=-0.7)
        ids["april"] = _log(s, ana, channel="x", body="acme in april", occurred_at=at("2026-04-01", 0), reach=9)
        ids["old"] = _log(s, ana, channel="x", body="acme old times", occurred_at=at("2026-02-10"), reach=400, sentiment=0.2)
        ids["old_rival"] = _log(s, ben, channel="x", body="globex", occurred_at=at("2026-02-28", 23), reach=100)
    return ids


def recompute(engine, start: datetime, end: datetime) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """The headline numbers worked out in Python from every raw row."""
    with Session(engine) as s:
        items = {i.id: i for i in s.exec(select(Interaction))}
        mentions = list(s.exec(select(Mention)))
        kinds = {t.id: t.kind for t in s.exec(select(Topic))}
    contributions = {k.value for k in CONTRIBUTION_KINDS}
    inside = {i for i, item in items.items() if start <= item.occurred_at < end}
    mentioned = {m.interaction_id for m in mentions if m.interaction_id in inside}
    own = {m.interaction_id for m in mentions if m.interaction_id in inside and kinds[m.topic_id] in ("brand", "product")}
    rival = {m.interaction_id for m in mentions if m.interaction_id in inside and kinds[m.topic_id] == "competitor"}

    def numbers(ids: set[int], channel: str | None) -> dict[str, float]:
        pick = [items[i] for i in ids if channel is None or items[i].channel == channel]
        pos = sum(1 for i in pick if (i.sentiment or 0) > 0)
        neg = sum(1 for i in pick if (i.sentiment or 0) < 0)
        authors = {items[i].profile_id for i in inside if items[i].kind in contributions
                   and (channel is None or items[i].channel == channel)}
        return {"mentions": len(pick), "reach": sum(i.reach for i in pick), "positive": pos, "negative": neg,
                "estimated": sum(1 for i in pick if (i.sentiment or 0) != 0 and i.sentiment_source == "estimated"),
                "people": len(authors),
                "own": sum(1 for i in own if channel is None or items[i].channel == channel),
                "competitor": sum(1 for i in rival if channel is None or items[i].channel == channel)}

    channels = {items[i].channel for i in inside}
    return {c: numbers(mentioned, c) for c in channels}, numbers(mentioned, None)


def _as_dict(f: report.Figures) -> dict[str, float]:
    return {"mentions": f.mentions, "reach": f.reach, "positive": f.positive, "negative": f.negative,
            "estimated": f.estimated, "people": f.people, "own": f.own, "competitor": f.competitor}


def get(engine, period: report.Period = MARCH, **kwargs: Any) -> report.Report:
    with Session(engine) as s:
        return report.report(period, session=s, **kwargs)


# ---- periods -----------------------------------------------------------------------------------


def test_periods_parse_and_default_to_the_last_complete_one():
    today = date(2026, 4, 15)
    assert report.parse_period(None, None, today=today) == MARCH
    assert report.parse_period("quarter", "", today=today) == report.Period(ReportPeriod.quarter, date(2026, 1, 1))
    assert report.parse_period("month", "2026-02-17", today=today) == FEB
    assert report.parse_period("quarter", "2026-05", today=today).start == date(2026, 4, 1)
    q = report.Period(ReportPeriod.quarter, date(2026, 1, 1))
    assert (q.end, q.last_day, q.previous().start, q.key) == (date(2026, 4, 1), date(2026, 3, 31), date(2025, 10, 1), "2026-01")
    assert report.last_complete(ReportPeriod.month, date(2026, 1, 1)) == report.Period(ReportPeriod.month, date(2025, 12, 1))
    for period, start, field in (("week", "2026-03", "period"), ("month", "2026-13", "start"), ("month", "03/2026", "start"),
                                 ("month", "2026-02-30", "start"), ("month", "0001-01", "start")):
        with pytest.raises(InvalidInput) as caught:
            report.parse_period(period, start, today=today)
        assert field in caught.value.field_errors


def test_bounds_follow_the_time_zone():
    from zoneinfo import ZoneInfo
    first, after = MARCH.bounds(ZoneInfo("Europe/Madrid"))
    assert first == datetime(2026, 2, 28, 23, tzinfo=UTC) and after == datetime(2026, 3, 31, 22, tzinfo=UTC)


def test_changes_in_percent_and_points():
    assert report.Change(150, 100).delta == pytest.approx(0.5)
    assert report.Change(150, 100).direction == "up"
    assert report.Change(5, 0).delta is None and report.Change(5, 0).direction == "none"
    assert report.Change(0.4, 0.6, share=True).delta == pytest.approx(-0.2)
    assert report.Change(0.5, None, share=True).delta is None
    assert report.Change(3, 3).direction == "flat"


# ---- the numbers reconcile with the rows --------------------------------------------------------


def test_every_headline_number_reconciles_with_the_raw_rows(engine):
    ids = build(engine)
    r = get(engine)
    for period, figures_of in ((MARCH, lambda row: row.current), (FEB, lambda row: row.previous)):
        per_channel, total = recompute(engine, *period.bounds(UTC))
        assert _as_dict(figures_of(r.total)) == total, period
        shown = {row.channel: _as_dict(figures_of(row)) for row in r.channels}
        for channel, expected in per_channel.items():
            got = shown.get(channel, _as_dict(report.Figures()))
            assert got == expected, (period, channel)
    # and the same numbers written out by hand, so the recomputation itself is checked
    now = r.total.current
    assert now.mentions == 6  # love, both, broke, versus, rival, complaint: "both" once though it matches two topics
    assert now.reach == 1000 + 500 + 200 + 3000 + 10000 + 50
    assert (now.positive, now.negative) == (2, 3)  # versus is neutral (0.0)
    assert now.estimated == 1  # "broke" had no sentiment: the word list said negative
    assert now.people == 3  # ana (posts), ben (review, forum answer), cai; the complaint and the note are no contributions
    assert (now.own, now.competitor) == (5, 2)  # "versus" counts on both sides
    assert now.balance == pytest.approx(2 / 5)
    assert now.share_of_voice == pytest.approx(5 / 7)
    before = r.total.previous
    assert (before.mentions, before.reach, before.own, before.competitor, before.people) == (2, 500, 1, 1, 2)
    x = next(row for row in r.channels if row.channel == "x")
    assert (x.current.mentions, x.previous.mentions) == (2, 2)
    discourse = next(row for row in r.channels if row.channel == "discourse")
    assert (discourse.current.mentions, discourse.current.people) == (0, 1)
    total_metrics = {m.key: m.change for m in r.total.metrics(r.has_competitors)}
    assert total_metrics["mentions"].delta == pytest.approx(2.0)  # 6 against 2
    assert total_metrics["share_of_voice"].delta == pytest.approx(5 / 7 - 1 / 2)
    assert ids["april"] and ids["note"]


def test_drivers_rank_topics_channels_and_people(engine):
    ids = build(engine)
    r = get(engine)
    assert [(d.name, d.mentions.current, d.mentions.previous) for d in r.topics] == [
        ("Acme", 4, 1), ("Globex", 2, 1), ("Rocket", 2, 0)]
    assert r.topics[2].mentions.delta is None  # nothing before: no percentage
    assert [(d.name, d.mentions.current) for d in r.channel_drivers] == [("reddit", 3), ("x", 2), ("youtube", 1)]
    # two mentions each: ties go to the larger reach
    # (people who have not agreed to be featured are in the table, unnamed and unlinked)
    assert [(d.profile_id, d.mentions.current) for d in r.people_by_mentions] == [(None, 2), (ids["ana"], 2), (None, 2)]
    assert [d.profile_id for d in r.people_by_reach] == [None, ids["ana"], None]
    assert [d.name for d in r.people_by_mentions] == ["an influencer", "Ana Amiga", "a customer"]
    assert r.people_by_reach[0].reach.current == 13000 and r.people_by_reach[1].reach.previous == 400


def test_an_empty_previous_period_gives_no_change(engine):
    build(engine)
    r = get(engine, report.Period(ReportPeriod.month, date(2026, 2, 1)))
    assert r.total.previous.mentions == 0
    for metric in r.total.metrics(r.has_competitors):
        assert metric.change.delta is None and metric.change.direction == "none", metric.key


def test_share_of_voice_only_while_competitors_are_tracked(engine):
    build(engine, competitor=False)
    r = get(engine)
    assert r.has_competitors is False
    assert [m.key for m in r.total.metrics(r.has_competitors)] == ["mentions", "people", "reach", "balance"]
    assert "Share of voice" not in report.csv_text(r)


# ---- quotes ------------------------------------------------------------------------------------


def test_quotes_keep_their_order_hide_names_without_consent_and_drop_deleted_ones(engine):
    ids = build(engine)
    period = MARCH
    with session_scope(engine, write=True) as s:
        report.update(period, report.ReportIn(quote_ids=[ids["broke"], ids["love"], ids["versus"], ids["broke"]]),
                      session=s, actor=ACTOR)
    r = get(engine)
    assert [q.interaction_id for q in r.quotes] == [ids["broke"], ids["love"], ids["versus"]]
    broke, love, versus = r.quotes
    assert (broke.who, broke.named, broke.profile_id, broke.url) == ("a customer on reddit", False, None, "")
    assert (versus.who, versus.named) == ("an influencer on reddit", False)
    assert (love.who, love.named, love.profile_id) == ("Ana Amiga", True, ids["ana"])
    rows = list(csv.reader(io.StringIO(report.csv_text(r))))
    quotes = rows[rows.index(["Quotes"]) + 2: rows.index(["Signals"]) - 1]
    assert [q[0] for q in quotes] == ["a customer on reddit", "Ana Amiga", "an influencer on reddit"]
    assert quotes[0][4] == "" and quotes[1][4] == ""  # no address to the anonymous one; Ana's post had none
    # the interaction deleted, then the person: dropped with a note, never an error
    with session_scope(engine, write=True) as s:
        s.execute(delete(Interaction).where(Interaction.id == ids["love"]))
    with session_scope(engine, write=True) as s:
        s.execute(delete(Profile).where(Profile.id == ids["cai"]))
    r = get(engine)
    assert [q.interaction_id for q in r.quotes] == [ids["broke"]] and r.dropped_quotes == 2
    assert "2 picked quotes were left out" in report.csv_text(r)


def test_quotes_must_come_from_the_period_and_be_at_most_ten(engine):
    ids = build(engine)
    with session_scope(engine, write=True) as s:
        for bad in ([ids["old"]], [ids["note"]], [ids["april"]], [999999]):
            with pytest.raises(InvalidInput) as caught:
                report.update(MARCH, report.ReportIn(quote_ids=bad), session=s, actor=ACTOR)
            assert "quote_ids" in caught.value.field_errors
        with pytest.raises(InvalidInput, match="at most 10"):
            report.update(MARCH, report.ReportIn(quote_ids=list(range(1, 12))), session=s, actor=ACTOR)
        # a contribution that is no mention may be quoted
        report.update(MARCH, report.ReportIn(quote_ids=[ids["answer"]]), session=s, actor=ACTOR)
    with Session(engine) as s:
        assert s.exec(select(ManagementReport)).one().quote_ids == [ids["answer"]]


def test_the_picker_offers_the_most_engaged_and_reached_with_the_picks_first(engine):
    ids = build(engine)
    with session_scope(engine, write=True) as s:
        report.update(MARCH, report.ReportIn(quote_ids=[ids["complaint"]]), session=s, actor=ACTOR)
    r = get(engine, with_candidates=True)
    offered = [q.interaction_id for q in r.candidates]
    assert offered[0] == ids["complaint"]
    assert offered[1:3] == [ids["rival"], ids["broke"]]  # by engagements: 700, 90
    assert ids["note"] not in offered and ids["old"] not in offered and ids["april"] not in offered
    assert len(offered) == len(set(offered))


# ---- the judgement -----------------------------------------------------------------------------


def test_the_judgement_is_one_line_of_at_most_300_characters_and_audited(engine):
    build(engine)
    with pytest.raises(ValidationError):
        report.ReportIn(judgement="x" * 301)
    assert report.ReportIn(judgement="  A good\n month  ").judgement == "A good month"
    with session_scope(engine, write=True) as s:
        report.update(MARCH, report.ReportIn(judgement="y" * 300), session=s, actor=ACTOR)
    with session_scope(engine, write=True) as s:
        report.update(MARCH, report.ReportIn(judgement="Calmer month; Rocket complaints doubled."), session=s, actor=ACTOR)
    r = get(engine)
    assert r.judgement == "Calmer month; Rocket complaints doubled."
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "report.update").order_by(AuditEvent.id)).all()
    assert len(events) == 2 and events[1].before["judgement"] == "y" * 300
    assert get(engine, FEB).judgement == ""  # another period has its own


# ---- other sections ----------------------------------------------------------------------------


def test_signals_campaigns_and_recognition(engine, monkeypatch):
    ids = build(engine)
    with session_scope(engine, write=True) as s:
        s.add(Signal(type="complaint", title="Slow support", created_at=at("2026-03-03"), resolved_at=at("2026-03-04"),
                     resolution_due=at("2026-03-05"), status="resolved"))
        s.add(Signal(type="complaint", title="Late", created_at=at("2026-03-03"), resolved_at=at("2026-03-09"),
                     resolution_due=at("2026-03-05"), status="resolved"))
        s.add(Signal(type="bug_report", title="Open", created_at=at("2026-03-20")))
        running = Campaign(name="Spring launch", status="active", starts_on=date(2026, 2, 20), ends_on=date(2026, 3, 20))
        s.add(running)
        s.add(Campaign(name="Later", status="active", starts_on=date(2026, 4, 2)))
        s.add(Campaign(name="Planned only", status="planning", starts_on=date(2026, 3, 1)))
        s.flush()
        s.get(Interaction, ids["rival"]).campaign_id = running.id
        s.get(Interaction, ids["old"]).campaign_id = running.id
        badge = Badge(name="Helper")
        s.add(badge)
        s.flush()
        s.add(BadgeAward(badge_id=badge.id, profile_id=ids["ana"], awarded_at=at("2026-03-08")))
        s.add(PointEntry(profile_id=ids["ana"], amount=50, kind="awarded", created_at=at("2026-03-08")))
        s.add(PointEntry(profile_id=ids["ana"], amount=-20, kind="spent", created_at=at("2026-03-08")))
        s.add(PointEntry(profile_id=ids["ben"], amount=7, kind="earned", created_at=at("2026-02-08")))
        s.add(Recognition(profile_id=ids["ana"], kind="thanks", created_at=at("2026-03-09")))
        s.add(Recognition(profile_id=ids["ana"], kind="badge", created_at=at("2026-03-09")))
    r = get(engine)
    assert r.signals is not None
    assert (r.signals.opened, r.signals.resolved, r.signals.resolved_in_sla) == (3, 2, 1)
    assert r.signals.share_in_sla == pytest.approx(0.5)
    assert [(c.name, c.contributions, c.reach) for c in r.campaigns] == [("Spring launch", 1, 10000)]
    assert (r.recognition.points, r.recognition.badges, r.recognition.thanks, r.recognition.redemptions) == (50, 1, 1, 0)
    assert r.recognition_previous.points == 7
    # signals not available (helper D's module missing): "—", never an error
    real = report.importlib.import_module

    def missing(name: str) -> Any:
        if name == "crm.listening.signals":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(report.importlib, "import_module", missing)
    r = get(engine)
    assert r.signals is None
    assert "—,—,—,—,—" in report.csv_text(r)


# ---- CSV ---------------------------------------------------------------------------------------


def test_the_csv_has_sections_and_is_formula_safe(engine):
    ids = build(engine)
    with session_scope(engine, write=True) as s:
        s.add(Topic(name="=HYPERLINK(\"http://evil\")", kind="brand", terms=["launch"]))
    with session_scope(engine, write=True) as s:
        # re-logged so the new topic matches it
        evil = _log(s, ids["ana"], channel="x", body="+cmd launch now", occurred_at=at("2026-03-20"), reach=1)
        report.update(MARCH, report.ReportIn(judgement="@SUM(A1) was fine", quote_ids=[evil]), session=s, actor=ACTOR)
    text = report.csv_text(get(engine))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["Management report", "March 2026"]
    assert ["Judgement", "'@SUM(A1) was fine"] in rows
    for header in (["Headline numbers"], ["Top topics"], ["Quotes"], ["Signals"], ["Campaigns"], ["Recognition"]):
        assert header in rows, header
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells
    assert any(cell.startswith("'+cmd launch now") for cell in cells)
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)
    assert not any(cell.startswith("-") and not cell[1:2].isdigit() for cell in cells)
    total = next(row for row in rows if row[:2] == ["All channels", "Mentions"])
    assert total[2:] == ["7", "2", "250.0", "%"]
    balance = next(row for row in rows if row[:2] == ["All channels", "Sentiment balance"])
    assert balance[2:] == ["40.0%", "100.0%", "-60.0", "points"]


# ---- the scheduled e-mail, against a real SMTP server -------------------------------------------


def _recipients(engine) -> dict[str, date | None]:
    with Session(engine) as s:
        return {f"{r.email}/{r.period}": r.last_sent_for for r in s.exec(select(ReportRecipient))}


def test_send_due_sends_each_period_once(engine, settings, smtp):
    inbox, port = smtp
    ids = build(engine)
    with session_scope(engine, write=True) as s:
        report.update(MARCH, report.ReportIn(judgement="A busy March.", quote_ids=[ids["broke"]]), session=s, actor=ACTOR)
        report.add_recipient(report.RecipientIn(email="Boss@Example.com"), session=s, actor=ACTOR)
        report.add_recipient(report.RecipientIn(email="board@example.com", period="quarter"), session=s, actor=ACTOR)
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "crm@example.com",
                                             "public_url": "https://crm.example.com"})
    assert report.send_due(engine, configured, today=date(2026, 4, 3)) == 2
    by_to = {tuple(rcpts): message for rcpts, message in inbox.messages}
    monthly = by_to[("boss@example.com",)]
    assert monthly["Subject"] == "Management report: March 2026"
    text = monthly.get_body(preferencelist=("plain",)).get_content()
    assert "A busy March." in text and "a customer on reddit" in text and "Ben Bajo" not in text
    assert "Mentions: 6" in text
    assert "https://crm.example.com/listening/report?period=month&start=2026-03" in text
    html = monthly.get_body(preferencelist=("html",)).get_content()
    assert "<blockquote>" in html and "A busy March." in html
    assert by_to[("board@example.com",)]["Subject"] == "Management report: Q1 2026"
    assert _recipients(engine) == {"boss@example.com/month": date(2026, 3, 1), "board@example.com/quarter": date(2026, 1, 1)}
    # the next tick, the same month: nothing again; a month later: April's
    assert report.send_due(engine, configured, today=date(2026, 4, 29)) == 0
    assert report.send_due(engine, configured, today=date(2026, 5, 1)) == 1
    assert len(inbox.messages) == 3 and inbox.messages[-1][1]["Subject"] == "Management report: April 2026"


def test_smtp_down_leaves_the_recipient_unsent_for_the_next_tick(engine, settings, smtp, caplog):
    inbox, port = smtp
    with session_scope(engine, write=True) as s:
        report.add_recipient(report.RecipientIn(email="boss@example.com"), session=s, actor=ACTOR)
    down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_timeout_seconds": 2})
    assert report.send_due(engine, down, today=date(2026, 4, 3)) == 0
    assert _recipients(engine) == {"boss@example.com/month": None}
    assert "not sent" in caplog.text
    off = settings.model_copy(update={"smtp_host": ""})  # e-mail not configured: the same
    assert report.send_due(engine, off, today=date(2026, 4, 3)) == 0
    up = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    assert report.send_due(engine, up, today=date(2026, 4, 3)) == 1
    assert _recipients(engine) == {"boss@example.com/month": date(2026, 3, 1)} and len(inbox.messages) == 1


def test_recipients_are_unique_and_audited(engine):
    with session_scope(engine, write=True) as s:
        row = report.add_recipient(report.RecipientIn(email="a@example.com"), session=s, actor=ACTOR)
        with pytest.raises(InvalidInput):
            report.add_recipient(report.RecipientIn(email="A@example.com"), session=s, actor=ACTOR)
        report.add_recipient(report.RecipientIn(email="a@example.com", period="quarter"), session=s, actor=ACTOR)
        report.remove_recipient(row.id, session=s, actor=ACTOR)
    with Session(engine) as s:
        assert [r.period for r in s.exec(select(ReportRecipient))] == ["quarter"]
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "report.recipients")).all()) == 3
