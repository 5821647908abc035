"""Spike alerts: the rules (what to watch, how sure to be, whom to tell), their live evaluation every
hour, spikes expected inside a campaign's dates, the in-app inbox and what was done about each alert.

Live evaluation (`evaluate_due`) and the back-test (crm.listening.backtest) read the same mention times
(`mention_times`) and call the same `spikes.firings`, so a back-test on the same data reproduces what
fired live.

A negative-only rule counts mentions whose negative label came from the source or from a correction,
and complaints. A mention whose only negative sign is an estimated label (the word list) is never
counted: estimates are hints (DESIGN.md), shown beside an alert as "also N with an estimated negative
label" but never its trigger."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import Connection, Engine, Table, and_, func, literal_column, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns.models import Campaign, CampaignStatus
from crm.db import serialize_writes, utcnow, write_bind
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction, InteractionKind
from crm.listening import notify, people, spikes
from crm.listening.models import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertStatus,
    InboxRead,
    Mention,
    SentimentSource,
    Topic,
)
from crm.listening.terms import words
from crm.schemas import OUT_CONFIG, DbId, InputModel, all_optional

log = logging.getLogger("crm.listening.alerts")

M: Table = Mention.__table__  # type: ignore[attr-defined]
X: Table = Interaction.__table__  # type: ignore[attr-defined]
T: Table = Topic.__table__  # type: ignore[attr-defined]
R: Table = AlertRule.__table__  # type: ignore[attr-defined]
AL: Table = Alert.__table__  # type: ignore[attr-defined]
D: Table = AlertDelivery.__table__  # type: ignore[attr-defined]
READ: Table = InboxRead.__table__  # type: ignore[attr-defined]
C: Table = Campaign.__table__  # type: ignore[attr-defined]

HOUR = timedelta(hours=1)
CATCH_UP = timedelta(days=7)  # live evaluation never goes further back than this
WINDOW_MENTIONS = 200  # mention ids kept on an alert
STALE_AFTER = timedelta(days=7)  # an alert nobody handled for this long counts against its rule
MAX_EMAILS = 20
SECRET_BYTES = 32

# ---- the rule's fields ---------------------------------------------------------------------------------


class SpikeFields(InputModel):
    """What decides when a rule fires (all a back-test needs)."""

    topic_id: DbId | None = Field(default=None, description="The topic watched; null: every active topic, each "
                                                             "tested separately")
    negative_only: bool = Field(default=False, description="Count only negative mentions (from the source or a "
                                                           "correction) and complaints; estimated labels never count")
    window_hours: int = Field(default=24, ge=1, le=168, description="The latest window, 1 to 168 hours")
    baseline_days: int = Field(default=14, ge=1, le=90, description="The baseline before the window, 1 to 90 days")
    max_p: float = Field(default=0.01, gt=0, le=0.2, description="Fire when P(X >= observed) is at most this")
    min_count: int = Field(default=5, ge=1, le=10_000, description="…and the window holds at least this many")
    cooldown_hours: int = Field(default=24, ge=0, le=720, description="Rest after a firing, 0 to 720 hours")

    @field_validator("baseline_days")
    @classmethod
    def _baseline_longer(cls, value: int | None, info: ValidationInfo) -> int | None:
        window = info.data.get("window_hours")
        if value is not None and isinstance(window, int) and value * 24 <= window:
            raise ValueError(f"The baseline ({value * 24} hours) must be longer than the window ({window} hours).")
        return value


class AlertRuleIn(SpikeFields):
    """An alert rule as written by a person (form or API)."""

    name: str = Field(min_length=1, max_length=120)
    digest: bool = Field(default=False, description="E-mail and webhook once a day instead of at once")
    email_to: list[str] = Field(default_factory=list, max_length=MAX_EMAILS,
                                description=f"Addresses to e-mail, at most {MAX_EMAILS}")
    webhook_url: str = Field(default="", max_length=500)
    webhook_secret: str = Field(default="", max_length=200, description="Signs webhook calls; generated when empty")
    active: bool = Field(default=True)

    @field_validator("email_to", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(";", ",").replace("\n", ",").split(",")
        if isinstance(value, list):
            return [item.strip() if isinstance(item, str) else item for item in value
                    if not (isinstance(item, str) and not item.strip())]
        return value

    @field_validator("email_to")
    @classmethod
    def _valid_addresses(cls, value: list[str] | None) -> list[str] | None:
        from pydantic import validate_email
        from pydantic_core import PydanticCustomError

        if value is None:
            return None
        seen: list[str] = []
        for address in value:
            try:
                validate_email(address)
            except (PydanticCustomError, ValueError):
                raise ValueError(f"{address[:100]!r} is not an e-mail address") from None
            if address.lower() not in (s.lower() for s in seen):
                seen.append(address)
        return seen


AlertRulePatch = all_optional(AlertRuleIn, "AlertRulePatch",
                             "Only the fields sent change; the rule is then checked whole.")


class AlertRuleOut(BaseModel):
    """A rule as the API answers it (the webhook secret only once, when created or rotated)."""

    model_config = OUT_CONFIG

    id: int
    name: str
    topic_id: int | None
    negative_only: bool
    window_hours: int
    baseline_days: int
    max_p: float
    min_count: int
    cooldown_hours: int
    digest: bool
    email_to: list[str]
    webhook_url: str
    has_secret: bool = False
    webhook_secret: str | None = Field(default=None, description="Only in the answer that created or rotated it")
    active: bool
    evaluated_through: datetime | None
    created_at: datetime
    updated_at: datetime


def rule_out(rule: AlertRule, *, secret: str | None = None) -> AlertRuleOut:
    data = rule.model_dump()
    data.pop("webhook_secret", None)
    data["webhook_url"] = notify.masked_url(rule.webhook_url)  # the path is often the credential
    return AlertRuleOut.model_validate({**data, "has_secret": bool(rule.webhook_secret), "webhook_secret": secret})


def spike_rule(values: Any) -> spikes.SpikeRule:
    """The spike test of a rule, its unsaved values or a row."""
    return spikes.SpikeRule(window_hours=values.window_hours, baseline_days=values.baseline_days,
                            max_p=values.max_p, min_count=values.min_count, cooldown_hours=values.cooldown_hours)


# ---- reading mentions (live and back-test alike) -------------------------------------------------------

def counted_clause() -> ColumnElement[bool]:
    """The interactions a negative-only rule counts: complaints, and negative labels not estimated."""
    return or_(X.c.kind == InteractionKind.complaint.value,
               and_(X.c.sentiment < 0, X.c.sentiment_source != SentimentSource.estimated.value))


def estimated_only_clause() -> ColumnElement[bool]:
    """Negative only by the word list's estimate: shown beside an alert, never counted."""
    return and_(X.c.kind != InteractionKind.complaint.value, X.c.sentiment < 0,
                X.c.sentiment_source == SentimentSource.estimated.value)


# The whole hour each mention falls in, as the number of the hour that ends it (epoch hours, rounded
# up): a mention at 09:30 or at 10:00:00 exactly belongs to the hour (09:00, 10:00]. Computed in SQL so a
# topic's fortnight is read as a few hundred (hour, count) rows instead of every mention.
_HOUR_ENDING = {
    "sqlite": "((CAST(round((julianday(mention.occurred_at) - 2440587.5) * 86400000.0) AS INTEGER) + 3599999)"
              " / 3600000)",
    "postgresql": "CAST(ceil(extract(epoch from mention.occurred_at) / 3600) AS BIGINT)",
}


def mention_times(conn: Connection, topic_id: int, lo: datetime, hi: datetime, *, negative_only: bool) -> list[float]:
    """Sorted epoch seconds of the topic's counted mentions in (lo, hi], each put in the middle of its
    whole hour (the spike test only ever compares whole hours, so nothing is lost and a mention on the
    hour counts in the hour it ends). Read as counts per hour through ix_mention_topic_occurred (joined
    to the interaction only for a negative-only rule)."""
    hour: Any = literal_column(_HOUR_ENDING[conn.dialect.name]).label("hour")
    query = (select(hour, func.count().label("n"))
             .where(M.c.topic_id == topic_id, M.c.occurred_at > lo, M.c.occurred_at <= hi).group_by(hour))
    if negative_only:
        query = query.select_from(M.join(X, X.c.id == M.c.interaction_id)).where(counted_clause())
    times: list[float] = []
    for ending, n in sorted((r[0], r[1]) for r in conn.execute(query)):
        times.extend([int(ending) * 3600 - 1800.0] * int(n))
    return times


def window_mentions(conn: Connection, topic_id: int, start: datetime, end: datetime, *, negative_only: bool,
                    limit: int = WINDOW_MENTIONS) -> list[int]:
    """The counted mentions of (start, end], newest first (up to `limit`)."""
    query = select(M.c.id).where(M.c.topic_id == topic_id, M.c.occurred_at > start, M.c.occurred_at <= end)
    if negative_only:
        query = query.select_from(M.join(X, X.c.id == M.c.interaction_id)).where(counted_clause())
    return list(conn.execute(query.order_by(M.c.occurred_at.desc(), M.c.id.desc()).limit(limit)).scalars())


def estimated_extra(conn: Connection, topic_id: int, start: datetime, end: datetime) -> int:
    """Mentions of the window negative only by an estimate (not counted by a negative-only rule)."""
    return int(conn.execute(
        select(func.count()).select_from(M.join(X, X.c.id == M.c.interaction_id))
        .where(M.c.topic_id == topic_id, M.c.occurred_at > start, M.c.occurred_at <= end, estimated_only_clause())
    ).scalar_one())


def rule_topics(conn: Connection, topic_id: int | None) -> list[tuple[int, str, list[str]]]:
    """(id, name, terms) of the topics a rule watches: its own, or every active topic."""
    query = select(T.c.id, T.c.name, T.c.terms).where(T.c.active.is_(True)).order_by(T.c.id)
    if topic_id is not None:
        query = query.where(T.c.id == topic_id)
    return [(r.id, r.name, list(r.terms or [])) for r in conn.execute(query)]


# ---- spikes expected inside a campaign ---------------------------------------------------------------

_STOP = frozenset({"the", "and", "for", "with", "our", "new", "los", "las", "del", "con", "para", "una", "por"})


def _key_words(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(w for text in texts for w in words(text) if len(w) >= 3 and w not in _STOP)


@dataclass(frozen=True)
class CampaignDates:
    id: int
    name: str
    starts_on: date
    ends_on: date | None
    words: frozenset[str]

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


def campaigns(conn: Connection) -> list[CampaignDates]:
    """Active and completed campaigns with dates, with the folded words of their topics and keywords."""
    rows = conn.execute(select(C.c.id, C.c.name, C.c.topics, C.c.keywords, C.c.starts_on, C.c.ends_on, C.c.status)
                        .where(C.c.status.in_([CampaignStatus.active.value, CampaignStatus.completed.value]),
                               C.c.starts_on.is_not(None)).order_by(C.c.starts_on.desc(), C.c.id))
    out = []
    for r in rows:
        ends_on = r.ends_on
        if ends_on is None and r.status == CampaignStatus.completed.value:
            continue  # a finished campaign without an end date covers nothing for sure
        out.append(CampaignDates(id=r.id, name=r.name, starts_on=r.starts_on, ends_on=ends_on,
                                 words=_key_words([*(r.topics or []), *(r.keywords or [])])))
    return out


def topic_words(name: str, terms: Sequence[str]) -> frozenset[str]:
    return _key_words([name, *terms])


def expected_by(found: Sequence[CampaignDates], topic_key: frozenset[str], at: datetime, *,
                negative_only: bool = False) -> CampaignDates | None:
    """The campaign that explains a firing at `at` (the window's last hour lies inside its dates and it
    shares a word with the topic), or None. A campaign explains more talk, not more complaints: a
    negative-only rule's spike is never expected."""
    if negative_only:
        return None
    day = (at - timedelta(seconds=1)).astimezone(UTC).date()
    for campaign in found:
        if campaign.covers(day) and campaign.words & topic_key:
            return campaign
    return None


def mostly_negative(conn: Connection, topic_id: int, start: datetime, end: datetime) -> bool:
    """Whether at least half of the topic's mentions in (start, end] are negative (on the radar)."""
    row = conn.execute(select(func.count(), func.count().filter(M.c.negative.is_(True)))
                       .where(M.c.topic_id == topic_id, M.c.occurred_at > start, M.c.occurred_at <= end)).one()
    return bool(row[0]) and row[1] * 2 >= row[0]


# ---- live evaluation ---------------------------------------------------------------------------------

def hour_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _insert_alert(conn: Connection, values: dict[str, Any]) -> int | None:
    """Insert one alert unless (rule, topic, fired_at) already exists: a second worker is harmless."""
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(AL).values(**values).on_conflict_do_nothing(
            index_elements=["rule_id", "topic_id", "fired_at"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(AL).values(**values).on_conflict_do_nothing(
            index_elements=["rule_id", "topic_id", "fired_at"])
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(dialect)
    found = conn.execute(stmt.returning(AL.c.id)).scalar()
    return int(found) if found is not None else None


def _evaluate_rule(conn: Connection, rule_id: int, end: datetime, found_campaigns: Sequence[CampaignDates]) -> list[int]:
    rule = conn.execute(select(R).where(R.c.id == rule_id)).one_or_none()
    if rule is None or not rule.active:
        return []
    start = rule.evaluated_through or (end - HOUR)
    start = max(start, end - CATCH_UP)
    if start >= end:
        return []
    spike = spike_rule(rule)
    window = timedelta(hours=rule.window_hours)
    lo = start - window - timedelta(days=rule.baseline_days)
    new_ids: list[int] = []
    to_deliver: list[int] = []
    for topic_id, name, terms in rule_topics(conn, rule.topic_id):
        times = mention_times(conn, topic_id, lo, end, negative_only=rule.negative_only)
        if not times:
            continue
        last = conn.execute(select(func.max(AL.c.fired_at)).where(AL.c.rule_id == rule_id,
                                                                  AL.c.topic_id == topic_id)).scalar()
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        fired = spikes.firings(times, _ts(start), _ts(end), spike, last_fired=_ts(last) if last else None)
        key = topic_words(name, terms)
        for test in fired:
            at = test.at_datetime
            window_start = at - window
            campaign = expected_by(found_campaigns, key, at, negative_only=rule.negative_only)
            if campaign is not None and mostly_negative(conn, topic_id, window_start, at):
                campaign = None  # a campaign explains more talk, not a wave of complaints
            alert_id = _insert_alert(conn, {
                "rule_id": rule_id, "topic_id": topic_id, "fired_at": at, "window_start": window_start,
                "observed": test.observed, "expected": test.expected, "p_value": test.p_value,
                "status": AlertStatus.expected.value if campaign else AlertStatus.new.value,
                "campaign_id": campaign.id if campaign else None,
                "mention_ids": window_mentions(conn, topic_id, window_start, at, negative_only=rule.negative_only),
                "acted_at": None, "acted_by_id": None, "created_at": utcnow()})
            if alert_id is None:
                continue
            new_ids.append(alert_id)
            # Pushed by e-mail and webhook only while its window is still the latest one: a firing found
            # by catching up (a worker that was down, a rule switched back on) goes to the inbox only.
            if campaign is None and at > end - window:
                to_deliver.append(alert_id)
    conn.execute(update(R).where(R.c.id == rule_id).values(evaluated_through=end))
    if to_deliver:
        import importlib

        importlib.import_module("crm.listening.delivery").schedule(conn, rule_id, to_deliver)
    return new_ids


def evaluate_due(engine: Engine, *, now: datetime | None = None) -> list[int]:
    """Evaluate every active rule at each whole hour since it was last evaluated (at most 7 days back)
    up to the hour floor of `now`. Returns the new alerts' ids. Each rule runs in its own short write
    transaction, one worker at a time per rule; running twice, or in two workers at once, adds nothing."""
    end = hour_floor(now or utcnow())
    with engine.connect() as conn:
        rule_ids = list(conn.execute(select(R.c.id).where(R.c.active.is_(True)).order_by(R.c.id)).scalars())
        found_campaigns = campaigns(conn) if rule_ids else []
    created: list[int] = []
    bind = write_bind(engine)
    for rule_id in rule_ids:
        with Session(bind) as session:
            try:
                serialize_writes(session, f"alert_rule:{rule_id}")
                created += _evaluate_rule(session.connection(), rule_id, end, found_campaigns)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("alert rule %s could not be evaluated", rule_id)
    return created


# ---- rules: create, edit, delete, list ----------------------------------------------------------------

def _check_webhook(data: AlertRuleIn | Any, allow_private: bool) -> None:
    url = getattr(data, "webhook_url", None)
    if url:
        refused = notify.check_webhook_url(url, allow_private=allow_private)
        if refused:
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors={"webhook_url": refused})


def _check_topic(session: Session, topic_id: int | None) -> None:
    if topic_id is not None and session.get(Topic, topic_id) is None:
        raise InvalidInput(gettext("Please correct the fields marked below."),
                           field_errors={"topic_id": gettext("There is no such topic.")})


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    data = rule.model_dump(mode="json", exclude={"webhook_secret", "created_at", "updated_at", "evaluated_through"})
    data["has_secret"] = bool(rule.webhook_secret)
    return data


def get_rule(rule_id: int, *, session: Session) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(gettext("There is no such alert rule."))
    return rule


def create_rule(data: AlertRuleIn, *, session: Session, actor: Actor, allow_private: bool) -> tuple[AlertRule, str]:
    """Returns the rule and its webhook secret (generated when none was given), shown this once."""
    _check_webhook(data, allow_private)
    _check_topic(session, data.topic_id)
    secret = data.webhook_secret or secrets.token_urlsafe(SECRET_BYTES)
    rule = AlertRule(**data.model_dump(exclude={"webhook_secret"}), webhook_secret=secret,
                     created_by_id=actor.user_id)
    session.add(rule)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.alert_rule_create, object_type="alert_rule",
                 object_id=rule.id, after=_snapshot(rule))
    return rule, secret


def update_rule(rule_id: int, data: AlertRuleIn | Any, *, session: Session, actor: Actor, allow_private: bool,
                partial: bool = False) -> AlertRule:
    """Change a rule; with `partial` only the fields sent (API PATCH), the result checked whole. A blank
    secret keeps the one it has."""
    if "webhook_url" in data.model_fields_set or not partial:
        _check_webhook(data, allow_private)
    rule = get_rule(rule_id, session=session)
    before = _snapshot(rule)
    if partial:
        current = rule.model_dump(include=set(AlertRuleIn.model_fields) - {"webhook_secret"})
        sent = {k: v for k, v in data.model_dump(exclude_unset=True).items() if k in data.model_fields_set}
        if any(v is None for k, v in sent.items() if k != "topic_id"):
            bad = next(k for k, v in sent.items() if v is None and k != "topic_id")
            raise InvalidInput(gettext("Please correct the fields marked below."),
                               field_errors={bad: gettext("This field is required.")})
        try:
            data = AlertRuleIn.model_validate({**current, **sent})
        except ValidationError as exc:
            errors = {".".join(str(p) for p in e["loc"]) or "__all__": str(e["msg"]).removeprefix("Value error, ")
                      for e in exc.errors()}
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=errors) from None
    _check_topic(session, data.topic_id)
    for name, value in data.model_dump(exclude={"webhook_secret"}).items():
        setattr(rule, name, value)
    if data.webhook_secret:
        rule.webhook_secret = data.webhook_secret
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.alert_rule_update, object_type="alert_rule",
                 object_id=rule.id, before=before, after=_snapshot(rule))
    return rule


def rotate_secret(rule_id: int, *, session: Session, actor: Actor) -> str:
    rule = get_rule(rule_id, session=session)
    rule.webhook_secret = secrets.token_urlsafe(SECRET_BYTES)
    rule.updated_at = utcnow()
    session.add(rule)
    audit.record(session=session, actor=actor, action=AuditAction.alert_rule_update, object_type="alert_rule",
                 object_id=rule.id, after={"webhook_secret": "rotated"})
    return rule.webhook_secret


def delete_rule(rule_id: int, *, session: Session, actor: Actor) -> str:
    rule = get_rule(rule_id, session=session)
    name = rule.name
    audit.record(session=session, actor=actor, action=AuditAction.alert_rule_delete, object_type="alert_rule",
                 object_id=rule.id, before=_snapshot(rule))
    session.delete(rule)
    session.flush()
    return name


@dataclass
class RuleRow:
    rule: AlertRule
    topic_name: str  # "" for all topics
    fired: int = 0  # alerts raised (expected ones apart)
    expected: int = 0
    acted: int = 0
    dismissed: int = 0
    stale: int = 0  # new or seen, older than a week: nobody handled them

    @property
    def judged(self) -> int:
        return self.acted + self.dismissed + self.stale

    @property
    def acted_rate(self) -> float | None:
        """acted ÷ (acted + dismissed + unhandled older than 7 days); None before anything was judged."""
        return self.acted / self.judged if self.judged else None


def rule_stats(rule_ids: Sequence[int] | None = None, *, session: Session,
               now: datetime | None = None) -> dict[int, RuleRow]:
    """Each rule's counts of alerts by outcome (for the acted-on rate), rules by name."""
    conn = session.connection()
    stale_before = (now or utcnow()) - STALE_AFTER
    rules_query = select(AlertRule).order_by(AlertRule.name, AlertRule.id)  # type: ignore[arg-type]
    by_status = select(AL.c.rule_id, AL.c.status, func.count().label("n")).group_by(AL.c.rule_id, AL.c.status)
    stale = (select(AL.c.rule_id, func.count().label("n"))
             .where(AL.c.status.in_([AlertStatus.new.value, AlertStatus.seen.value]), AL.c.fired_at < stale_before)
             .group_by(AL.c.rule_id))
    if rule_ids is not None:
        ids = list(rule_ids)
        rules_query = rules_query.where(AlertRule.id.in_(ids))  # type: ignore[union-attr]
        by_status = by_status.where(AL.c.rule_id.in_(ids))
        stale = stale.where(AL.c.rule_id.in_(ids))
    names: dict[int, str] = {r.id: r.name for r in conn.execute(select(T.c.id, T.c.name))}
    rows = {rule.id or 0: RuleRow(rule=rule, topic_name=names.get(rule.topic_id, "") if rule.topic_id else "")
            for rule in session.scalars(rules_query)}
    for r in conn.execute(by_status):
        row = rows.get(r.rule_id)
        if row is None:
            continue
        if r.status == AlertStatus.expected.value:
            row.expected += int(r.n)
            continue
        row.fired += int(r.n)
        if r.status == AlertStatus.acted.value:
            row.acted += int(r.n)
        elif r.status == AlertStatus.dismissed.value:
            row.dismissed += int(r.n)
    for r in conn.execute(stale):
        if r.rule_id in rows:
            rows[r.rule_id].stale = int(r.n)
    return rows


def list_rules(*, session: Session, now: datetime | None = None) -> list[RuleRow]:
    return list(rule_stats(session=session, now=now).values())


def topic_choices(*, session: Session) -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in session.connection().execute(select(T.c.id, T.c.name).order_by(T.c.name))]


# ---- the inbox ---------------------------------------------------------------------------------------

INBOX_STATUSES = tuple(s.value for s in AlertStatus)


class AlertQuery(InputModel):
    status: str = Field(default="", max_length=20)
    rule_id: DbId | None = None
    topic_id: DbId | None = None
    unread: bool = False
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)

    @field_validator("status")
    @classmethod
    def _known(cls, value: str) -> str:
        if value and value not in INBOX_STATUSES:
            raise ValueError(f"one of {', '.join(INBOX_STATUSES)}")
        return value


@dataclass
class DeliveryState:
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    digest_day: date | None


@dataclass
class AlertView:
    alert: Alert
    rule_name: str
    topic_name: str
    window_hours: int
    negative_only: bool
    unread: bool
    campaign_name: str = ""
    speakers: list[people.Speaker] = field(default_factory=list)
    estimated_extra: int = 0
    deliveries: list[DeliveryState] = field(default_factory=list)
    interaction_ids: list[int] = field(default_factory=list)

    @property
    def signal_url(self) -> str:
        ids = ",".join(str(i) for i in self.interaction_ids[:50])
        return f"/signals/new?alert_id={self.alert.id}&interaction_ids={ids}"


@dataclass
class AlertPage:
    items: list[AlertView]
    total: int
    page: int
    per_page: int
    unread: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filtered(query: Any, params: AlertQuery, user_id: int | None) -> Any:
    if params.status:
        query = query.where(AL.c.status == params.status)
    if params.rule_id is not None:
        query = query.where(AL.c.rule_id == params.rule_id)
    if params.topic_id is not None:
        query = query.where(AL.c.topic_id == params.topic_id)
    if params.unread and user_id is not None:
        query = query.where(not_(select(READ.c.id).where(READ.c.alert_id == AL.c.id,
                                                         READ.c.user_id == user_id).exists()))
    return query


def _views(session: Session, alerts: Sequence[Alert], user_id: int | None, *, speakers: int = 5) -> list[AlertView]:
    conn = session.connection()
    if not alerts:
        return []
    ids = [a.id for a in alerts]
    rules = {r.id: r for r in conn.execute(select(R.c.id, R.c.name, R.c.window_hours, R.c.negative_only)
                                           .where(R.c.id.in_({a.rule_id for a in alerts})))}
    topics = dict(conn.execute(select(T.c.id, T.c.name).where(T.c.id.in_({a.topic_id for a in alerts}))).all())  # type: ignore[arg-type]
    campaign_ids = {a.campaign_id for a in alerts if a.campaign_id}
    names = dict(conn.execute(select(C.c.id, C.c.name).where(C.c.id.in_(campaign_ids))).all()) if campaign_ids else {}  # type: ignore[arg-type]
    read = set(conn.execute(select(READ.c.alert_id).where(READ.c.alert_id.in_(ids), READ.c.user_id == user_id))
               .scalars()) if user_id is not None else set(ids)
    deliveries: dict[int, list[DeliveryState]] = {}
    rule_deliveries = conn.execute(select(D).where(D.c.rule_id.in_({a.rule_id for a in alerts}))
                                   .order_by(D.c.id.desc()).limit(2000))
    wanted = set(ids)
    for d in rule_deliveries:
        for alert_id in d.alert_ids or []:
            if alert_id in wanted:
                deliveries.setdefault(alert_id, []).append(DeliveryState(
                    channel=d.channel, target=notify.shown_target(d.channel, d.target), status=d.status, attempts=d.attempts,
                    last_error=d.last_error, sent_at=d.sent_at, digest_day=d.digest_day))
    out = []
    for alert in alerts:
        rule = rules.get(alert.rule_id)
        ranked = people.ranked_mentions(conn, alert.mention_ids or [], before=alert.window_start)
        talking = people.who_is_talking(ranked)
        by_urgency = [m.interaction_id for m in ranked]
        out.append(AlertView(
            alert=alert, rule_name=rule.name if rule else "", topic_name=topics.get(alert.topic_id, ""),
            window_hours=rule.window_hours if rule else 0, negative_only=bool(rule.negative_only) if rule else False,
            unread=alert.id not in read, campaign_name=names.get(alert.campaign_id, "") if alert.campaign_id else "",
            speakers=talking[:speakers],
            estimated_extra=estimated_extra(conn, alert.topic_id, alert.window_start, alert.fired_at)
            if rule and rule.negative_only else 0,
            deliveries=deliveries.get(alert.id or 0, []), interaction_ids=by_urgency))
    return out


def list_alerts(params: AlertQuery, *, session: Session, user_id: int | None) -> AlertPage:
    """Alerts newest first, filtered, with who is talking in each and its delivery state."""
    count = session.connection().execute(_filtered(select(func.count()).select_from(AL), params, user_id)).scalar_one()
    query = _filtered(select(Alert), params, user_id).order_by(AL.c.fired_at.desc(), AL.c.id.desc())
    rows = list(session.scalars(query.offset((params.page - 1) * params.per_page).limit(params.per_page)))
    return AlertPage(items=_views(session, rows, user_id), total=int(count), page=params.page,
                     per_page=params.per_page, unread=unread_count(user_id, session=session) if user_id else 0)


def get_alert(alert_id: int, *, session: Session, user_id: int | None) -> AlertView:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(gettext("There is no such alert."))
    return _views(session, [alert], user_id)[0]


def unread_count(user_id: int, *, session: Session) -> int:
    """Alerts this person has not opened (expected ones are annotations, not news)."""
    return int(session.connection().execute(
        select(func.count()).select_from(AL).where(
            AL.c.status != AlertStatus.expected.value,
            not_(select(READ.c.id).where(READ.c.alert_id == AL.c.id, READ.c.user_id == user_id).exists()))
    ).scalar_one())


def _insert_read(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    stmt: Any = (postgresql.insert(READ) if dialect == "postgresql" else sqlite.insert(READ))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["alert_id", "user_id"]), rows)


def mark_read(alert_ids: Sequence[int], *, session: Session, user_id: int) -> None:
    """This person has seen these alerts (a new alert seen by anyone becomes `seen`)."""
    ids = sorted(set(alert_ids))
    if not ids:
        return
    conn = session.connection()
    now = utcnow()
    _insert_read(conn, [{"alert_id": i, "user_id": user_id, "read_at": now} for i in ids])
    conn.execute(update(AL).where(AL.c.id.in_(ids), AL.c.status == AlertStatus.new.value)
                 .values(status=AlertStatus.seen.value))


def mark_all_read(*, session: Session, user_id: int) -> int:
    conn = session.connection()
    ids = list(conn.execute(select(AL.c.id).where(not_(select(READ.c.id).where(
        READ.c.alert_id == AL.c.id, READ.c.user_id == user_id).exists()))).scalars())
    mark_read(ids, session=session, user_id=user_id)
    return len(ids)


ACT_OUTCOMES = (AlertStatus.acted.value, AlertStatus.dismissed.value)


class AlertActIn(InputModel):
    outcome: str = Field(description="acted (someone did something about it) or dismissed (noise)")
    note: str = Field(default="", max_length=1000)

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        if value not in ACT_OUTCOMES:
            raise ValueError("acted or dismissed")
        return value


def act(alert_id: int, data: AlertActIn, *, session: Session, actor: Actor, user_id: int | None) -> Alert:
    """Record what was done about an alert: acted on, or dismissed as noise (audited)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(gettext("There is no such alert."))
    before = {"status": alert.status}
    alert.status = data.outcome
    if data.outcome == AlertStatus.acted.value:
        alert.acted_at = utcnow()
        alert.acted_by_id = user_id
    else:
        alert.acted_at = None
        alert.acted_by_id = user_id
    session.add(alert)
    audit.record(session=session, actor=actor, action=AuditAction.alert_act, object_type="alert", object_id=alert.id,
                 before=before, after={"status": alert.status, **({"note": data.note} if data.note else {})})
    session.flush()
    if user_id is not None:
        _insert_read(session.connection(), [{"alert_id": alert_id, "user_id": user_id, "read_at": utcnow()}])
    return alert


def mark_acted(alert_id: int, *, session: Session, actor: Actor, user_id: int | None) -> None:
    """Signals call this when a signal is opened from an alert."""
    act(alert_id, AlertActIn(outcome=AlertStatus.acted.value), session=session, actor=actor, user_id=user_id)
