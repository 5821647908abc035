"""Alert delivery on a real database (SQLite and PostgreSQL): scheduling, claims that survive a killed
worker, daily digests, the `deliver` job through the job table, retry now, and the listening tick.
Helpers here (seed_alerts, Receiver) are shared with test_smtp.py, test_webhooks.py and the web tests."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from crm.db import session_scope
from crm.interactions.models import Interaction
from crm.jobs import service as jobs
from crm.jobs.models import Job, JobStatus
from crm.listening import delivery, notify
from crm.listening.models import Alert, AlertDelivery, AlertRule, AlertStatus, DeliveryStatus, Mention, Topic
from crm.listening.schedule import combined_tick, listening_tick
from crm.profiles.models import Profile
from crm.settings import Settings
from tests.factories import make_profile

T0 = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
SECRET = "rule-secret-123"


def delivery_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"_env_file": None, "database_url": "sqlite://", "webhook_allow_private": True,
                            "webhook_timeout_seconds": 2, "smtp_timeout_seconds": 2, "delivery_max_attempts": 3,
                            "delivery_backoff_seconds": 60, "public_url": "https://crm.example.com/"}
    return Settings(**{**base, **overrides})


@dataclass
class Seeded:
    rule_id: int
    alert_ids: list[int]
    topic_id: int
    profile_ids: list[int] = field(default_factory=list)


def seed_alerts(engine: Engine, *, alerts: int = 1, digest: bool = False, email_to: Sequence[str] = (),
                webhook_url: str = "", fired_at: datetime = T0, statuses: Sequence[str] = ()) -> Seeded:
    """A topic, two people (a champion with reach and a stranger, both with an e-mail address and a private
    note that must never be sent), their mentions, a rule and `alerts` alerts an hour apart."""
    champion = make_profile(engine, "Carla Champion", bio="secret note about Carla",
                            identities=[{"platform": "email", "handle": "carla@private.example"}])
    stranger = make_profile(engine, "Sam Stranger", bio="secret note about Sam",
                            identities=[{"platform": "email", "handle": "sam@private.example"}])
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == champion.id).values(level=1, reach=52000))  # type: ignore[arg-type]
        session.execute(update(Profile).where(Profile.id == stranger.id).values(reach=300))  # type: ignore[arg-type]
        topic = Topic(name="Acme Phone", terms=["acme"])
        session.add(topic)
        session.flush()
        mention_ids = []
        for i, (who, text) in enumerate([(champion.id, "The Acme phone broke again, refund please"),
                                         (champion.id, "Acme support ignores me"),
                                         (stranger.id, "acme is awful")]):
            x = Interaction(profile_id=who, kind="complaint", channel="x", url=f"https://x.example/post/{i}",
                            body=text, occurred_at=fired_at - timedelta(hours=2, minutes=i), sentiment=-0.8)
            session.add(x)
            session.flush()
            m = Mention(interaction_id=x.id, topic_id=topic.id, profile_id=who, occurred_at=x.occurred_at, term="acme")
            session.add(m)
            session.flush()
            mention_ids.append(m.id)
        rule = AlertRule(name="Acme complaints", topic_id=topic.id, digest=digest, email_to=list(email_to),
                         webhook_url=webhook_url, webhook_secret=SECRET)
        session.add(rule)
        session.flush()
        ids = []
        for n in range(alerts):
            at = fired_at + timedelta(hours=n)
            alert = Alert(rule_id=rule.id, topic_id=topic.id, fired_at=at, window_start=at - timedelta(hours=24),
                          observed=3, expected=0.5, p_value=0.0014, mention_ids=mention_ids,
                          status=statuses[n] if n < len(statuses) else AlertStatus.new.value)
            session.add(alert)
            session.flush()
            ids.append(int(alert.id or 0))
        return Seeded(int(rule.id or 0), ids, int(topic.id or 0), [int(champion.id or 0), int(stranger.id or 0)])


def schedule_now(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine, write=True) as session:
        delivery.schedule(session.connection(), seeded.rule_id, seeded.alert_ids)


def deliveries(engine: Engine) -> list[AlertDelivery]:
    with Session(engine) as session:
        return list(session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))  # type: ignore[arg-type]


def due_everything(engine: Engine) -> None:
    """Make every pending delivery due at T0 (they were scheduled at the real now)."""
    with session_scope(engine, write=True) as session:
        session.execute(update(AlertDelivery).values(next_attempt_at=T0))


# ---- a real HTTP receiver --------------------------------------------------------------------


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


class Receiver:
    """http.server in a thread on 127.0.0.1: records every POST and answers with the next planned status
    (200 when the plan runs out); `hang` makes it never answer."""

    def __init__(self, plan: Sequence[int] = (), *, hang: bool = False) -> None:
        self.plan = list(plan)
        self.hang = hang
        self.received: list[Received] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
                if outer.hang:
                    outer.release.wait(10)
                    return
                status = outer.plan.pop(0) if outer.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def receivers() -> Iterator[Callable[..., Receiver]]:
    """The body of a `receiver` fixture: make receivers, all shut down at the end."""
    made: list[Receiver] = []

    def make(plan: Sequence[int] = (), *, hang: bool = False) -> Receiver:
        r = Receiver(plan, hang=hang).__enter__()
        made.append(r)
        return r

    yield make
    for r in made:
        r.__exit__()


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


# ---- scheduling ------------------------------------------------------------------------------


def test_schedule_makes_one_pending_delivery_per_channel_and_one_job(engine):
    seeded = seed_alerts(engine, alerts=2, email_to=["ops@example.com", "cm@example.com"], webhook_url="https://hooks.example.com/a")
    schedule_now(engine, seeded)
    schedule_now(engine, seeded)  # again: more deliveries, but still one queued job
    rows = deliveries(engine)
    assert [(d.channel, d.target, d.status, d.attempts) for d in rows[:2]] == [
        ("email", "ops@example.com, cm@example.com", "pending", 0), ("webhook", "https://hooks.example.com/a", "pending", 0)]
    assert all(d.alert_ids == seeded.alert_ids and d.next_attempt_at is not None for d in rows)
    assert len(rows) == 4
    with Session(engine) as session:
        queued = list(session.scalars(select(Job).where(Job.kind == "deliver")))  # type: ignore[arg-type]
    assert [(j.status, j.title) for j in queued] == [(JobStatus.queued.value, "Deliver alerts")]


def test_a_digest_rule_or_a_rule_without_channels_gets_nothing_at_once(engine):
    digest = seed_alerts(engine, digest=True, email_to=["ops@example.com"])
    schedule_now(engine, digest)
    with session_scope(engine, write=True) as session:
        session.execute(update(AlertRule).values(digest=False, email_to=[]))
    schedule_now(engine, digest)
    assert deliveries(engine) == []


# ---- the claim: never twice, taken again after a dead worker ---------------------------------


def test_two_workers_never_claim_one_delivery(engine):
    schedule_now(engine, seed_alerts(engine, webhook_url="https://hooks.example.com/a"))
    due_everything(engine)
    (d,) = deliveries(engine)
    assert delivery.claim(engine, d.id, now=T0) is True
    assert delivery.claim(engine, d.id, now=T0) is False  # the other worker loses
    (after,) = deliveries(engine)
    assert after.attempts == 1 and after.next_attempt_at == T0 + timedelta(seconds=delivery.CLAIM_SECONDS)


def test_a_killed_worker_s_claim_is_taken_again_after_the_timeout_and_sent_once(engine, receiver):
    hook = receiver()
    seeded = seed_alerts(engine, webhook_url=hook.url)
    schedule_now(engine, seeded)
    due_everything(engine)
    (d,) = deliveries(engine)
    assert delivery.claim(engine, d.id, now=T0)  # ...and the worker dies before sending
    settings = delivery_settings()
    assert delivery.deliver_due(engine, settings, now=T0 + timedelta(minutes=5)).handled == 0  # still claimed
    assert hook.received == []
    later = T0 + timedelta(seconds=delivery.CLAIM_SECONDS + 1)
    assert delivery.deliver_due(engine, settings, now=later).sent == 1
    assert delivery.deliver_due(engine, settings, now=later + timedelta(hours=1)).handled == 0
    assert len(hook.received) == 1
    (sent,) = deliveries(engine)
    assert (sent.status, sent.attempts, sent.sent_at, sent.next_attempt_at) == ("sent", 2, later, None)


# ---- e-mail off, messages --------------------------------------------------------------------


def test_email_off_is_recorded_as_undelivered_with_the_reason(engine):
    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com"]))
    due_everything(engine)
    outcome = delivery.deliver_due(engine, delivery_settings(smtp_host=""), now=T0)
    assert (outcome.sent, outcome.undelivered) == (0, 1)
    (d,) = deliveries(engine)
    assert d.status == DeliveryStatus.undelivered.value and d.last_error == "E-mail is off: set CRM_SMTP_HOST"


def test_the_message_names_who_is_talking_but_no_addresses_or_notes(engine):
    seeded = seed_alerts(engine, alerts=1, webhook_url="https://hooks.example.com/a")
    with Session(engine) as session:
        rule = session.execute(select(AlertRule.__table__)).one()  # type: ignore[attr-defined]
        message = delivery.build_message(session.connection(), rule, seeded.alert_ids, delivery_settings())
    assert message.subject == "[Altavoz] Spike: Acme Phone — 3 mentions (expected 0.5)"
    payload = message.payload
    assert payload["event"] == "alert.fired" and payload["rule"] == {"id": seeded.rule_id, "name": "Acme complaints"}
    (alert,) = payload["alerts"]
    assert (alert["id"], alert["topic"]["name"], alert["observed"], alert["expected"], alert["p_value"]) == (
        seeded.alert_ids[0], "Acme Phone", 3, 0.5, 0.0014)
    assert alert["people"][0] == {"name": "Carla Champion", "standing": "champion", "reach": 52000, "mentions": 2}
    assert alert["people"][1]["name"] == "Sam Stranger"
    assert {m["url"] for m in alert["mentions"]} == {f"https://x.example/post/{i}" for i in range(3)}
    assert alert["link"] == "https://crm.example.com/listening/alerts"
    everything = json.dumps(payload) + message.text
    assert "private.example" not in everything and "secret note" not in everything
    assert "Carla Champion (Champion, reach 52,000): 2 mentions" in message.text
    assert "https://crm.example.com/listening/alerts" in message.text


# ---- digests ---------------------------------------------------------------------------------


def test_three_alerts_in_a_day_make_one_digest_delivery_per_channel(engine):
    seeded = seed_alerts(engine, alerts=4, digest=True, email_to=["ops@example.com"], webhook_url="https://hooks.example.com/a",
                         statuses=["new", "seen", "new", "expected"])
    schedule_now(engine, seeded)  # a digest rule: nothing at once
    assert deliveries(engine) == []
    assert delivery.make_digests(engine, now=T0 + timedelta(hours=5)) == []  # the day is not over
    next_day = datetime(2026, 3, 11, 0, 5, tzinfo=UTC)
    made = delivery.make_digests(engine, now=next_day)
    assert len(made) == 2
    assert delivery.make_digests(engine, now=next_day + timedelta(minutes=1)) == []  # once
    rows = deliveries(engine)
    assert [(d.channel, d.alert_ids, str(d.digest_day)) for d in rows] == [
        ("email", seeded.alert_ids[:3], "2026-03-10"), ("webhook", seeded.alert_ids[:3], "2026-03-10")]
    with Session(engine) as session:
        rule = session.execute(select(AlertRule.__table__)).one()  # type: ignore[attr-defined]
        message = delivery.build_message(session.connection(), rule, rows[1].alert_ids, delivery_settings(),
                                         digest_day=rows[1].digest_day)
    assert message.subject == "[Altavoz] Daily digest: Acme complaints — 3 alerts on 2026-03-10"
    assert message.payload["event"] == "alert.digest" and len(message.payload["alerts"]) == 3


def test_a_day_without_alerts_makes_no_digest(engine):
    seed_alerts(engine, alerts=0, digest=True, email_to=["ops@example.com"])
    assert delivery.make_digests(engine, now=T0 + timedelta(days=1)) == []


# ---- the job, retry now, the tick ------------------------------------------------------------


def test_the_deliver_job_runs_through_the_job_table(engine, receiver, monkeypatch):
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_PRIVATE", "true")  # the job builds its own Settings()
    hook = receiver()
    schedule_now(engine, seed_alerts(engine, webhook_url=hook.url))
    assert jobs.run_pending(engine) == 1
    (d,) = deliveries(engine)
    assert (d.status, d.attempts) == ("sent", 1) and len(hook.received) == 1
    with Session(engine) as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "deliver"))  # type: ignore[arg-type]
    assert job.status == "done" and job.counts == {"sent": 1, "retrying": 0, "undelivered": 0}
    assert jobs.run_pending(engine) == 0


def test_retry_now_makes_an_undelivered_delivery_due_and_queues_the_job(engine):
    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com"]))
    due_everything(engine)
    delivery.deliver_due(engine, delivery_settings(smtp_host=""), now=T0)
    with Session(engine) as session:
        session.execute(update(Job).values(status="done"))
        session.commit()
    (d,) = deliveries(engine)
    with session_scope(engine, write=True) as session:
        delivery.retry_now(d.id, session=session, now=T0 + timedelta(hours=1))
    (again,) = deliveries(engine)
    assert (again.status, again.next_attempt_at) == ("pending", T0 + timedelta(hours=1))
    with Session(engine) as session:
        assert session.scalars(select(Job).where(Job.kind == "deliver", Job.status == "queued")).first()  # type: ignore[arg-type]


def test_retry_now_refuses_a_sent_delivery(engine):
    from crm.errors import InvalidInput, NotFound

    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com"]))
    with session_scope(engine, write=True) as session:
        session.execute(update(AlertDelivery).values(status="sent"))
    (d,) = deliveries(engine)
    with session_scope(engine, write=True) as session, pytest.raises(InvalidInput):
        delivery.retry_now(d.id, session=session)
    with session_scope(engine, write=True) as session, pytest.raises(NotFound):
        delivery.retry_now(d.id + 100, session=session)


def test_the_tick_queues_deliver_when_a_retry_is_due(engine):
    schedule_now(engine, seed_alerts(engine, webhook_url="https://hooks.example.com/a"))
    with session_scope(engine, write=True) as session:
        session.execute(update(Job).values(status="done"))
        session.execute(update(AlertDelivery).values(next_attempt_at=datetime.now(UTC) + timedelta(minutes=5)))
    assert delivery.queue_if_due(engine) is None  # the wait is not over
    with session_scope(engine, write=True) as session:
        session.execute(update(AlertDelivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    job_id = delivery.queue_if_due(engine)
    assert job_id is not None and delivery.queue_if_due(engine) == job_id  # one queued job, not two


def test_listening_tick_runs_each_step_even_when_one_fails(engine, monkeypatch):
    from crm.listening import alerts, report

    calls: list[str] = []

    def broken(engine: Engine, **kw: Any) -> list[int]:
        calls.append("evaluate")
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(alerts, "evaluate_due", broken)
    monkeypatch.setattr(report, "send_due", lambda engine, settings, **kw: calls.append("report") or 0)
    seeded = seed_alerts(engine, alerts=3, digest=True, webhook_url="https://hooks.example.com/a",
                         fired_at=datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1, hours=3))
    out = listening_tick(engine, delivery_settings())()
    assert calls == ["evaluate", "report"]
    assert isinstance(out["evaluate"], RuntimeError) and out["reports"] == 0  # type: ignore[index]
    assert len(out["digests"]) == 1 and out["deliver"] is not None  # type: ignore[index]
    (d,) = deliveries(engine)
    assert d.alert_ids and set(d.alert_ids) <= set(seeded.alert_ids)


def test_listening_tick_with_the_real_steps(engine):
    out = listening_tick(engine, delivery_settings())()
    assert out["evaluate"] == [] and out["digests"] == [] and out["deliver"] is None  # type: ignore[index]
    assert not isinstance(out["reports"], Exception)  # type: ignore[index]


def test_combined_tick_runs_rank_then_listening_even_if_rank_fails():
    order: list[str] = []

    def rank() -> None:
        order.append("rank")
        raise RuntimeError("busy")

    out = combined_tick(rank, lambda: order.append("listening") or "ok")()
    assert order == ["rank", "listening"] and out[1] == "ok"  # type: ignore[index]


def test_send_test_reports_each_channel(engine, receiver):
    hook = receiver([500])
    seed_alerts(engine, email_to=["ops@example.com"], webhook_url=hook.url)
    with Session(engine) as session:
        rule = delivery.rule_for_test(1, session=session)
    results = delivery.send_test(rule, delivery_settings(smtp_host=""))
    assert [(r.channel, r.ok) for r in results] == [("email", False), ("webhook", False)]
    assert "E-mail is off" in results[0].detail and "answered 500" in results[1].detail
    results = delivery.send_test(rule, delivery_settings(smtp_host=""))
    assert results[1].ok and json.loads(hook.received[-1].body)["event"] == "alert.test"
    assert notify.verify_signature(SECRET, hook.received[-1].headers["x-altavoz-timestamp"], hook.received[-1].body,
                                   hook.received[-1].headers["x-altavoz-signature"])
