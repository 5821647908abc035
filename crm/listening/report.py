"""The report for management: one month or quarter on one page, against the previous equal period.

What the community manager adds (the one-line judgement and the picked quotes) is kept in
ManagementReport; everything else is computed from the rows, so the numbers always reconcile with
the interactions behind them:

- mentions: interactions matched by at least one topic (Mention rows), counted once per interaction
  even when they match several topics; per channel by the interaction's channel;
- people contributing: distinct authors of contributions (CONTRIBUTION_KINDS) in the period;
- reach: the sum of the mentions' interaction reach (each interaction once);
- sentiment balance: positive ÷ (positive + negative) mentions (sentiment > 0 / < 0), with how many of
  those labels were estimated by the word list;
- share of voice, only while competitor topics exist: mentions of brand or product topics ÷ (those +
  mentions of competitor topics).

Periods are whole calendar months or quarters in the configured time zone. The scheduled e-mail
(`send_due`, called by the listening tick) sends each recipient the last complete period once."""

from __future__ import annotations

import csv
import html
import importlib
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from pydantic import EmailStr, field_validator
from pydantic import Field as PydField
from sqlalchemy import Engine, case, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns.models import Campaign, CampaignStatus
from crm.db import session_scope, utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.exports.lists import safe_cell
from crm.i18n import N_, current_locale, gettext, ngettext, pgettext
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction
from crm.listening.models import (
    ManagementReport,
    Mention,
    ReportPeriod,
    ReportRecipient,
    SentimentSource,
    Signal,
    SignalItem,
    Topic,
    TopicKind,
)
from crm.profiles.models import Profile
from crm.recognition.models import LIFETIME_KINDS, BadgeAward, PointEntry, Recognition, RecognitionKind, Redemption
from crm.schemas import OUT_CONFIG, DbId, InputModel
from crm.settings import Settings

log = logging.getLogger("crm.listening.report")

MAX_QUOTES = 10
MIN_QUOTES = 5  # advice shown on the page, not enforced: a report can be saved while quotes are picked
JUDGEMENT_MAX = 300
TOP = 5  # rows per driver table
CANDIDATES = 15  # quotes offered per ordering (most engaged, most reached)
QUOTE_CHARS = 400
_CONTRIBUTIONS = [k.value for k in CONTRIBUTION_KINDS]
_OWN_KINDS = [TopicKind.brand.value, TopicKind.product.value]
_SHOWN_CAMPAIGN_STATUSES = [CampaignStatus.active.value, CampaignStatus.completed.value, CampaignStatus.archived.value]


# ---- periods -------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter; `start` is its first day, `end` the first day after it."""

    kind: ReportPeriod
    start: date

    @property
    def months(self) -> int:
        return 3 if self.kind == ReportPeriod.quarter else 1

    @property
    def end(self) -> date:
        return _add_months(self.start, self.months)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    def previous(self) -> Period:
        return Period(self.kind, _add_months(self.start, -self.months))

    def following(self) -> Period:
        return Period(self.kind, self.end)

    @property
    def key(self) -> str:
        """How the period is written in URLs: 2026-03 (a quarter by its first month)."""
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The period's first and first-after instants in the time zone, in UTC."""
        first = datetime.combine(self.start, time(0), tzinfo=zone).astimezone(UTC)
        after = datetime.combine(self.end, time(0), tzinfo=zone).astimezone(UTC)
        return first, after

    def label(self) -> str:
        locale = current_locale.get()
        if self.kind == ReportPeriod.quarter:
            return gettext("Q%(quarter)d %(year)d") % {"quarter": (self.start.month - 1) // 3 + 1, "year": self.start.year}
        return format_skeleton("yMMMM", self.start, locale=locale)


def period_containing(kind: ReportPeriod, day: date) -> Period:
    if kind == ReportPeriod.quarter:
        return Period(kind, date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    return Period(kind, date(day.year, day.month, 1))


def last_complete(kind: ReportPeriod, today: date) -> Period:
    """The last month or quarter that has ended by `today`."""
    return period_containing(kind, today).previous()


_START = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_period(period: str | None, start: str | None, *, today: date) -> Period:
    """`period` month|quarter (default month) and `start` YYYY-MM or YYYY-MM-DD (default: the last
    complete period; a day inside a period means that period). InvalidInput names the bad part."""
    raw_kind = (period or ReportPeriod.month.value).strip()
    if raw_kind not in ReportPeriod.__members__:
        raise InvalidInput(gettext("Choose a month or a quarter."),
                           field_errors={"period": gettext("Choose a month or a quarter.")})
    kind = ReportPeriod(raw_kind)
    if not start or not start.strip():
        return last_complete(kind, today)
    bad = gettext("Give the start as a month like 2026-03 or a day like 2026-03-01.")
    found = _START.match(start.strip())
    if found is None:
        raise InvalidInput(bad, field_errors={"start": bad})
    year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3) or 1)
    try:
        chosen = date(year, month, day)
    except ValueError:
        raise InvalidInput(bad, field_errors={"start": bad}) from None
    if not 1900 <= year <= 2200:
        raise InvalidInput(bad, field_errors={"start": bad})
    return period_containing(kind, chosen)


# ---- changes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One number this period against the previous one. Counts change in percent; shares (sentiment
    balance, share of voice) in percentage points. No change without a previous value."""

    current: float | None
    previous: float | None
    share: bool = False

    @property
    def delta(self) -> float | None:
        """Relative change (0.25 = +25 %) for counts, the difference of the shares for shares."""
        if self.current is None or self.previous is None:
            return None
        if self.share:
            return self.current - self.previous
        if self.previous == 0:
            return None
        return (self.current - self.previous) / self.previous

    @property
    def direction(self) -> str:
        """up, down, flat, or none (nothing to compare with)."""
        delta = self.delta
        if delta is None:
            return "none"
        if abs(delta) < 0.0005:
            return "flat"
        return "up" if delta > 0 else "down"


@dataclass
class Figures:
    """The headline numbers of one channel (or all of them) in one period."""

    mentions: int = 0
    reach: int = 0
    positive: int = 0
    negative: int = 0
    estimated: int = 0  # of the positive and negative labels, how many the word list estimated
    people: int = 0
    own: int = 0  # mentions of brand or product topics
    competitor: int = 0  # mentions of competitor topics

    @property
    def balance(self) -> float | None:
        toned = self.positive + self.negative
        return self.positive / toned if toned else None

    @property
    def share_of_voice(self) -> float | None:
        both = self.own + self.competitor
        return self.own / both if both else None

    def add(self, other: Figures) -> None:
        """Adds another channel's numbers (not `people`: a person posts on several channels)."""
        self.mentions += other.mentions
        self.reach += other.reach
        self.positive += other.positive
        self.negative += other.negative
        self.estimated += other.estimated
        self.own += other.own
        self.competitor += other.competitor


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    change: Change


@dataclass(frozen=True)
class HeadlineRow:
    channel: str  # "" for interactions without one; None for the total
    current: Figures
    previous: Figures
    total: bool = False

    def metrics(self, has_competitors: bool) -> list[Metric]:
        cur, prev = self.current, self.previous
        rows = [
            Metric("mentions", pgettext("listening", "Mentions"), Change(cur.mentions, prev.mentions)),
            Metric("people", gettext("People contributing"), Change(cur.people, prev.people)),
            Metric("reach", gettext("Reach"), Change(cur.reach, prev.reach)),
            Metric("balance", gettext("Sentiment balance"), Change(cur.balance, prev.balance, share=True)),
        ]
        if has_competitors:
            rows.append(Metric("share_of_voice", gettext("Share of voice"),
                               Change(cur.share_of_voice, prev.share_of_voice, share=True)))
        return rows


@dataclass(frozen=True)
class Driver:
    key: str  # topic id, channel or person id, as text
    name: str
    mentions: Change
    reach: Change
    kind: str = ""  # a topic's kind
    profile_id: int | None = None


# ---- quotes --------------------------------------------------------------------------------------

_ROLE_WORDS = {
    "customer": N_("a customer"),
    "influencer": N_("an influencer"),
    "evangelist": N_("an evangelist"),
    "moderator": N_("a moderator"),
    "employee_advocate": N_("an employee"),
    "journalist": N_("a journalist"),
    "partner": N_("a partner"),
}


def anonymous_name(roles: Sequence[str], channel: str, *, team_member: bool = False) -> str:
    """How a person who has not agreed to be featured is named under a quote: "a customer on reddit"."""
    who = N_("a team member") if team_member else next((_ROLE_WORDS[r] for r in roles if r in _ROLE_WORDS),
                                                        N_("someone"))
    if not channel:
        return gettext(who)
    return gettext("%(who)s on %(channel)s") % {"who": gettext(who), "channel": channel}


def quote_text(title: str, body: str, limit: int = QUOTE_CHARS) -> str:
    text = " — ".join(part for part in (title.strip(), body.strip()) if part)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Quote:
    interaction_id: int
    text: str
    who: str
    named: bool  # False: the person has not agreed to be featured, so only a description is shown
    profile_id: int | None  # None when not named (no link to the person)
    channel: str
    url: str  # empty when not named: a link would name them
    occurred_at: datetime
    reach: int
    engagements: int
    sentiment: float | None


def _quote_of(item: Any, profile: Any) -> Quote:
    named = bool(profile.may_feature)
    return Quote(
        interaction_id=item.id, text=quote_text(item.title or "", item.body or ""),
        who=profile.display_name if named else anonymous_name(profile.roles or [], item.channel or "",
                                                              team_member=bool(profile.is_team_member)),
        named=named, profile_id=profile.id if named else None, channel=item.channel or "",
        url=(item.url or "") if named else "", occurred_at=item.occurred_at, reach=int(item.reach or 0),
        engagements=int(item.engagements or 0), sentiment=item.sentiment)


# ---- other sections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalFigures:
    opened: int
    resolved: int
    resolved_in_sla: int
    breached_open: int

    @property
    def share_in_sla(self) -> float | None:
        return self.resolved_in_sla / self.resolved if self.resolved else None


@dataclass(frozen=True)
class CampaignLine:
    campaign_id: int
    name: str
    status: str
    contributions: int
    reach: int


@dataclass(frozen=True)
class RecognitionFigures:
    points: int  # lifetime points earned or awarded, net of reversals
    badges: int
    thanks: int
    redemptions: int


@dataclass
class Report:
    period: Period
    previous: Period
    judgement: str
    quote_ids: list[int]
    updated_at: datetime | None
    channels: list[HeadlineRow]
    total: HeadlineRow
    has_competitors: bool
    topics: list[Driver]
    channel_drivers: list[Driver]
    people_by_mentions: list[Driver]
    people_by_reach: list[Driver]
    quotes: list[Quote]
    dropped_quotes: int  # picked quotes whose interaction or person was deleted since
    signals: SignalFigures | None  # None: signals are not available
    campaigns: list[CampaignLine]
    recognition: RecognitionFigures
    recognition_previous: RecognitionFigures
    candidates: list[Quote] = field(default_factory=list)  # filled on request, for the quote picker

    @property
    def estimated_note(self) -> int:
        return self.total.current.estimated


# ---- computing -----------------------------------------------------------------------------------


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


def _mentioned(start: datetime, end: datetime) -> Any:
    """The interactions of the period matched by at least one topic."""
    return col(Interaction.id).in_(select(Mention.interaction_id).where(_in(Mention.occurred_at, start, end)))


def figures(start: datetime, end: datetime, *, session: Session) -> tuple[dict[str, Figures], Figures]:
    """The headline numbers per channel and in total between two instants."""
    per: dict[str, Figures] = {}
    estimated = (col(Interaction.sentiment_source) == SentimentSource.estimated.value) & (col(Interaction.sentiment) != 0)
    rows = session.exec(
        select(Interaction.channel, func.count(), func.coalesce(func.sum(Interaction.reach), 0),  # type: ignore[call-overload]
               func.sum(case((col(Interaction.sentiment) > 0, 1), else_=0)),
               func.sum(case((col(Interaction.sentiment) < 0, 1), else_=0)),
               func.sum(case((estimated, 1), else_=0)))
        .where(_in(Interaction.occurred_at, start, end), _mentioned(start, end))
        .group_by(Interaction.channel)
    ).all()
    for channel, count, reach, positive, negative, guessed in rows:
        per[channel or ""] = Figures(mentions=int(count), reach=int(reach or 0), positive=int(positive or 0),
                                     negative=int(negative or 0), estimated=int(guessed or 0))
    contributors = select(Interaction.channel, func.count(func.distinct(Interaction.profile_id))).where(
        col(Interaction.kind).in_(_CONTRIBUTIONS), _in(Interaction.occurred_at, start, end))
    for channel, people in session.exec(contributors.group_by(Interaction.channel)).all():
        per.setdefault(channel or "", Figures()).people = int(people)
    for kinds, attribute in ((_OWN_KINDS, "own"), ([TopicKind.competitor.value], "competitor")):
        voice = (select(Interaction.channel, func.count(func.distinct(Mention.interaction_id)))
                 .join(Interaction, col(Interaction.id) == Mention.interaction_id)
                 .join(Topic, col(Topic.id) == Mention.topic_id)
                 .where(_in(Mention.occurred_at, start, end), _in(Interaction.occurred_at, start, end),
                        col(Topic.kind).in_(kinds))
                 .group_by(Interaction.channel))
        for channel, count in session.exec(voice).all():
            setattr(per.setdefault(channel or "", Figures()), attribute, int(count))
    total = Figures()
    for one in per.values():
        total.add(one)
    total.people = int(session.exec(select(func.count(func.distinct(Interaction.profile_id))).where(
        col(Interaction.kind).in_(_CONTRIBUTIONS), _in(Interaction.occurred_at, start, end))).one())
    return per, total


def has_competitor_topics(*, session: Session) -> bool:
    return session.exec(select(Topic.id).where(Topic.kind == TopicKind.competitor.value).limit(1)).first() is not None


def _topic_counts(start: datetime, end: datetime, *, session: Session) -> dict[int, tuple[str, str, int, int]]:
    rows = session.exec(
        select(col(Topic.id), Topic.name, Topic.kind, func.count(),  # type: ignore[call-overload]
               func.coalesce(func.sum(Interaction.reach), 0))
        .join(Mention, col(Mention.topic_id) == Topic.id)
        .join(Interaction, col(Interaction.id) == Mention.interaction_id)
        .where(_in(Mention.occurred_at, start, end), _in(Interaction.occurred_at, start, end))
        .group_by(col(Topic.id), Topic.name, Topic.kind)
    ).all()
    return {int(tid): (name, kind, int(n), int(reach or 0)) for tid, name, kind, n, reach in rows}


def _people_counts(start: datetime, end: datetime, *, session: Session, order: str = "mentions",
                   only: Iterable[int] | None = None, limit: int | None = TOP) -> dict[int, tuple[str, int, int]]:
    count = func.count().label("n")
    reach = func.coalesce(func.sum(Interaction.reach), 0).label("r")
    query = (select(col(Profile.id), Profile.display_name, count, reach)
             .join(Interaction, col(Interaction.profile_id) == Profile.id)
             .where(_in(Interaction.occurred_at, start, end), _mentioned(start, end))
             .group_by(col(Profile.id), Profile.display_name))
    if only is not None:
        query = query.where(col(Profile.id).in_(list(only)))
    if limit is not None:
        first, second = (count, reach) if order == "mentions" else (reach, count)
        query = query.order_by(first.desc(), second.desc(), col(Profile.id)).limit(limit)
    return {int(pid or 0): (name, int(n), int(r or 0)) for pid, name, n, r in session.exec(query).all()}


def _people_drivers(cur: tuple[datetime, datetime], prev: tuple[datetime, datetime], order: str, *,
                    session: Session) -> list[Driver]:
    top = _people_counts(*cur, session=session, order=order)
    before = _people_counts(*prev, session=session, only=list(top), limit=None) if top else {}
    # People who have not agreed to be featured are not named here either: the quotes' anonymity would not
    # survive a table of names beside them.
    unnamed = {p.id: p for p in session.exec(select(Profile).where(col(Profile.id).in_(list(top)),
                                                                    col(Profile.may_feature).is_(False))).all()}
    drivers = []
    for pid, (name, n, reach) in top.items():
        _, prev_n, prev_reach = before.get(pid, (name, 0, 0))
        person = unnamed.get(pid)
        shown = anonymous_name(person.roles or [], "", team_member=person.is_team_member) if person else name
        drivers.append(Driver(key=str(pid), name=shown, mentions=Change(n, prev_n), reach=Change(reach, prev_reach),
                              profile_id=None if person else pid))
    return drivers


def _signals(start: datetime, end: datetime, *, session: Session) -> SignalFigures | None:
    """Signals opened and resolved in the period (crm.listening.signals.summary), or None while that
    is not available."""
    try:
        module = importlib.import_module("crm.listening.signals")
    except ImportError:
        return None
    summary = getattr(module, "summary", None)
    if summary is None:
        return None
    got = summary(start, end, session=session)
    return SignalFigures(opened=int(got.opened), resolved=int(got.resolved), resolved_in_sla=int(got.resolved_in_sla),
                         breached_open=int(got.breached_open))


def campaign_lines(period: Period, start: datetime, end: datetime, *, session: Session) -> list[CampaignLine]:
    """Campaigns running in the period (dates overlapping it, past planning) or with contributions
    linked to them in it: their contributions and reach in the period."""
    linked = select(Interaction.campaign_id).where(col(Interaction.campaign_id).is_not(None),
                                                   _in(Interaction.occurred_at, start, end))
    running = (col(Campaign.starts_on).is_not(None) & (col(Campaign.starts_on) <= period.last_day)
               & (col(Campaign.ends_on).is_(None) | (col(Campaign.ends_on) >= period.start))
               & col(Campaign.status).in_(_SHOWN_CAMPAIGN_STATUSES))
    campaigns = session.exec(select(Campaign).where(or_(running, col(Campaign.id).in_(linked)))
                             .order_by(Campaign.name, col(Campaign.id))).all()
    if not campaigns:
        return []
    numbers = {int(cid or 0): (int(n), int(r or 0)) for cid, n, r in session.exec(
        select(Interaction.campaign_id, func.count(), func.coalesce(func.sum(Interaction.reach), 0))
        .where(col(Interaction.campaign_id).in_([c.id for c in campaigns]), col(Interaction.kind).in_(_CONTRIBUTIONS),
               _in(Interaction.occurred_at, start, end))
        .group_by(col(Interaction.campaign_id))).all()}
    lines = [CampaignLine(campaign_id=c.id or 0, name=c.name, status=c.status, contributions=numbers.get(c.id or 0, (0, 0))[0],
                          reach=numbers.get(c.id or 0, (0, 0))[1]) for c in campaigns]
    return sorted(lines, key=lambda line: (-line.contributions, -line.reach, line.name.casefold()))


def recognition_figures(start: datetime, end: datetime, *, session: Session) -> RecognitionFigures:
    points = session.exec(select(func.coalesce(func.sum(PointEntry.amount), 0)).where(
        col(PointEntry.kind).in_([k.value for k in LIFETIME_KINDS]), _in(PointEntry.created_at, start, end))).one()
    badge_count = session.exec(select(func.count()).select_from(BadgeAward).where(
        _in(BadgeAward.awarded_at, start, end))).one()
    thanks = session.exec(select(func.count()).select_from(Recognition).where(
        Recognition.kind == RecognitionKind.thanks.value, _in(Recognition.created_at, start, end))).one()
    redemptions = session.exec(select(func.count()).select_from(Redemption).where(
        _in(Redemption.created_at, start, end))).one()
    return RecognitionFigures(points=int(points or 0), badges=int(badge_count), thanks=int(thanks),
                              redemptions=int(redemptions))


def saved(period: Period, *, session: Session) -> ManagementReport | None:
    return session.exec(select(ManagementReport).where(ManagementReport.period == period.kind.value,
                                                       ManagementReport.starts_on == period.start)).first()


def stamp(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _quotes(ids: Sequence[int], *, session: Session, stamps: dict[str, str] | None = None,
            bounds: tuple[datetime, datetime] | None = None) -> tuple[list[Quote], int]:
    """The picked quotes in the order picked; dropped and counted: those whose interaction (or person) is
    gone, one whose id now names another interaction (its creation differs from the stamp kept when it was
    picked), and one moved out of the period."""
    if not ids:
        return [], 0
    rows = {item.id: (item, profile) for item, profile in session.exec(
        select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)
        .where(col(Interaction.id).in_(list(ids)))).all()}

    def still(i: int) -> bool:
        item = rows[i][0]
        if stamps is not None and str(i) in stamps and stamps[str(i)] != stamp(item.created_at):
            return False
        when = item.occurred_at if item.occurred_at.tzinfo else item.occurred_at.replace(tzinfo=UTC)
        return bounds is None or bounds[0] <= when < bounds[1]

    quotes = [_quote_of(*rows[i]) for i in ids if i in rows and still(i)]
    return quotes, len(ids) - len(quotes)


def _quotable(start: datetime, end: datetime) -> Any:
    """The period's interactions a quote may come from: mentions and contributions."""
    return _in(Interaction.occurred_at, start, end) & or_(_mentioned(start, end), col(Interaction.kind).in_(_CONTRIBUTIONS))


def candidates(period: Period, zone: tzinfo, picked: Sequence[int], *, session: Session) -> list[Quote]:
    """For the picker: the picked quotes first (in their order), then what the period's signals are
    about (the complaint that was fixed is often the story), then the period's most engaged and most
    reached mentions and contributions that have words to quote."""
    start, end = period.bounds(zone)
    stored = saved(period, session=session)
    chosen, _dropped = _quotes(picked, session=session, stamps=dict(stored.quote_stamps or {}) if stored else None,
                               bounds=(start, end))
    seen = {q.interaction_id for q in chosen}
    found: list[Quote] = list(chosen)
    has_words = (Interaction.title != "") | (Interaction.body != "")
    in_signals = col(Interaction.id).in_(select(SignalItem.interaction_id).join(Signal, col(Signal.id) == SignalItem.signal_id)
                                         .where(_in(Signal.created_at, start, end)))
    for extra, order in ((in_signals, col(Interaction.id).desc()), (None, col(Interaction.engagements).desc()),
                         (None, col(Interaction.reach).desc())):
        query = select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)\
            .where(_quotable(start, end), has_words)
        if extra is not None:
            query = query.where(extra)
        rows = session.exec(query.order_by(order, col(Interaction.id).desc()).limit(CANDIDATES)).all()
        for item, profile in rows:
            if item.id is not None and item.id not in seen:
                seen.add(item.id)
                found.append(_quote_of(item, profile))
    return found


def report(period: Period, *, session: Session, zone: tzinfo = UTC, with_candidates: bool = False) -> Report:
    previous = period.previous()
    cur, prev = period.bounds(zone), previous.bounds(zone)
    per_now, total_now = figures(*cur, session=session)
    per_before, total_before = figures(*prev, session=session)
    channels = [HeadlineRow(channel=name, current=per_now.get(name, Figures()), previous=per_before.get(name, Figures()))
                for name in sorted(set(per_now) | set(per_before), key=lambda c: (-per_now.get(c, Figures()).mentions,
                                                                              -per_before.get(c, Figures()).mentions, c))]
    topics_now, topics_before = _topic_counts(*cur, session=session), _topic_counts(*prev, session=session)
    topics = sorted(
        (Driver(key=str(tid), name=name, kind=kind, mentions=Change(n, topics_before.get(tid, ("", "", 0, 0))[2]),
                reach=Change(reach, topics_before.get(tid, ("", "", 0, 0))[3]))
         for tid, (name, kind, n, reach) in topics_now.items()),
        key=lambda d: (-(d.mentions.current or 0), -(d.reach.current or 0), d.name.casefold()))[:TOP]
    channel_drivers = sorted(
        (Driver(key=row.channel, name=row.channel, mentions=Change(row.current.mentions, row.previous.mentions),
                reach=Change(row.current.reach, row.previous.reach)) for row in channels if row.current.mentions),
        key=lambda d: (-(d.mentions.current or 0), -(d.reach.current or 0), d.name))[:TOP]
    stored = saved(period, session=session)
    ids = list(stored.quote_ids or []) if stored else []
    quotes, dropped = _quotes(ids, session=session, stamps=dict(stored.quote_stamps or {}) if stored else None,
                              bounds=cur)
    result = Report(
        period=period, previous=previous, judgement=stored.judgement if stored else "", quote_ids=ids,
        updated_at=stored.updated_at if stored else None, channels=channels,
        total=HeadlineRow(channel="", current=total_now, previous=total_before, total=True),
        has_competitors=has_competitor_topics(session=session), topics=topics, channel_drivers=channel_drivers,
        people_by_mentions=_people_drivers(cur, prev, "mentions", session=session),
        people_by_reach=_people_drivers(cur, prev, "reach", session=session),
        quotes=quotes, dropped_quotes=dropped, signals=_signals(*cur, session=session),
        campaigns=campaign_lines(period, *cur, session=session),
        recognition=recognition_figures(*cur, session=session),
        recognition_previous=recognition_figures(*prev, session=session))
    if with_candidates:
        result.candidates = candidates(period, zone, ids, session=session)
    return result


# ---- saving what the manager adds ----------------------------------------------------------------


class ReportIn(InputModel):
    """The judgement and the picked quotes; a field left out keeps its value."""

    judgement: str | None = PydField(default=None, description=f"One line, at most {JUDGEMENT_MAX} characters")
    quote_ids: list[DbId] | None = PydField(default=None, max_length=200,
                                            description=f"Interactions of the period to quote, in order; at most {MAX_QUOTES}")

    @field_validator("judgement")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if len(value) > JUDGEMENT_MAX:
            raise ValueError(gettext("Use at most %(n)s characters.") % {"n": JUDGEMENT_MAX})
        return value


def _check_quotes(period: Period, zone: tzinfo, ids: Sequence[int], *, session: Session) -> list[int]:
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_QUOTES:
        message = gettext("Pick at most %(n)d quotes.") % {"n": MAX_QUOTES}
        raise InvalidInput(message, field_errors={"quote_ids": message})
    if not unique:
        return []
    start, end = period.bounds(zone)
    found = set(session.exec(select(Interaction.id).where(col(Interaction.id).in_(unique), _quotable(start, end))).all())
    missing = [i for i in unique if i not in found]
    if missing:
        message = ngettext("Interaction %(ids)s is not a mention or contribution of this period.",
                           "Interactions %(ids)s are not mentions or contributions of this period.",
                           len(missing)) % {"ids": ", ".join(str(i) for i in missing)}
        raise InvalidInput(message, field_errors={"quote_ids": message})
    return unique


def update(period: Period, data: ReportIn, *, session: Session, actor: Actor, zone: tzinfo = UTC) -> ManagementReport:
    """Saves the judgement and/or the quotes of a period (audited report_update)."""
    fields = data.model_fields_set
    quote_ids = _check_quotes(period, zone, data.quote_ids or [], session=session) \
        if "quote_ids" in fields and data.quote_ids is not None else None
    row = saved(period, session=session)
    before = {"judgement": row.judgement, "quote_ids": list(row.quote_ids or [])} if row else None
    if row is None:
        row = ManagementReport(period=period.kind.value, starts_on=period.start)
    if "judgement" in fields and data.judgement is not None:
        row.judgement = data.judgement
    if quote_ids is not None:
        row.quote_ids = quote_ids
        row.quote_stamps = {str(i): stamp(created) for i, created in session.exec(
            select(Interaction.id, Interaction.created_at).where(col(Interaction.id).in_(quote_ids))).all()}
    row.updated_by_id = actor.user_id
    row.updated_at = utcnow()
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(gettext("Someone saved this report at the same time; reload and try again.")) from None
    audit.record(session=session, actor=actor, action=AuditAction.report_update, object_type="report",
                 object_id=row.id, before=before,
                 after={"period": period.kind.value, "starts_on": period.start.isoformat(), "judgement": row.judgement,
                        "quote_ids": list(row.quote_ids or [])})
    return row


# ---- recipients ----------------------------------------------------------------------------------


class RecipientIn(InputModel):
    email: EmailStr = PydField(max_length=320)
    period: ReportPeriod = ReportPeriod.month


class RecipientOut(RecipientIn):
    model_config = OUT_CONFIG

    id: int
    email: str  # type: ignore[assignment]
    last_sent_for: date | None


def recipients(*, session: Session) -> list[ReportRecipient]:
    return list(session.exec(select(ReportRecipient).order_by(ReportRecipient.period, ReportRecipient.email)).all())


def add_recipient(data: RecipientIn, *, session: Session, actor: Actor) -> ReportRecipient:
    email = str(data.email).strip().lower()
    exists = session.exec(select(ReportRecipient).where(ReportRecipient.email == email,
                                                        ReportRecipient.period == data.period.value)).first()
    if exists is not None:
        message = gettext("%(email)s already receives this report.") % {"email": email}
        raise InvalidInput(message, field_errors={"email": message})
    row = ReportRecipient(email=email, period=data.period.value)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(gettext("%(email)s already receives this report.") % {"email": email}) from None
    audit.record(session=session, actor=actor, action=AuditAction.report_recipients, object_type="report_recipient",
                 object_id=row.id, after={"email": email, "period": row.period})
    return row


def remove_recipient(recipient_id: int, *, session: Session, actor: Actor) -> None:
    row = session.get(ReportRecipient, recipient_id)
    if row is None:
        raise NotFound(gettext("No such recipient."))
    before = {"email": row.email, "period": row.period}
    session.delete(row)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.report_recipients, object_type="report_recipient",
                 object_id=recipient_id, before=before)


# ---- export: CSV ---------------------------------------------------------------------------------


def _fmt_change(change: Change) -> str:
    delta = change.delta
    if delta is None:
        return "—"
    if change.share:
        return f"{delta * 100:+.1f} pts"
    return f"{delta * 100:+.1f}%"


def _csv_change(change: Change) -> float | str:
    """The change as a number a spreadsheet can use: percent for counts, percentage points for shares."""
    delta = change.delta
    return "—" if delta is None else round(delta * 100, 1)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _metric_value(metric: Metric, value: float | None) -> float | str:
    if metric.key in ("balance", "share_of_voice"):
        return _share(value)
    return "—" if value is None else int(value)


def channel_name(channel: str) -> str:
    return channel or gettext("No channel")


def begin_export(period: Period, *, session: Session, actor: Actor) -> None:
    audit.record(session=session, actor=actor, action=AuditAction.report_export, object_type="report",
                 after={"period": period.kind.value, "starts_on": period.start.isoformat(), "format": "csv"})


def csv_text(data: Report) -> str:
    """The report as CSV: one section after another, each with its own header row; cells a spreadsheet
    would run as formulas are quoted (crm.exports.lists.safe_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def row(*cells: Any) -> None:
        writer.writerow([safe_cell(cell) for cell in cells])

    period = data.period
    row(gettext("Management report"), period.label(), period.start.isoformat(), period.last_day.isoformat())
    row(gettext("Compared with"), data.previous.label(), data.previous.start.isoformat(), data.previous.last_day.isoformat())
    row(gettext("Judgement"), data.judgement)
    row()
    row(gettext("Headline numbers"))
    row(gettext("Channel"), gettext("Metric"), gettext("This period"), gettext("Previous period"), gettext("Change"),
        gettext("Change in"))
    for line in [data.total, *data.channels]:
        name = gettext("All channels") if line.total else channel_name(line.channel)
        for metric in line.metrics(data.has_competitors):
            row(name, metric.label, _metric_value(metric, metric.change.current),
                _metric_value(metric, metric.change.previous), _csv_change(metric.change),
                gettext("points") if metric.change.share else "%")
    row(gettext("Mentions count each interaction once, even when it matches several topics."))
    row(gettext("Sentiment labels estimated by the word list"), data.total.current.estimated)
    for title, drivers in ((gettext("Top topics"), data.topics), (gettext("Top channels"), data.channel_drivers),
                           (gettext("People by mentions"), data.people_by_mentions),
                           (gettext("People by reach"), data.people_by_reach)):
        row()
        row(title)
        row(gettext("Name"), pgettext("listening", "Mentions"), gettext("Previous period"), gettext("Change (%)"),
            gettext("Reach"), gettext("Previous period"), gettext("Change (%)"))
        for d in drivers:
            row(d.name or channel_name(d.name), d.mentions.current, d.mentions.previous, _csv_change(d.mentions),
                d.reach.current, d.reach.previous, _csv_change(d.reach))
    row()
    row(gettext("Quotes"))
    row(gettext("Who"), gettext("Channel"), gettext("Date"), gettext("Quote"), gettext("Address"))
    for q in data.quotes:
        row(q.who, q.channel, q.occurred_at.date().isoformat(), q.text, q.url)
    if data.dropped_quotes:
        row(dropped_note(data.dropped_quotes))
    row()
    row(gettext("Signals"))
    row(gettext("Opened"), gettext("Resolved"), gettext("Resolved inside SLA"), gettext("Share inside SLA"),
        gettext("Open past SLA"))
    if data.signals is None:
        row("—", "—", "—", "—", "—")
    else:
        s = data.signals
        row(s.opened, s.resolved, s.resolved_in_sla, _share(s.share_in_sla), s.breached_open)
    row()
    row(gettext("Campaigns"))
    row(gettext("Name"), gettext("Status"), gettext("Contributions"), gettext("Reach"))
    for c in data.campaigns:
        row(c.name, c.status, c.contributions, c.reach)
    row()
    row(gettext("Recognition"))
    row("", gettext("Points awarded"), gettext("Badges given"), gettext("Thank-yous"), gettext("Redemptions"))
    for label, rec in ((gettext("This period"), data.recognition), (gettext("Previous period"), data.recognition_previous)):
        row(label, rec.points, rec.badges, rec.thanks, rec.redemptions)
    return buffer.getvalue()


def dropped_note(count: int) -> str:
    return ngettext("%(num)d picked quote was left out: its interaction or person was deleted.",
                    "%(num)d picked quotes were left out: their interactions or people were deleted.", count) % {"num": count}


def csv_filename(period: Period) -> str:
    return f"management-report-{period.kind.value}-{period.start.isoformat()}.csv"


# ---- the e-mail ----------------------------------------------------------------------------------


def _num(value: float | int | None) -> str:
    return "—" if value is None else format_decimal(value, locale=current_locale.get())


def _pct(value: float | None) -> str:
    return "—" if value is None else format_percent(value, locale=current_locale.get())


def _shown(metric: Metric, value: float | None) -> str:
    return _pct(value) if metric.key in ("balance", "share_of_voice") else _num(value)


def email_text(data: Report, url: str) -> str:
    before = gettext("before")
    lines = [gettext("Management report: %(period)s") % {"period": data.period.label()}, ""]
    if data.judgement:
        lines += [data.judgement, ""]
    lines.append(gettext("Against %(period)s:") % {"period": data.previous.label()})
    for metric in data.total.metrics(data.has_competitors):
        lines.append(f"- {metric.label}: {_shown(metric, metric.change.current)} "
                     f"({before}: {_shown(metric, metric.change.previous)}, {_fmt_change(metric.change)})")
    if data.quotes:
        lines += ["", gettext("In their words:")]
        lines += [f"“{q.text}” — {q.who}" for q in data.quotes]
    if data.signals is not None:
        lines += ["", gettext("Signals: %(opened)d opened, %(resolved)d resolved (%(share)s inside SLA)") % {
            "opened": data.signals.opened, "resolved": data.signals.resolved, "share": _pct(data.signals.share_in_sla)}]
    if url:
        lines += ["", gettext("The whole report: %(url)s") % {"url": url}]
    return "\n".join(lines) + "\n"


def email_html(data: Report, url: str) -> str:
    """A simple HTML version of the e-mail: every value escaped."""
    e = html.escape
    title = gettext("Management report: %(period)s") % {"period": data.period.label()}
    against = gettext("Against %(period)s:") % {"period": data.previous.label()}
    now, before, change = gettext("This period"), gettext("Previous period"), gettext("Change")
    parts = [f"<h1>{e(title)}</h1>"]
    if data.judgement:
        parts.append(f"<p><strong>{e(data.judgement)}</strong></p>")
    parts.append(f"<table><caption>{e(against)}</caption>"
                 f"<tr><th></th><th>{e(now)}</th><th>{e(before)}</th><th>{e(change)}</th></tr>")
    for metric in data.total.metrics(data.has_competitors):
        parts.append(f"<tr><th>{e(metric.label)}</th><td>{e(_shown(metric, metric.change.current))}</td>"
                     f"<td>{e(_shown(metric, metric.change.previous))}</td><td>{e(_fmt_change(metric.change))}</td></tr>")
    parts.append("</table>")
    if data.quotes:
        words = gettext("In their words:")
        parts.append(f"<h2>{e(words)}</h2>")
        parts += [f"<blockquote><p>{e(q.text)}</p><p>— {e(q.who)}</p></blockquote>" for q in data.quotes]
    if url:
        whole = gettext("The whole report")
        parts.append(f'<p><a href="{e(url, quote=True)}">{e(whole)}</a></p>')
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def report_url(settings: Settings, period: Period) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/listening/report?period={period.kind.value}&start={period.key}" if base else ""


def send_due(engine: Engine, settings: Settings, *, today: date | None = None) -> int:
    """E-mails each recipient the last complete period they have not been sent; returns how many were
    sent. A failed delivery leaves the recipient as it was (tried again on the next tick) and is logged.
    The report is computed in a read transaction and sent outside any write transaction."""
    from crm.listening.notify import DeliveryFailed, send_email

    zone = ZoneInfo(settings.time_zone)
    today = today or datetime.now(zone).date()
    sent = 0
    with session_scope(engine) as session:
        due = [(r.id or 0, r.email, ReportPeriod(r.period), r.last_sent_for) for r in recipients(session=session)
               if r.period in ReportPeriod.__members__]
    built: dict[ReportPeriod, tuple[Period, str, str, str]] = {}
    for recipient_id, email, kind, last_sent in due:
        period = last_complete(kind, today)
        if last_sent is not None and last_sent >= period.start:
            continue
        if kind not in built:
            with session_scope(engine) as session:
                data = report(period, session=session, zone=zone)
            url = report_url(settings, period)
            subject = gettext("Management report: %(period)s") % {"period": period.label()}
            built[kind] = (period, subject, email_text(data, url), email_html(data, url))
        period, subject, text, body = built[kind]
        try:
            send_email(settings, [email], subject, text, html=body)
        except DeliveryFailed as exc:
            log.warning("report for %s to recipient %s not sent: %s", period.key, recipient_id, exc)
            continue
        with session_scope(engine, write=True) as session:
            row = session.get(ReportRecipient, recipient_id)
            if row is not None:
                row.last_sent_for = period.start
                session.add(row)
        sent += 1
    return sent
