"""Alert delivery: one e-mail or signed webhook call per rule channel, retried with backoff by the `deliver`
job, kept as `undelivered` after the last attempt (never lost), and a rule's daily digest.

How it stays safe when a worker is killed halfway: a delivery is *claimed* with a conditional UPDATE that
pushes its `next_attempt_at` forward by CLAIM_SECONDS and counts the attempt, in its own short transaction,
before anything is sent. Two workers never both win that UPDATE, so they never send one delivery twice;
a worker that dies after claiming leaves the delivery due again once the claim has expired, and the next
run takes it again. Network calls happen outside any write transaction (SQLite's write lock).

Messages name who is talking (crm.listening.people), never their e-mail addresses or notes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, insert, select, update
from sqlmodel import Session

from crm.db import serialize_writes, utcnow, write_bind
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.jobs.models import Job, JobStatus
from crm.listening import notify
from crm.listening.models import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertStatus,
    DeliveryChannel,
    DeliveryStatus,
    Topic,
)
from crm.settings import Settings

log = logging.getLogger("crm.listening.delivery")

D = cast(Table, AlertDelivery.__table__)  # type: ignore[attr-defined]
R = cast(Table, AlertRule.__table__)  # type: ignore[attr-defined]
AL = cast(Table, Alert.__table__)  # type: ignore[attr-defined]
T = cast(Table, Topic.__table__)  # type: ignore[attr-defined]
J = cast(Table, Job.__table__)  # type: ignore[attr-defined]

DELIVER_JOB = "deliver"
CLAIM_SECONDS = 600  # a claim older than this (its worker died) is taken again
DIGEST_LOOKBACK_DAYS = 7  # digests missed while no worker ran are still made, up to this far back
EMAIL_OFF = "E-mail is off: set CRM_SMTP_HOST"
MAX_PEOPLE = 10
MAX_MENTIONS = 10
EXCERPT = 280


# ---- scheduling ------------------------------------------------------------------------------

def _connection(conn: Connection | Session) -> Connection:
    return conn.connection() if isinstance(conn, Session) else conn


def _new_row(model: Any) -> dict[str, Any]:
    """Every column's value with the model's defaults (Core inserts do not apply SQLModel's)."""
    return cast(dict[str, Any], model.model_dump(exclude={"id"}))


def channels_of(rule: Any) -> list[tuple[str, str]]:
    """(channel, target) for each way the rule delivers: e-mail when it has addresses, a webhook when it has a URL."""
    out = []
    if rule.email_to:
        out.append((DeliveryChannel.email.value, ", ".join(rule.email_to)))
    if rule.webhook_url:
        out.append((DeliveryChannel.webhook.value, rule.webhook_url))
    return out


def schedule(conn: Connection | Session, rule_id: int, alert_ids: list[int]) -> None:
    """Called by alert evaluation, in its transaction, with the new alerts of one rule that are not `expected`.
    A rule that is not a digest gets one pending delivery per channel, due now, and a `deliver` job is queued
    if none is waiting (on PostgreSQL the listening tick hands it to procrastinate within the minute).
    Whether e-mail is configured is asked when sending: without CRM_SMTP_HOST the delivery becomes
    undelivered with that reason, shown in the delivery log, never silently dropped."""
    c = _connection(conn)
    if not alert_ids:
        return
    rule = c.execute(select(R).where(R.c.id == rule_id)).first()
    if rule is None or rule.digest:
        return  # digests are made by the tick once the day is over
    now = utcnow()
    rows = [_new_row(AlertDelivery(rule_id=rule_id, alert_ids=sorted(set(alert_ids)), channel=channel, target=target[:500],
                                   next_attempt_at=now))
            for channel, target in channels_of(rule)]
    if not rows:
        return
    c.execute(insert(D), rows)
    _ensure_job_row(c)


def _queued_job(c: Connection) -> int | None:
    return c.execute(select(J.c.id).where(J.c.kind == DELIVER_JOB, J.c.status == JobStatus.queued.value)
                     .order_by(J.c.id).limit(1)).scalar()


def _ensure_job_row(c: Connection) -> int:
    found = _queued_job(c)
    if found is not None:
        return int(found)
    return int(c.execute(insert(J).values(**_new_row(Job(kind=DELIVER_JOB, title="Deliver alerts")))
                         .returning(J.c.id)).scalar_one())


def _defer_after_commit(session: Session, job_id: int) -> None:
    """On PostgreSQL, hand an already queued Job row to procrastinate once this transaction commits
    (a second hand-over is harmless: the Job row is claimed once)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    url = cast(Engine, bind).url.render_as_string(hide_password=False)
    from sqlalchemy import event

    def _defer(_session: Session) -> None:
        from crm.jobs import queue

        queue.defer(url, job_id)

    event.listen(session, "after_commit", _defer, once=True)


def request_delivery(*, session: Session) -> int:
    """Make sure a `deliver` job is queued (and, on PostgreSQL, handed to the workers); returns its id."""
    from crm.jobs import service as jobs

    serialize_writes(session, "deliver-request")
    found = _queued_job(session.connection())
    if found is not None:
        _defer_after_commit(session, int(found))
        return int(found)
    return int(jobs.enqueue(DELIVER_JOB, {}, session=session, title="Deliver alerts").id or 0)


def due_count(conn: Connection, *, now: datetime | None = None) -> int:
    return int(conn.execute(select(func.count()).select_from(D).where(
        D.c.status == DeliveryStatus.pending.value, D.c.next_attempt_at <= (now or utcnow()))).scalar_one())


def queue_if_due(engine: Engine, *, now: datetime | None = None) -> int | None:
    """The tick: when deliveries are due (new ones, and retries whose wait is over), queue `deliver`."""
    with engine.connect() as conn:
        if not due_count(conn, now=now):
            return None
    with Session(write_bind(engine)) as session:
        job_id = request_delivery(session=session)
        session.commit()
    return job_id


# ---- digests ---------------------------------------------------------------------------------

def make_digests(engine: Engine, *, now: datetime | None = None) -> list[int]:
    """For each digest rule, one delivery per channel per finished UTC day that had alerts (not expected ones),
    made once. Returns the new deliveries' ids."""
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=DIGEST_LOOKBACK_DAYS)
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(today, time(), tzinfo=UTC)
    with engine.connect() as conn:
        rules = conn.execute(select(R).where(R.c.digest.is_(True))).all()
        if not rules:
            return []
        candidates: dict[tuple[int, date], list[int]] = {}
        for a in conn.execute(select(AL.c.id, AL.c.rule_id, AL.c.fired_at).where(
                AL.c.rule_id.in_([r.id for r in rules]), AL.c.status != AlertStatus.expected.value,
                AL.c.fired_at >= start, AL.c.fired_at < end).order_by(AL.c.id)):
            candidates.setdefault((a.rule_id, a.fired_at.astimezone(UTC).date()), []).append(a.id)
    if not candidates:
        return []
    made: list[int] = []
    with Session(write_bind(engine)) as session:
        serialize_writes(session, "alert-digests")
        c = session.connection()
        by_id = {r.id: r for r in c.execute(select(R).where(R.c.id.in_([k[0] for k in candidates]))).all()}
        done = {(r.rule_id, r.digest_day, r.channel) for r in c.execute(
            select(D.c.rule_id, D.c.digest_day, D.c.channel).where(
                D.c.rule_id.in_(list(by_id)), D.c.digest_day >= first, D.c.digest_day < today))}
        for (rule_id, day), alert_ids in sorted(candidates.items()):
            rule = by_id.get(rule_id)
            if rule is None or not rule.digest:
                continue
            for channel, target in channels_of(rule):
                if (rule_id, day, channel) in done:
                    continue
                made.append(int(c.execute(insert(D).values(**_new_row(AlertDelivery(
                    rule_id=rule_id, alert_ids=alert_ids, channel=channel, target=target[:500], digest_day=day,
                    next_attempt_at=now))).returning(D.c.id)).scalar_one()))
        if made:
            _ensure_job_row(c)
        session.commit()
    return made


# ---- what is sent ----------------------------------------------------------------------------

@dataclass
class Message:
    subject: str
    text: str
    payload: dict[str, Any]


@dataclass
class _AlertView:
    row: Any
    topic: str
    people: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)


def _excerpt(title: str, body: str) -> str:
    words = " ".join(f"{title or ''} {body or ''}".split())
    return words if len(words) <= EXCERPT else words[:EXCERPT - 1].rstrip() + "…"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _alert_views(conn: Connection, alert_ids: Sequence[int]) -> list[_AlertView]:
    from crm.listening.people import ranked_mentions, who_is_talking

    rows = conn.execute(select(AL, T.c.name.label("topic_name")).join(T, T.c.id == AL.c.topic_id, isouter=True)
                        .where(AL.c.id.in_(list(alert_ids))).order_by(AL.c.fired_at, AL.c.id)).all()
    views = []
    for row in rows:
        view = _AlertView(row=row, topic=row.topic_name or gettext("(deleted topic)"))
        ranked = ranked_mentions(conn, list(row.mention_ids or []), before=row.window_start)
        for speaker in who_is_talking(ranked)[:MAX_PEOPLE]:
            view.people.append({"name": speaker.author.name, "standing": speaker.author.standing().value,
                                "reach": speaker.author.reach, "mentions": speaker.mentions})
        for m in ranked[:MAX_MENTIONS]:
            view.mentions.append({"url": m.url or None, "excerpt": _excerpt(m.title, m.body), "time": _iso(m.occurred_at)})
        views.append(view)
    return views


def _alert_json(view: _AlertView, rule: Any, settings: Settings) -> dict[str, Any]:
    row = view.row
    return {"id": row.id, "rule": {"id": rule.id, "name": rule.name}, "topic": {"id": row.topic_id, "name": view.topic},
            "window": {"start": _iso(row.window_start), "end": _iso(row.fired_at)}, "observed": row.observed,
            "expected": round(float(row.expected), 3), "p_value": float(row.p_value), "status": row.status,
            "link": _link(settings), "people": view.people, "mentions": view.mentions}


def _link(settings: Settings) -> str | None:
    return settings.public_url.rstrip("/") + "/listening/alerts" if settings.public_url else None


def _spike_subject(view: _AlertView) -> str:
    return gettext("[Altavoz] Spike: %(topic)s — %(observed)d mentions (expected %(expected)s)") % {
        "topic": view.topic, "observed": view.row.observed, "expected": f"{float(view.row.expected):.1f}"}


def _alert_text(view: _AlertView) -> list[str]:
    row = view.row
    lines = [_spike_subject(view).removeprefix("[Altavoz] "),
             gettext("Window: %(start)s to %(end)s (UTC); chance of this many by luck: %(p)s") % {
                 "start": row.window_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                 "end": row.fired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), "p": f"{float(row.p_value):.2g}"}]
    if view.people:
        lines.append(gettext("Who is talking:"))
        for p in view.people:
            lines.append("  - " + gettext("%(name)s (%(standing)s, reach %(reach)s): %(n)d mentions") % {
                "name": p["name"], "standing": gettext(p["standing"].capitalize()), "reach": f"{p['reach']:,}",
                "n": p["mentions"]})
    if view.mentions:
        lines.append(gettext("Most urgent mentions:"))
        for m in view.mentions:
            lines.append(f"  - {m['excerpt']}" + (f" <{m['url']}>" if m["url"] else ""))
    return lines


def build_message(conn: Connection, rule: Any, alert_ids: Sequence[int], settings: Settings, *,
                  digest_day: date | None = None, delivery_id: int | None = None) -> Message:
    views = _alert_views(conn, alert_ids)
    alerts_json = [_alert_json(v, rule, settings) for v in views]
    if digest_day is not None:
        subject = gettext("[Altavoz] Daily digest: %(rule)s — %(n)d alerts on %(day)s") % {
            "rule": rule.name, "n": len(views), "day": digest_day.isoformat()}
        event = "alert.digest"
    elif len(views) == 1:
        subject, event = _spike_subject(views[0]), "alert.fired"
    else:
        subject = gettext("[Altavoz] Spikes: %(topics)s — %(n)d alerts") % {
            "topics": ", ".join(sorted({v.topic for v in views})), "n": len(views)}
        event = "alert.fired"
    lines = [gettext("Rule: %(rule)s") % {"rule": rule.name}, ""]
    for view in views:
        lines += _alert_text(view) + [""]
    if not views:
        lines += [gettext("The alerts of this delivery were deleted since."), ""]
    link = _link(settings)
    if link:
        lines.append(gettext("See the alerts: %(link)s") % {"link": link})
    payload: dict[str, Any] = {"event": event, "delivery_id": delivery_id, "rule": {"id": rule.id, "name": rule.name},
                               "alerts": alerts_json}
    if digest_day is not None:
        payload["day"] = digest_day.isoformat()
    return Message(subject=subject, text="\n".join(lines).strip() + "\n", payload=payload)


def send(settings: Settings, channel: str, target: str, rule: Any, message: Message) -> None:
    """One attempt; raises notify.DeliveryFailed."""
    if channel == DeliveryChannel.email.value:
        if not notify.email_configured(settings):
            raise notify.DeliveryFailed(EMAIL_OFF)
        notify.send_email(settings, [a.strip() for a in target.split(",") if a.strip()], message.subject, message.text)
    else:
        notify.post_webhook(settings, target, rule.webhook_secret, message.payload)


# ---- the deliver job -------------------------------------------------------------------------

@dataclass
class Outcome:
    sent: int = 0
    retrying: int = 0
    undelivered: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.undelivered


def claim(engine: Engine, delivery_id: int, *, now: datetime | None = None) -> bool:
    """Take a due delivery for this worker: one conditional UPDATE (only one worker can win it) that counts the
    attempt and pushes next_attempt_at past the claim timeout, so a dead worker's claim expires by itself."""
    now = now or utcnow()
    with write_bind(engine).begin() as conn:
        won = conn.execute(update(D).where(
            D.c.id == delivery_id, D.c.status == DeliveryStatus.pending.value, D.c.next_attempt_at <= now,
        ).values(attempts=D.c.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)))
        return bool(won.rowcount)


def deliver_one(engine: Engine, delivery_id: int, settings: Settings, *, now: datetime | None = None) -> str | None:
    """Claim, build, send, record: the delivery's new status, or None when it was not due or another worker has it."""
    given = now
    now = now or utcnow()
    if not claim(engine, delivery_id, now=now):
        return None
    with engine.connect() as conn:
        d = conn.execute(select(D).where(D.c.id == delivery_id)).one()
        rule = conn.execute(select(R).where(R.c.id == d.rule_id)).first()
        error = ""
        message = None
        if rule is not None:
            try:
                message = build_message(conn, rule, d.alert_ids or [], settings, digest_day=d.digest_day,
                                        delivery_id=d.id)
            except Exception as exc:  # a bug must not keep the delivery claimed forever without a word
                log.exception("building delivery %s failed", delivery_id)
                error = f"{type(exc).__name__}: {exc}"
    if rule is not None and message is not None:
        try:
            send(settings, d.channel, d.target, rule, message)
        except notify.DeliveryFailed as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 (any failure is recorded and retried, never lost)
            log.exception("delivery %s failed", delivery_id)
            error = f"{type(exc).__name__}: {exc}"
    elif rule is None:
        error = gettext("The rule was deleted.")
    done = given or utcnow()
    values: dict[str, Any]
    if not error:
        values = {"status": DeliveryStatus.sent.value, "sent_at": done, "last_error": "", "next_attempt_at": None}
    elif error == EMAIL_OFF or d.attempts >= settings.delivery_max_attempts:
        values = {"status": DeliveryStatus.undelivered.value, "last_error": error[:1000], "next_attempt_at": None}
    else:
        wait = settings.delivery_backoff_seconds * 2 ** max(d.attempts - 1, 0)
        values = {"last_error": error[:1000], "next_attempt_at": now + timedelta(seconds=wait)}
    with write_bind(engine).begin() as conn:
        conn.execute(update(D).where(D.c.id == delivery_id).values(**values))
    return str(values.get("status", DeliveryStatus.pending.value))


def due_ids(engine: Engine, *, now: datetime | None = None) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(select(D.c.id).where(
            D.c.status == DeliveryStatus.pending.value, D.c.next_attempt_at <= (now or utcnow()))
            .order_by(D.c.next_attempt_at, D.c.id)).scalars()]


def deliver_due(engine: Engine, settings: Settings, *, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Every delivery due at `now`, one at a time, each in its own transactions."""
    outcome = Outcome()
    ids = due_ids(engine, now=now)
    for done, delivery_id in enumerate(ids, start=1):
        status = deliver_one(engine, delivery_id, settings, now=now)
        if status == DeliveryStatus.sent.value:
            outcome.sent += 1
        elif status == DeliveryStatus.undelivered.value:
            outcome.undelivered += 1
        elif status is not None:
            outcome.retrying += 1
        if progress:
            progress(done, len(ids))
    return outcome


def run_deliver_job(engine: Engine, job_id: int, *, progress: Callable[[int, int], None] | None = None,
                    settings: Settings | None = None) -> Job:
    """The `deliver` job: idempotent (each delivery is claimed before it is sent), safe to kill halfway."""
    settings = settings or Settings()
    outcome = deliver_due(engine, settings, progress=progress)
    counts = {"sent": outcome.sent, "retrying": outcome.retrying, "undelivered": outcome.undelivered}
    with write_bind(engine).begin() as conn:
        conn.execute(update(J).where(J.c.id == job_id).values(
            status=JobStatus.done.value, finished_at=utcnow(), progress=outcome.handled, total=outcome.handled,
            counts=counts))
    with engine.connect() as conn:
        return Job(**conn.execute(select(J).where(J.c.id == job_id)).one()._mapping)


# ---- the delivery log, retry now, send a test (services for the routes) ----------------------

@dataclass
class DeliveryRow:
    delivery: AlertDelivery
    rule_name: str | None


@dataclass
class DeliveryPage:
    rows: list[DeliveryRow]
    total: int
    page: int
    per_page: int
    status: str = ""
    rule_id: int | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_deliveries(*, session: Session, page: int = 1, per_page: int = 25, status: str = "",
                    rule_id: int | None = None) -> DeliveryPage:
    if status and status not in {s.value for s in DeliveryStatus}:
        raise InvalidInput(gettext("Choose one of the options."), field_errors={"status": gettext("Choose one of the options.")})
    page = max(1, page)
    query = select(D, R.c.name.label("rule_name")).join(R, R.c.id == D.c.rule_id, isouter=True)
    counting = select(func.count()).select_from(D)
    if status:
        query, counting = query.where(D.c.status == status), counting.where(D.c.status == status)
    if rule_id is not None:
        query, counting = query.where(D.c.rule_id == rule_id), counting.where(D.c.rule_id == rule_id)
    total = int(session.execute(counting).scalar_one())
    rows = session.execute(query.order_by(D.c.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    out = [DeliveryRow(AlertDelivery.model_validate({k: v for k, v in r._mapping.items() if k != "rule_name"}),
                       r.rule_name) for r in rows]
    return DeliveryPage(out, total, page, per_page, status, rule_id)


def retry_now(delivery_id: int, *, session: Session, now: datetime | None = None) -> AlertDelivery:
    """A pending or undelivered delivery is due again now (one more attempt for an undelivered one), and the
    `deliver` job is queued. A sent one is refused."""
    delivery = session.get(AlertDelivery, delivery_id)
    if delivery is None:
        raise NotFound(gettext("No such delivery."))
    if delivery.status == DeliveryStatus.sent.value:
        raise InvalidInput(gettext("This delivery was sent already."))
    delivery.status = DeliveryStatus.pending.value
    delivery.next_attempt_at = now or utcnow()
    session.add(delivery)
    session.flush()
    request_delivery(session=session)
    return delivery


@dataclass
class TestResult:
    channel: str
    target: str
    ok: bool
    detail: str


def sample_message(rule: Any, settings: Settings) -> Message:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    alert = {"id": 0, "rule": {"id": rule.id, "name": rule.name}, "topic": {"id": rule.topic_id, "name": "Sample topic"},
             "window": {"start": _iso(now - timedelta(hours=rule.window_hours)), "end": _iso(now)}, "observed": 14,
             "expected": 2.1, "p_value": 0.00001, "status": "new", "link": _link(settings),
             "people": [{"name": "Sample Person", "standing": "champion", "reach": 12000, "mentions": 3}],
             "mentions": [{"url": None, "excerpt": "This is a sample mention.", "time": _iso(now)}]}
    subject = gettext("[Altavoz] Test: %(rule)s") % {"rule": rule.name}
    text = gettext("This is a test from Altavoz for the alert rule “%(rule)s”. "
                   "Alerts of this rule will arrive like this.") % {"rule": rule.name} + "\n"
    return Message(subject=subject, text=text, payload={"event": "alert.test", "delivery_id": None,
                                                        "rule": {"id": rule.id, "name": rule.name}, "alerts": [alert]})


def rule_choices(*, session: Session) -> list[tuple[int, str]]:
    """Rules that deliver somewhere (an address or a webhook), for the "send a test" form."""
    rows = session.execute(select(R.c.id, R.c.name, R.c.email_to, R.c.webhook_url).order_by(R.c.name, R.c.id)).all()
    return [(int(r.id), r.name) for r in rows if r.email_to or r.webhook_url]


def rule_for_test(rule_id: int, *, session: Session) -> AlertRule:
    """A detached copy of the rule, so the caller can end its transaction before the slow network call."""
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(gettext("No such alert rule."))
    if not channels_of(rule):
        raise InvalidInput(gettext("This rule has no e-mail addresses and no webhook: nothing to test."),
                           field_errors={"rule_id": gettext("This rule has no e-mail addresses and no webhook.")})
    return AlertRule.model_validate(rule.model_dump())


def send_test(rule: AlertRule, settings: Settings) -> list[TestResult]:
    """One test e-mail and/or webhook call now, with the configured timeouts (call it outside any write
    transaction): each channel's result, for a manager to check the SMTP server or the receiver."""
    message = sample_message(rule, settings)
    results = []
    for channel, target in channels_of(rule):
        try:
            send(settings, channel, target, rule, message)
        except notify.DeliveryFailed as exc:
            results.append(TestResult(channel, target, False, str(exc)))
        else:
            results.append(TestResult(channel, target, True, gettext("Sent.")))
    return results
