"""The crisis radar: ordering with its explanation (a champion's complaint above a larger stranger's), the
estimated sentiment marked, one row per interaction, window/topic/channel filters, bursts with who is
talking, per-person tone flags (both kinds, and the cases that must not flag), and the dashboard widget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.listening import radar
from crm.listening.match import is_negative
from crm.listening.models import Mention, Topic
from crm.listening.people import Author
from crm.listening.priority import Standing
from crm.profiles.models import Profile
from tests.factories import make_profile

# ---- a constructed scene, shared with the page and API tests -----------------------------------------


@dataclass
class Scene:
    now: datetime
    topics: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    said: dict[str, int] = field(default_factory=dict)  # label -> interaction id


def person(engine: Engine, name: str, *, level: int = 4, reach: int = 0, roles: list[str] | None = None,
           team: bool = False) -> int:
    profile = make_profile(engine, name, roles=roles or [], is_team_member=team)
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == profile.id).values(level=level, reach=reach))  # type: ignore[arg-type]
    return profile.id or 0


def say(engine: Engine, profile_id: int, when: datetime, *, topics: list[int], sentiment: float | None,
        kind: str = "post", source: str = "", title: str = "", body: str = "", channel: str = "x",
        reach: int = 0) -> int:
    """An interaction and its mentions, written directly (the matching is tested in test_listening_core)."""
    with session_scope(engine, write=True) as session:
        item = Interaction(profile_id=profile_id, kind=kind, channel=channel, title=title, body=body, occurred_at=when,
                           reach=reach, sentiment=sentiment, sentiment_source=source)
        session.add(item)
        session.flush()
        for topic_id in topics:
            session.add(Mention(interaction_id=item.id or 0, topic_id=topic_id, profile_id=profile_id, occurred_at=when,
                                negative=is_negative(sentiment, kind)))
        return item.id or 0


def topic(engine: Engine, name: str, terms: list[str] | None = None) -> int:
    with session_scope(engine, write=True) as session:
        row = Topic(name=name, kind="product", terms=terms or [name.lower()])
        session.add(row)
        session.flush()
        return row.id or 0


def build_scene(engine: Engine) -> Scene:
    """Carmen, a champion with 2,000 followers, complains; Sam, a stranger with a million, is as negative.
    Dora has been negative for a long time. A burst of Billing complaints from three people, one
    estimated sentiment, a post about two topics, and things that must stay off the radar."""
    now = utcnow()
    s = Scene(now=now)
    s.topics = {"dashboard": topic(engine, "Dashboard"), "billing": topic(engine, "Billing")}
    dash, bill = s.topics["dashboard"], s.topics["billing"]
    s.people = {
        "carmen": person(engine, "Carmen Champion", level=1, reach=2_000),
        "sam": person(engine, "Sam Stranger", level=4, reach=1_000_000),
        "dora": person(engine, "Dora Detractor", level=3, reach=500),
        "pablo": person(engine, "Pablo Poster", level=3, reach=100),
        "eva": person(engine, "Eva Estimated", level=4, reach=50),
    }
    p = s.people
    for days in (20, 30, 40, 50):  # Dora's history: mean -0.6 over 4 earlier interactions
        say(engine, p["dora"], now - timedelta(days=days), topics=[], sentiment=-0.6)
    s.said["carmen"] = say(engine, p["carmen"], now - timedelta(hours=30), topics=[dash], sentiment=-0.6,
                           title="The new dashboard lost my reports")
    s.said["sam"] = say(engine, p["sam"], now - timedelta(hours=28), topics=[dash], sentiment=-0.6,
                        title="Dashboard is bad", channel="youtube")
    s.said["dora"] = say(engine, p["dora"], now - timedelta(hours=50), topics=[dash], sentiment=-0.8,
                         title="Dashboard, again")
    s.said["both"] = say(engine, p["pablo"], now - timedelta(hours=60), topics=[dash, bill], sentiment=-0.4,
                         title="Dashboard and invoices both broken")
    s.said["estimated"] = say(engine, p["eva"], now - timedelta(hours=40), topics=[dash], sentiment=-0.5,
                              source="estimated", title="dashboard terribly slow")
    s.said["complaint"] = say(engine, p["pablo"], now - timedelta(hours=12), topics=[bill], sentiment=None,
                              kind="complaint", title="Charged twice")
    # the burst: Billing, four negative mentions within three hours, three people
    s.said["b1"] = say(engine, p["eva"], now - timedelta(hours=5), topics=[bill], sentiment=-0.7, title="invoice wrong")
    s.said["b2"] = say(engine, p["sam"], now - timedelta(hours=4), topics=[bill], sentiment=-0.9, title="billing is a scam")
    s.said["b3"] = say(engine, p["eva"], now - timedelta(hours=3), topics=[bill], sentiment=-0.5, title="still wrong")
    s.said["b4"] = say(engine, p["carmen"], now - timedelta(hours=2), topics=[bill], sentiment=-0.3, title="me too")
    # off the radar: positive, neutral, too old for 7 days (in 30), and negative but no topic
    s.said["positive"] = say(engine, p["sam"], now - timedelta(hours=6), topics=[dash], sentiment=0.8, title="love it")
    s.said["neutral"] = say(engine, p["sam"], now - timedelta(hours=7), topics=[dash], sentiment=0.0, title="meh")
    s.said["old"] = say(engine, p["carmen"], now - timedelta(days=10), topics=[dash], sentiment=-0.9, title="old gripe")
    s.said["untracked"] = say(engine, p["carmen"], now - timedelta(hours=8), topics=[], sentiment=-0.9, title="other")
    return s


def _page(engine: Engine, **query: object) -> radar.RadarPage:
    with session_scope(engine) as session:
        return radar.radar_page(radar.RadarQuery.model_validate(query), session=session)


# ---- the list ---------------------------------------------------------------------------------------


def test_champion_complaint_ranks_above_a_larger_stranger_and_says_why(engine: Engine) -> None:
    s = build_scene(engine)
    page = _page(engine, topic=s.topics["dashboard"])
    order = [r.mention.interaction_id for r in page.rows]
    assert order.index(s.said["carmen"]) < order.index(s.said["sam"])
    carmen = next(r for r in page.rows if r.mention.interaction_id == s.said["carmen"])
    sam = next(r for r in page.rows if r.mention.interaction_id == s.said["sam"])
    assert carmen.mention.priority.standing == Standing.champion
    assert carmen.standing_reason == "champion: level 1"
    assert carmen.mention.priority.value == pytest.approx(0.6 * 4.301 * 3.0, abs=0.01)
    assert sam.mention.priority.standing == Standing.stranger
    assert sam.mention.priority.audience == 1_000_000
    assert sam.mention.priority.reach_factor == pytest.approx(7.0)
    assert carmen.mention.priority.value > sam.mention.priority.value
    assert [r.mention.priority.value for r in page.rows] == sorted((r.mention.priority.value for r in page.rows),
                                                                   reverse=True)


def test_long_time_detractor_is_explained_with_its_numbers(engine: Engine) -> None:
    s = build_scene(engine)
    dora = next(r for r in _page(engine).rows if r.mention.interaction_id == s.said["dora"])
    assert dora.mention.priority.standing == Standing.detractor
    assert dora.standing_reason == "long-time detractor: mean sentiment -0.6 over 4 earlier interactions"
    assert dora.mention.priority.standing_weight == 0.8


def test_estimated_sentiment_is_marked_and_complaints_count_without_a_label(engine: Engine) -> None:
    s = build_scene(engine)
    rows = {r.mention.interaction_id: r for r in _page(engine).rows}
    assert rows[s.said["estimated"]].estimated is True
    assert rows[s.said["carmen"]].estimated is False
    complaint = rows[s.said["complaint"]]
    assert complaint.mention.sentiment is None and complaint.mention.priority.negativity == 0.5


def test_only_negative_mentions_of_the_window_one_row_per_interaction(engine: Engine) -> None:
    s = build_scene(engine)
    page = _page(engine)
    ids = [r.mention.interaction_id for r in page.rows]
    assert sorted(ids) == sorted(s.said[k] for k in ("carmen", "sam", "dora", "both", "estimated", "complaint",
                                                      "b1", "b2", "b3", "b4"))
    assert page.total == 10 and len(ids) == len(set(ids))
    both = next(r for r in page.rows if r.mention.interaction_id == s.said["both"])
    assert both.topic_ids == tuple(sorted((s.topics["dashboard"], s.topics["billing"])))


def test_window_topic_and_channel_filters(engine: Engine) -> None:
    s = build_scene(engine)
    day = [r.mention.interaction_id for r in _page(engine, window="24h").rows]
    assert sorted(day) == sorted(s.said[k] for k in ("complaint", "b1", "b2", "b3", "b4"))
    month = [r.mention.interaction_id for r in _page(engine, window="30d").rows]
    assert s.said["old"] in month and len(month) == 11
    billing = [r.mention.interaction_id for r in _page(engine, topic=s.topics["billing"]).rows]
    assert sorted(billing) == sorted(s.said[k] for k in ("both", "complaint", "b1", "b2", "b3", "b4"))
    youtube = [r.mention.interaction_id for r in _page(engine, channel="youtube").rows]
    assert youtube == [s.said["sam"]]


def test_pages_of_the_list(engine: Engine) -> None:
    s = build_scene(engine)
    with session_scope(engine) as session:
        first = radar.radar_page(radar.RadarQuery(), session=session, per_page=4)
        third = radar.radar_page(radar.RadarQuery(page=3), session=session, per_page=4)
        beyond = radar.radar_page(radar.RadarQuery(page=99), session=session, per_page=4)
    assert (first.total, first.pages, len(first.rows), len(third.rows)) == (10, 3, 4, 2)
    assert beyond.page == 3
    assert not {r.mention.interaction_id for r in first.rows} & {r.mention.interaction_id for r in third.rows}
    assert s.said["b2"] in {r.mention.interaction_id for r in first.rows}


def test_empty_radar(engine: Engine) -> None:
    assert _page(engine).rows == []
    with session_scope(engine) as session:
        assert radar.widget(session=session).has_topics is False
        view = radar.radar_view(radar.RadarQuery(), session=session)
    assert (view.has_topics, view.bursts, view.tone, view.page.total) == (False, [], [], 0)


# ---- bursts -------------------------------------------------------------------------------------------


def test_bursts_and_who_is_talking(engine: Engine) -> None:
    s = build_scene(engine)
    with session_scope(engine) as session:
        found = radar.bursts(radar.RadarQuery(), session=session)
    assert len(found) == 1  # the Dashboard mentions are hours apart; Billing's four are one burst
    burst = found[0]
    assert burst.topic_id == s.topics["billing"] and burst.topic_name == "Billing"
    assert burst.count == 4
    assert burst.interaction_ids == sorted(s.said[k] for k in ("b1", "b2", "b3", "b4"))
    speakers = [(sp.author.profile_id, sp.mentions) for sp in burst.speakers]
    # Sam: -0.9 with a million (0.9 × 7); Eva twice but small; Carmen a champion but mild (0.3 × 4.3 × 3)
    assert speakers == [(s.people["sam"], 1), (s.people["carmen"], 1), (s.people["eva"], 2)]
    assert burst.speakers[0].top is not None and burst.speakers[0].top.interaction_id == s.said["b2"]
    assert radar.signal_url(burst.interaction_ids) == "/signals/new?interaction_ids=" + ",".join(
        str(i) for i in burst.interaction_ids)


def _ranked(topic_id: int, hours: list[float], *, start: datetime) -> list:  # type: ignore[type-arg]
    from crm.listening.people import RankedMention
    from crm.listening.priority import crisis_priority
    author = Author(profile_id=1, name="x", level=4, reach=0, score=0, is_team_member=False, roles=(), status="active",
                    may_feature=False, earlier_mean_sentiment=None, earlier_count=0)
    return [RankedMention(mention_id=i + 1, interaction_id=i + 1, topic_id=topic_id, author=author,
                          occurred_at=start + timedelta(hours=h), kind="post", channel="x", title="", body="", url="",
                          sentiment=-0.5, sentiment_source="",
                          priority=crisis_priority(sentiment=-0.5, kind="post", audience=0, standing=Standing.stranger))
            for i, h in enumerate(hours)]


def test_group_bursts_splits_at_the_gap_per_topic() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = _ranked(1, [0, 5, 10.9, 17, 30, 31], start=start) + _ranked(2, [0, 1], start=start)
    runs = radar.group_bursts(items)
    assert [len(r) for r in runs] == [3]  # 0, 5, 10.9 (gaps under 6 h); 17 is 6.1 h later; 30-31 and topic 2 are too few
    assert radar.group_bursts(items, min_size=2) and len(radar.group_bursts(items, min_size=2)) == 3
    assert [len(r) for r in radar.group_bursts(_ranked(1, [0, 6, 12], start=start))] == []  # exactly 6 h apart: apart


# ---- tone baselines -------------------------------------------------------------------------------------


def test_tone_flags_pure() -> None:
    T = radar.PersonTone
    people = [
        T(profile_id=1, level=1, window_count=3, window_mean=-0.4, baseline_count=8, baseline_mean=0.6),  # turned
        T(profile_id=2, level=3, window_count=3, window_mean=-0.4, baseline_count=8, baseline_mean=0.6),  # not an advocate
        T(profile_id=3, level=2, window_count=3, window_mean=-0.4, baseline_count=8, baseline_mean=-0.1),  # never positive
        T(profile_id=4, level=2, window_count=1, window_mean=-0.9, baseline_count=8, baseline_mean=0.6),  # one post only
        T(profile_id=5, level=2, window_count=3, window_mean=0.1, baseline_count=8, baseline_mean=0.6),  # still positive
        T(profile_id=6, level=2, window_count=2, window_mean=-0.2, baseline_count=2, baseline_mean=0.9),  # thin baseline
        T(profile_id=7, level=4, complaints=3, baseline_activity=6),  # writes once a month: 3 complaints in a week
        T(profile_id=8, level=4, complaints=3, baseline_activity=180),  # writes daily: 3 is normal
        T(profile_id=9, level=4, complaints=2, baseline_activity=1),  # two are not enough
        T(profile_id=10, level=4, complaints=5, baseline_activity=0),  # no history: new, not quiet
    ]
    flags = radar.tone_flags(people, window_days=7)
    assert [(f.profile_id, f.kind.value) for f in flags] == [(1, "turned"), (7, "quiet")]
    quiet = flags[1]
    assert quiet.expected == pytest.approx(6 * 7 / 180)
    lam = 6 * 7 / 180
    assert quiet.p_value == pytest.approx(1 - math.exp(-lam) * (1 + lam + lam**2 / 2))  # P(X >= 3 | λ), about 0.0018
    # the same person on a 30-day window: 3 complaints against λ = 1 is not improbable enough
    assert radar.tone_flags([people[6]], window_days=30) == []


def test_tone_changes_from_the_database(engine: Engine) -> None:
    now = utcnow()
    t = topic(engine, "Product")
    amy = person(engine, "Amy Advocate", level=2, reach=300)
    quinn = person(engine, "Quinn Quiet", level=4, reach=10)
    busy = person(engine, "Bea Busy", level=4, reach=10)
    steady = person(engine, "Stella Steady", level=1, reach=10)
    for d in (20, 50, 80, 110):
        say(engine, amy, now - timedelta(days=d), topics=[], sentiment=0.7)
        say(engine, steady, now - timedelta(days=d), topics=[], sentiment=0.7)
    say(engine, amy, now - timedelta(days=2), topics=[t], sentiment=-0.6)
    say(engine, amy, now - timedelta(days=1), topics=[], sentiment=-0.2)  # counted, though about nothing tracked
    say(engine, steady, now - timedelta(days=1), topics=[t], sentiment=0.5)
    say(engine, steady, now - timedelta(days=1), topics=[t], sentiment=-0.1)  # one sour note: still positive
    for d in (30, 60, 90, 120, 150, 170):  # Quinn writes once a month
        say(engine, quinn, now - timedelta(days=d), topics=[], sentiment=None)
    for h in (10, 20, 30):
        say(engine, quinn, now - timedelta(hours=h), topics=[t], sentiment=None, kind="complaint")
    for d in range(1, 180):  # Bea writes every day
        say(engine, busy, now - timedelta(days=d, hours=12), topics=[], sentiment=None, kind="feedback")
    for h in (10, 20, 30):
        say(engine, busy, now - timedelta(hours=h), topics=[t], sentiment=-0.5)
    off_radar = person(engine, "Olga Offradar", level=4)  # quiet and complaining, but about nothing tracked
    say(engine, off_radar, now - timedelta(days=60), topics=[], sentiment=None)
    for h in (10, 20, 30):
        say(engine, off_radar, now - timedelta(hours=h), topics=[], sentiment=None, kind="complaint")
    with session_scope(engine) as session:
        changes = radar.tone_changes(radar.RadarQuery(), session=session)
    found = {(c.flag.profile_id, c.flag.kind.value) for c in changes}
    assert found == {(amy, "turned"), (quinn, "quiet")}
    turned = next(c for c in changes if c.flag.profile_id == amy)
    assert turned.name == "Amy Advocate"
    assert (turned.flag.tone.window_count, turned.flag.tone.baseline_count) == (2, 4)
    assert turned.flag.tone.window_mean == pytest.approx(-0.4)
    assert turned.flag.tone.baseline_mean == pytest.approx(0.7)
    quiet = next(c for c in changes if c.flag.profile_id == quinn)
    assert (quiet.flag.tone.complaints, quiet.flag.tone.baseline_activity) == (3, 6)


# ---- the dashboard widget ---------------------------------------------------------------------------------


def test_widget_top_five_of_the_week(engine: Engine) -> None:
    s = build_scene(engine)
    with session_scope(engine) as session:
        w = radar.widget(session=session)
    assert w.has_topics and w.total == 10 and len(w.rows) == 5
    assert [r.mention.interaction_id for r in w.rows[:2]] == [s.said["carmen"], s.said["b2"]]


def test_widget_with_topics_but_nothing_negative(engine: Engine) -> None:
    topic(engine, "Quiet product")
    with session_scope(engine) as session:
        w = radar.widget(session=session)
    assert w.has_topics and w.rows == [] and w.total == 0


def test_logged_complaint_reaches_the_radar_with_its_estimate(engine: Engine) -> None:
    """End to end through the interaction log: the word list estimates, the radar marks it estimated."""
    who = person(engine, "Lola Logged", level=2, reach=5_000)
    topic(engine, "Dashboard", ["dashboard"])
    with session_scope(engine, write=True) as session:
        item = log.log_interaction(who, InteractionIn(kind="post", title="The dashboard is terribly slow",
                                                      occurred_at=utcnow() - timedelta(hours=1)),
                                   session=session, actor=SYSTEM)
        item_id = item.id
    rows = _page(engine).rows
    assert [r.mention.interaction_id for r in rows] == [item_id]
    assert rows[0].estimated and rows[0].mention.priority.standing == Standing.advocate
    assert rows[0].standing_reason == "advocate: level 2"


def test_bounded_ranking_matches_ranking_everything(engine: Engine) -> None:
    """Only as many mentions are ranked exactly as the page needs; the result must be what ranking all of
    them gives, detractors (whose history lowers them below their bound) included."""
    import random

    from sqlalchemy import select as sa_select

    from crm.listening.people import MENTION_COLUMNS, M, X, rank, who_is_talking

    rnd = random.Random(7)
    now = utcnow()
    t = topic(engine, "Everything")
    people = [person(engine, f"P{i}", level=rnd.choice((1, 2, 3, 4)), reach=rnd.choice((0, 50, 5_000, 200_000)))
              for i in range(24)]
    for pid in people[::3]:  # a third of them long-time detractors
        for d in (20, 40, 60):
            say(engine, pid, now - timedelta(days=d), topics=[], sentiment=-0.7)
    for _ in range(90):
        say(engine, rnd.choice(people), now - timedelta(hours=rnd.uniform(1, 160)), topics=[t],
            sentiment=rnd.choice((-1.0, -0.8, -0.5, -0.2, None)), kind=rnd.choice(("post", "complaint")),
            reach=rnd.choice((0, 0, 1_000_000)))
    with session_scope(engine) as session:
        rows = session.connection().execute(sa_select(*MENTION_COLUMNS).join(X, X.c.id == M.c.interaction_id)).all()
        start = now - timedelta(days=7)
        everything = rank(session.connection(), [r for r in rows if r.sentiment is not None and r.sentiment < 0
                                                  or r.kind == "complaint"], before=start)
        expected = [m.interaction_id for m in everything]
        for per_page in (3, 7):
            got: list[int] = []
            for page in range(1, 5):
                got += [r.mention.interaction_id for r in radar.radar_page(
                    radar.RadarQuery(page=page), session=session, now=now, per_page=per_page).rows]
            assert got == expected[:len(got)] and len(got) == min(4 * per_page, len(expected))
        bursts = radar.bursts(radar.RadarQuery(), session=session, now=now, speakers_limit=3)
        full = radar.bursts(radar.RadarQuery(), session=session, now=now)
    assert any(m.priority.standing == Standing.detractor for m in everything)
    assert full and any(b.people > 3 for b in full)
    for short, whole in zip(bursts, full, strict=True):
        assert [(s.author.profile_id, s.mentions) for s in short.speakers] == [
            (s.author.profile_id, s.mentions) for s in whole.speakers][:3]
        in_burst = [m for m in everything if m.interaction_id in set(whole.interaction_ids)]
        assert [s.author.profile_id for s in whole.speakers] == [s.author.profile_id for s in who_is_talking(in_burst)]
