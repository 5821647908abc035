"""The crisis radar: every negative or complaint mention of a window, most urgent first, with the factors
of its priority (crm.listening.priority, ranked by crm.listening.people.rank); bursts of mentions per topic
with who is talking; people whose own tone changed; and the dashboard's short list.

- A mention is on the radar when its interaction is negative (sentiment below zero, whether given,
  estimated or corrected) or is a complaint. One row per interaction: a post matching two topics is one
  row naming both.
- A burst is a run of a topic's negative mentions each closer than BURST_GAP to the one before; runs of at
  least BURST_MIN are shown, with the people behind them (people.who_is_talking).
- Tone baselines are per person (DESIGN.md "Listening and signals"): an advocate (level 1-2) whose mean
  sentiment over the window is negative while it was positive over the BASELINE_DAYS before ("tone
  turned"), and a quiet person whose complaints in the window are improbable given how often they write
  at all (exact Poisson tail, at least QUIET_MIN_COMPLAINTS): three complaints from someone who writes
  once a month. `tone_flags` decides from plain numbers; `tone_changes` reads them.

The earlier history that makes someone a long-time detractor is read before the window starts, so a
burst of complaints cannot turn its own authors into "the usual detractors"."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select
from sqlmodel import Session

from crm.db import utcnow
from crm.i18n import N_, gettext
from crm.interactions.models import OUR_KINDS, Interaction
from crm.listening.models import Mention, Topic
from crm.listening.people import Author, RankedMention, Speaker, ranked_mentions, who_is_talking
from crm.listening.priority import DETRACTOR_MIN, Standing, crisis_priority, standing_of
from crm.listening.spikes import poisson_tail
from crm.profiles.models import Profile
from crm.schemas import DbId

X: Table = Interaction.__table__  # type: ignore[attr-defined]
M: Table = Mention.__table__  # type: ignore[attr-defined]
P: Table = Profile.__table__  # type: ignore[attr-defined]
T: Table = Topic.__table__  # type: ignore[attr-defined]

PER_PAGE = 25
BURST_GAP = timedelta(hours=6)
BURST_MIN = 3
MAX_BURSTS = 10
SPEAKERS_SHOWN = 8  # on the page; the API lists everyone
BASELINE_DAYS = 180
TURN_MIN_WINDOW = 2  # sentiment-bearing interactions in the window...
TURN_MIN_BASELINE = 3  # ...and in the baseline before it, for "tone turned"
QUIET_MIN_COMPLAINTS = 3
QUIET_MAX_P = 0.01
MAX_TONE = 20
WIDGET_ROWS = 5
COMPLAINT = "complaint"
FORMULA = "priority = negativity × (1 + log10(1 + audience)) × standing weight"


class Window(StrEnum):
    day = "24h"
    week = "7d"
    month = "30d"

    @property
    def days(self) -> int:
        return {"24h": 1, "7d": 7, "30d": 30}[self.value]

    @property
    def label(self) -> str:
        return gettext(WINDOW_LABELS[self])


WINDOW_LABELS = {Window.day: N_("Last 24 hours"), Window.week: N_("Last 7 days"), Window.month: N_("Last 30 days")}


class RadarQuery(BaseModel):
    """What the radar shows: window, topic, channel and page (query parameters; the API validates strictly,
    the page falls back to defaults)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True, extra="forbid")

    window: Window = PydField(default=Window.week, description="24h, 7d (default) or 30d, ending now")
    topic: DbId | None = PydField(default=None, description="Only mentions of this topic")
    channel: str = PydField(default="", max_length=30, description="Only this channel (x, email, discourse...)")
    page: int = PydField(default=1, ge=1, le=10_000)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        return now - timedelta(days=self.window.days), now


def negative_clause() -> ColumnElement[bool]:
    """An interaction on the radar: negative sentiment, or a complaint whatever its label."""
    return or_(X.c.sentiment < 0, X.c.kind == COMPLAINT)


# ---- the standing, explained --------------------------------------------------------------------


def standing_reason(author: Author) -> str:
    """Why the author weighs what they weigh: "champion: level 1", "long-time detractor: mean
    sentiment -0.6 over 7 earlier interactions"..."""
    standing = author.standing()
    if standing == Standing.employee:
        return gettext("colleague: a team member")
    if standing == Standing.journalist:
        return gettext("journalist: has the journalist role")
    if standing == Standing.champion:
        return gettext("champion: level 1")
    if standing == Standing.detractor:
        return gettext("long-time detractor: mean sentiment %(mean)s over %(n)d earlier interactions") % {
            "mean": f"{author.earlier_mean_sentiment or 0:.1f}", "n": author.earlier_count}
    if standing == Standing.advocate:
        return gettext("advocate: level 2")
    if standing == Standing.contributor:
        return gettext("contributor: level 3")
    if author.earlier_count and author.earlier_count < DETRACTOR_MIN:
        return gettext("stranger: little history with us")
    return gettext("stranger: no standing with us")


def standing_label(standing: Standing) -> str:
    return gettext(STANDING_LABELS[standing])


STANDING_LABELS = {
    Standing.champion: N_("Champion"),
    Standing.employee: N_("Colleague"),
    Standing.journalist: N_("Journalist"),
    Standing.advocate: N_("Advocate"),
    Standing.contributor: N_("Contributor"),
    Standing.detractor: N_("Long-time detractor"),
    Standing.stranger: N_("Stranger"),
}


# ---- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RadarRow:
    """One interaction on the radar (its first mention stands for it), with every topic it mentions."""

    mention: RankedMention
    topic_ids: tuple[int, ...]
    standing_reason: str

    @property
    def estimated(self) -> bool:
        return self.mention.sentiment_source == "estimated"


@dataclass
class RadarPage:
    query: RadarQuery
    start: datetime
    end: datetime
    rows: list[RadarRow]
    total: int
    page: int
    per_page: int
    topics: dict[int, str]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class Burst:
    """A run of a topic's negative mentions, with the people behind it (the most urgent first)."""

    topic_id: int
    topic_name: str
    start: datetime
    end: datetime
    count: int
    interaction_ids: list[int]
    people: int  # how many different people
    speakers: list[Speaker]  # exact for the first `speakers_limit` people (all of them through the API)
    interactions_of: dict[int, list[int]] = field(default_factory=dict)  # person -> their interactions here

    @property
    def top_priority(self) -> float:
        return self.speakers[0].top.priority.value if self.speakers and self.speakers[0].top else 0.0


@dataclass(frozen=True)
class Candidate:
    """A negative mention of the window with what its priority can be at most (the author's standing from
    level, colleague and role alone: history can only make a long-time detractor of them, who weighs least)."""

    mention_id: int
    interaction_id: int
    topic_id: int
    profile_id: int
    occurred_at: datetime
    channel: str
    level: int
    bound: float


_SCAN_COLUMNS = (M.c.id.label("mention_id"), M.c.interaction_id, M.c.topic_id, M.c.profile_id, M.c.occurred_at,
                 X.c.kind, X.c.channel, X.c.reach, X.c.sentiment, P.c.level, P.c.reach.label("profile_reach"),
                 P.c.is_team_member, P.c.roles)


@dataclass
class _Scan:
    """The window's negative mentions (narrow rows, bounded priorities) and the exact priorities computed so
    far: only as many as it takes to be sure of what is shown (see `ensure`)."""

    session: Session
    before: datetime
    candidates: list[Candidate]  # the channel filter applied, most urgent bound first
    channels: list[str]  # the channels of the window's negative mentions, before the channel filter
    exact: dict[int, RankedMention | None] = field(default_factory=dict)

    def ensure(self, items: Sequence[Candidate], key: str, k: int) -> None:
        """Compute exact priorities for `items` (sorted by bound, highest first) until the top `k` values of
        `key` (interaction_id, profile_id), each the best of its items, cannot change: the next item's bound
        is below the k-th best exact value found."""
        n = min(len(items), max(2 * k, 50))
        while True:
            missing = [c.mention_id for c in items[:n] if c.mention_id not in self.exact]
            if missing:
                found = {r.mention_id: r for r in ranked_mentions(self.session.connection(), missing, before=self.before)}
                self.exact.update({mid: found.get(mid) for mid in missing})
            if n >= len(items):
                return
            best: dict[int, float] = {}
            for c in items[:n]:
                r = self.exact.get(c.mention_id)
                if r is not None:
                    kv = getattr(c, key)
                    best[kv] = max(best.get(kv, 0.0), r.priority.value)
            if len(best) >= k and items[n].bound < sorted(best.values(), reverse=True)[k - 1]:
                return
            n = min(len(items), n * 2)

    def ranked(self, items: Sequence[Candidate]) -> list[RankedMention]:
        """The exact ones among `items`, most urgent first (people.rank's order)."""
        out = [r for c in items if (r := self.exact.get(c.mention_id)) is not None]
        out.sort(key=lambda m: (-m.priority.value, -m.author.reach, m.mention_id))
        return out


def _scan(session: Session, query: RadarQuery, now: datetime | None) -> tuple[datetime, datetime, _Scan]:
    start, end = query.bounds(now or utcnow())
    # mention.negative copies negative_clause() (kept by crm.listening.match) so the scan reads only the
    # window's negative mentions through ix_mention_negative_occurred.
    where = [M.c.negative.is_(True), M.c.occurred_at >= start, M.c.occurred_at <= end]
    if query.topic is not None:
        where.append(M.c.topic_id == query.topic)
    stmt = (select(*_SCAN_COLUMNS).join(X, X.c.id == M.c.interaction_id).join(P, P.c.id == M.c.profile_id)
            .where(and_(*where)))
    candidates: list[Candidate] = []
    seen_channels: set[str] = set()
    for r in session.connection().execute(stmt):
        seen_channels.add(r.channel or "")
        if query.channel and r.channel != query.channel:
            continue
        level = int(r.level or 4)
        standing = standing_of(level=level, is_team_member=bool(r.is_team_member), roles=tuple(r.roles or ()),
                               earlier_mean_sentiment=None, earlier_count=0)
        bound = crisis_priority(sentiment=r.sentiment, kind=r.kind, audience=max(int(r.profile_reach or 0),
                                                                                 int(r.reach or 0)),
                                standing=standing).value
        candidates.append(Candidate(mention_id=r.mention_id, interaction_id=r.interaction_id, topic_id=r.topic_id,
                                    profile_id=r.profile_id, occurred_at=r.occurred_at, channel=r.channel or "",
                                    level=level, bound=bound))
    candidates.sort(key=lambda c: (-c.bound, c.mention_id))
    return start, end, _Scan(session=session, before=start, candidates=candidates,
                             channels=sorted(seen_channels - {""}))


def topic_names(*, session: Session) -> dict[int, str]:
    return {r.id: r.name for r in session.connection().execute(select(T.c.id, T.c.name).order_by(T.c.name))}


def _page(query: RadarQuery, start: datetime, end: datetime, scan: _Scan, names: dict[int, str], per_page: int,
          *, clamp: bool = True) -> RadarPage:
    """One page of rows (one per interaction, naming every topic it mentions); past the last page, the
    last page (a page) or nothing (the API)."""
    topics: dict[int, set[int]] = defaultdict(set)
    for c in scan.candidates:
        topics[c.interaction_id].add(c.topic_id)
    total = len(topics)
    pages = max(1, math.ceil(total / per_page))
    page = min(query.page, pages) if clamp else query.page
    scan.ensure(scan.candidates, "interaction_id", page * per_page)
    seen: set[int] = set()
    rows: list[RadarRow] = []
    for m in scan.ranked(scan.candidates):
        if m.interaction_id in seen:
            continue
        seen.add(m.interaction_id)
        rows.append(RadarRow(mention=m, topic_ids=tuple(sorted(topics[m.interaction_id])),
                             standing_reason=standing_reason(m.author)))
    shown = rows[(page - 1) * per_page: page * per_page]
    return RadarPage(query=query, start=start, end=end, rows=shown, total=total, page=page, per_page=per_page,
                     topics=names)


def radar_page(query: RadarQuery, *, session: Session, now: datetime | None = None, per_page: int = PER_PAGE,
               clamp: bool = True) -> RadarPage:
    start, end, scan = _scan(session, query, now)
    return _page(query, start, end, scan, topic_names(session=session), per_page, clamp=clamp)


# ---- bursts -------------------------------------------------------------------------------------


class _Timed(Protocol):
    @property
    def topic_id(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def mention_id(self) -> int: ...


TimedT = TypeVar("TimedT", bound=_Timed)


def group_bursts(items: Sequence[TimedT], *, gap: timedelta = BURST_GAP, min_size: int = BURST_MIN) -> list[list[TimedT]]:
    """Per topic, runs of mentions each closer than `gap` to the one before; runs of `min_size` or more,
    in time order. Pure."""
    by_topic: dict[int, list[TimedT]] = defaultdict(list)
    for m in items:
        by_topic[m.topic_id].append(m)
    runs: list[list[TimedT]] = []
    for topic_id in sorted(by_topic):
        ordered = sorted(by_topic[topic_id], key=lambda m: (m.occurred_at, m.mention_id))
        current: list[TimedT] = []
        for m in ordered:
            if current and m.occurred_at - current[-1].occurred_at >= gap:
                if len(current) >= min_size:
                    runs.append(current)
                current = []
            current.append(m)
        if len(current) >= min_size:
            runs.append(current)
    return runs


def _bursts(scan: _Scan, names: dict[int, str], speakers_limit: int | None) -> list[Burst]:
    out = []
    for run in group_bursts(scan.candidates):
        by_bound = sorted(run, key=lambda c: (-c.bound, c.mention_id))
        scan.ensure(by_bound, "profile_id", speakers_limit or len(run))
        mine: dict[int, list[int]] = defaultdict(list)
        theirs: dict[int, set[int]] = defaultdict(set)
        for c in run:
            mine[c.profile_id].append(c.mention_id)
            theirs[c.profile_id].add(c.interaction_id)
        speakers = who_is_talking(scan.ranked(run))
        for sp in speakers:  # counted over the whole burst, not only what was ranked exactly
            sp.mention_ids = sorted(mine[sp.author.profile_id])
            sp.mentions = sp.negative = len(sp.mention_ids)
        speakers.sort(key=lambda s: (-(s.top.priority.value if s.top else 0), -s.mentions, s.author.profile_id))
        out.append(Burst(topic_id=run[0].topic_id, topic_name=names.get(run[0].topic_id, ""),
                         start=run[0].occurred_at, end=run[-1].occurred_at, count=len(run),
                         interaction_ids=sorted({c.interaction_id for c in run}), people=len(mine),
                         speakers=speakers[:speakers_limit] if speakers_limit else speakers,
                         interactions_of={pid: sorted(ids) for pid, ids in theirs.items()}))
    out.sort(key=lambda b: (-b.top_priority, -b.count, -b.end.timestamp(), b.topic_id))
    return out[:MAX_BURSTS]


def bursts(query: RadarQuery, *, session: Session, now: datetime | None = None,
           speakers_limit: int | None = None) -> list[Burst]:
    """The window's bursts, each with who is talking (everyone, or the first `speakers_limit` people)."""
    _, _, scan = _scan(session, query, now)
    return _bursts(scan, topic_names(session=session), speakers_limit)


def signal_url(interaction_ids: Sequence[int]) -> str:
    """Open a signal from these interactions (the signals page prefills from them)."""
    return "/signals/new?interaction_ids=" + ",".join(str(i) for i in interaction_ids[:200])


# ---- tone baselines ------------------------------------------------------------------------------


class ToneKind(StrEnum):
    turned = "turned"  # an advocate whose tone turned negative
    quiet = "quiet"  # a quiet person with improbably many complaints


@dataclass(frozen=True)
class PersonTone:
    """What the tone test reads about one person (plain numbers, so the test is a pure function)."""

    profile_id: int
    level: int
    window_count: int = 0  # interactions with a sentiment in the window
    window_mean: float | None = None
    baseline_count: int = 0  # interactions with a sentiment in the baseline before the window
    baseline_mean: float | None = None
    complaints: int = 0  # negative or complaint interactions in the window
    baseline_activity: int = 0  # everything they did in the baseline (our outreach and notes aside)


@dataclass(frozen=True)
class ToneFlag:
    profile_id: int
    kind: ToneKind
    tone: PersonTone
    expected: float = 0.0  # complaints the person's own rate predicts for the window (quiet)
    p_value: float = 1.0


def tone_flags(people: Sequence[PersonTone], *, window_days: float,
               baseline_days: int = BASELINE_DAYS) -> list[ToneFlag]:
    """Advocates whose tone turned, then quiet people with improbable complaints (smallest tail first).
    A person may be flagged both ways. Pure."""
    turned: list[ToneFlag] = []
    quiet: list[ToneFlag] = []
    for t in people:
        if (t.level in (1, 2) and t.window_count >= TURN_MIN_WINDOW and t.window_mean is not None
                and t.window_mean < 0 and t.baseline_count >= TURN_MIN_BASELINE
                and t.baseline_mean is not None and t.baseline_mean > 0):
            turned.append(ToneFlag(profile_id=t.profile_id, kind=ToneKind.turned, tone=t))
        if t.complaints >= QUIET_MIN_COMPLAINTS and t.baseline_activity >= 1:
            expected = t.baseline_activity * window_days / baseline_days
            p = poisson_tail(t.complaints, expected)
            if p <= QUIET_MAX_P:
                quiet.append(ToneFlag(profile_id=t.profile_id, kind=ToneKind.quiet, tone=t, expected=expected,
                                      p_value=p))
    turned.sort(key=lambda f: ((f.tone.window_mean or 0) - (f.tone.baseline_mean or 0), f.profile_id))
    quiet.sort(key=lambda f: (f.p_value, -f.tone.complaints, f.profile_id))
    return turned + quiet


@dataclass(frozen=True)
class ToneChange:
    flag: ToneFlag
    name: str
    level: int
    reach: int


def _authored() -> ColumnElement[bool]:
    return X.c.kind.not_in([k.value for k in OUR_KINDS])


def _tone_numbers(session: Session, scan: _Scan, start: datetime, end: datetime) -> list[PersonTone]:
    """The numbers of the people on the radar who could be flagged: advocates (level 1-2), and anyone with
    at least QUIET_MIN_COMPLAINTS negative mentions in the window. Over everything they said (our outreach
    and notes aside) in the window and the BASELINE_DAYS before it: one grouped read per 900 people."""
    negative: dict[int, set[int]] = defaultdict(set)
    levels: dict[int, int] = {}
    for c in scan.candidates:
        negative[c.profile_id].add(c.interaction_id)
        levels[c.profile_id] = c.level
    ids = sorted(pid for pid, said in negative.items() if levels[pid] in (1, 2) or len(said) >= QUIET_MIN_COMPLAINTS)
    if not ids:
        return []
    inside = X.c.occurred_at >= start
    before = X.c.occurred_at < start
    has = X.c.sentiment.is_not(None)
    out = []
    for offset in range(0, len(ids), 900):
        chunk = ids[offset:offset + 900]
        stmt = (select(X.c.profile_id,
                       func.count(case((and_(inside, has), 1))).label("wn"),
                       func.avg(case((inside, X.c.sentiment))).label("wmean"),
                       func.count(case((and_(before, has), 1))).label("bn"),
                       func.avg(case((before, X.c.sentiment))).label("bmean"),
                       func.count(case((and_(inside, negative_clause()), 1))).label("complaints"),
                       func.count(case((before, 1))).label("activity"))
                .where(X.c.profile_id.in_(chunk), X.c.occurred_at >= start - timedelta(days=BASELINE_DAYS),
                       X.c.occurred_at <= end, _authored())
                .group_by(X.c.profile_id))
        for r in session.connection().execute(stmt):
            out.append(PersonTone(profile_id=r.profile_id, level=levels[r.profile_id], window_count=int(r.wn),
                                  window_mean=float(r.wmean) if r.wmean is not None else None,
                                  baseline_count=int(r.bn), baseline_mean=float(r.bmean) if r.bmean is not None else None,
                                  complaints=int(r.complaints), baseline_activity=int(r.activity)))
    return out


def _tone(session: Session, scan: _Scan, query: RadarQuery, start: datetime, end: datetime) -> list[ToneChange]:
    flags = tone_flags(_tone_numbers(session, scan, start, end), window_days=query.window.days)[:MAX_TONE]
    ids = sorted({f.profile_id for f in flags})
    people = {r.id: r for r in session.connection().execute(
        select(P.c.id, P.c.display_name, P.c.level, P.c.reach).where(P.c.id.in_(ids)))} if ids else {}
    return [ToneChange(flag=f, name=people[f.profile_id].display_name, level=int(people[f.profile_id].level or 4),
                       reach=int(people[f.profile_id].reach or 0)) for f in flags if f.profile_id in people]


def tone_changes(query: RadarQuery, *, session: Session, now: datetime | None = None) -> list[ToneChange]:
    """People on the radar whose tone changed in the query's window (over everything they said, against
    their own BASELINE_DAYS before it)."""
    start, end, scan = _scan(session, query, now)
    return _tone(session, scan, query, start, end)


# ---- the whole page, and the dashboard ---------------------------------------------------------------


@dataclass
class RadarView:
    page: RadarPage
    bursts: list[Burst]
    tone: list[ToneChange]
    channels: list[str]
    has_topics: bool = field(default=True)
    deferred: bool = False  # bursts and tone left out: the page loads them next (GET /listening/extra)


def radar_view(query: RadarQuery, *, session: Session, now: datetime | None = None,
               per_page: int = PER_PAGE, deferred: bool = False) -> RadarView:
    """Everything the radar page shows, from one read of the window's negative mentions. `deferred`
    leaves out bursts and tone (which read people's history): the page shows the ranked list at once."""
    names = topic_names(session=session)
    start, end, scan = _scan(session, query, now)
    page = _page(query, start, end, scan, names, per_page, clamp=True)
    if deferred:
        return RadarView(page=page, bursts=[], tone=[], channels=scan.channels, has_topics=bool(names), deferred=True)
    return RadarView(page=page, bursts=_bursts(scan, names, SPEAKERS_SHOWN), tone=_tone(session, scan, query, start, end),
                     channels=scan.channels, has_topics=bool(names))


@dataclass
class RadarWidget:
    has_topics: bool
    rows: list[RadarRow]
    total: int


def widget(*, session: Session, now: datetime | None = None) -> RadarWidget:
    """The dashboard's "negative mentions by people with large reach": the last 7 days' top five."""
    if not topic_names(session=session):
        return RadarWidget(has_topics=False, rows=[], total=0)
    page = radar_page(RadarQuery(), session=session, now=now, per_page=WIDGET_ROWS)
    return RadarWidget(has_topics=True, rows=page.rows, total=page.total)
