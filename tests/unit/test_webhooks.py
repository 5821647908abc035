"""Signed webhooks against a real local HTTP server (http.server in a thread): the receiver verifies the
signature, a tampered body fails, 500 twice then 200 is sent on the third attempt, a receiver that never
answers ends undelivered, and private addresses are refused unless allowed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from crm.listening import delivery, notify
from tests.unit.test_delivery import (
    SECRET,
    T0,
    Receiver,
    deliveries,
    delivery_settings,
    due_everything,
    receivers,
    schedule_now,
    seed_alerts,
)


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


def test_the_receiver_verifies_the_signature_and_a_tampered_body_fails(engine, receiver):
    hook = receiver()
    seeded = seed_alerts(engine, webhook_url=hook.url)
    schedule_now(engine, seeded)
    due_everything(engine)
    assert delivery.deliver_due(engine, delivery_settings(), now=T0).sent == 1
    (got,) = hook.received
    stamp, signature = got.headers["x-altavoz-timestamp"], got.headers["x-altavoz-signature"]
    assert got.headers["content-type"] == "application/json" and signature.startswith("sha256=")
    assert notify.verify_signature(SECRET, stamp, got.body, signature)
    tampered = got.body.replace(b'"observed":3', b'"observed":4')
    assert tampered != got.body and not notify.verify_signature(SECRET, stamp, tampered, signature)
    assert not notify.verify_signature("another-secret", stamp, got.body, signature)
    payload = json.loads(got.body)
    assert payload["event"] == "alert.fired" and payload["alerts"][0]["id"] == seeded.alert_ids[0]
    assert payload["alerts"][0]["people"][0]["name"] == "Carla Champion"


def test_500_twice_then_200_is_sent_on_the_third_attempt(engine, receiver):
    hook = receiver([500, 500, 200])
    schedule_now(engine, seed_alerts(engine, webhook_url=hook.url))
    due_everything(engine)
    settings = delivery_settings(delivery_max_attempts=5, delivery_backoff_seconds=30)
    now = T0
    for wait, expected in ((30, "pending"), (60, "pending"), (None, "sent")):
        delivery.deliver_due(engine, settings, now=now)
        (d,) = deliveries(engine)
        assert d.status == expected
        if wait is not None:
            assert d.next_attempt_at == now + timedelta(seconds=wait) and d.last_error.endswith("answered 500")
            now = d.next_attempt_at
    assert (d.attempts, d.last_error, d.sent_at) == (3, "", now)
    assert len(hook.received) == 3


def test_a_receiver_that_never_answers_ends_undelivered_after_the_last_attempt(engine, receiver):
    hook = receiver(hang=True)
    schedule_now(engine, seed_alerts(engine, webhook_url=hook.url))
    due_everything(engine)
    settings = delivery_settings(webhook_timeout_seconds=0.3, delivery_max_attempts=2, delivery_backoff_seconds=0)
    assert delivery.deliver_due(engine, settings, now=T0).retrying == 1
    assert delivery.deliver_due(engine, settings, now=T0).undelivered == 1
    (d,) = deliveries(engine)
    assert (d.status, d.attempts) == ("undelivered", 2) and "did not answer" in d.last_error
    assert len(hook.received) == 2


def test_a_private_address_is_refused_when_the_setting_is_off(engine, receiver):
    hook = receiver()
    schedule_now(engine, seed_alerts(engine, webhook_url=hook.url))
    due_everything(engine)
    delivery.deliver_due(engine, delivery_settings(webhook_allow_private=False, delivery_max_attempts=1), now=T0)
    (d,) = deliveries(engine)
    assert d.status == "undelivered" and "private or local address" in d.last_error
    assert hook.received == []
