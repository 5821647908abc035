"""Alert e-mail against a REAL local SMTP server (aiosmtpd on 127.0.0.1), and an SMTP server that is down:
retries with a doubling wait, then undelivered, kept with the reason."""

from __future__ import annotations

from datetime import timedelta

from crm.listening import delivery
from tests.local_smtp import free_port
from tests.unit.test_delivery import T0, deliveries, delivery_settings, due_everything, schedule_now, seed_alerts


def test_the_alert_email_arrives_with_the_subject_and_who_is_talking(engine, smtp):
    inbox, port = smtp
    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com", "cm@example.com"]))
    due_everything(engine)
    settings = delivery_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@altavoz.example")
    assert delivery.deliver_due(engine, settings, now=T0).sent == 1
    (rcpts, message), = inbox.messages
    assert rcpts == ["ops@example.com", "cm@example.com"]
    assert message["Subject"] == "[Altavoz] Spike: Acme Phone — 3 mentions (expected 0.5)"
    assert message["From"] == "alerts@altavoz.example"
    body = message.get_content()
    assert "Carla Champion (Champion, reach 52,000): 2 mentions" in body and "Sam Stranger" in body
    assert "https://crm.example.com/listening/alerts" in body and "private.example" not in body
    (d,) = deliveries(engine)
    assert (d.status, d.attempts, d.last_error) == ("sent", 1, "")


def test_smtp_down_retries_with_backoff_then_undelivered_and_kept(engine):
    schedule_now(engine, seed_alerts(engine, email_to=["ops@example.com"]))
    due_everything(engine)
    settings = delivery_settings(smtp_host="127.0.0.1", smtp_port=free_port(), delivery_max_attempts=3,
                                 delivery_backoff_seconds=60)  # nobody listens on that port
    assert delivery.deliver_due(engine, settings, now=T0).retrying == 1
    (d,) = deliveries(engine)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=60))
    assert d.last_error.startswith("SMTP server 127.0.0.1:")
    assert delivery.deliver_due(engine, settings, now=T0 + timedelta(seconds=59)).handled == 0  # not yet
    second = T0 + timedelta(seconds=60)
    assert delivery.deliver_due(engine, settings, now=second).retrying == 1
    (d,) = deliveries(engine)
    assert (d.attempts, d.next_attempt_at) == (2, second + timedelta(seconds=120))  # the wait doubles
    assert delivery.deliver_due(engine, settings, now=second + timedelta(seconds=120)).undelivered == 1
    (d,) = deliveries(engine)
    assert (d.status, d.attempts, d.next_attempt_at) == ("undelivered", 3, None) and "SMTP server" in d.last_error
    assert d.alert_ids  # nothing lost: the delivery and its alerts stay on record
    assert delivery.deliver_due(engine, settings, now=T0 + timedelta(days=1)).handled == 0
