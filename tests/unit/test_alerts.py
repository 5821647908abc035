"""Live spike evaluation on constructed series with known spikes (one at a few mentions a day, one from
nothing): evaluate_due finds exactly those, never on estimated negatives alone, with cooldown, campaign-
expected spikes, idempotent re-runs and two workers at once; rule validation, the acted-on rate and
unread counts."""

from __future__ import annotations

import sys
import threading
import types
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select, update

import crm.listening
from crm.audit.service import SYSTEM
from crm.campaigns.models import Campaign
from crm.db import session_scope
from crm.errors import InvalidInput
from crm.interactions.models import Interaction
from crm.listening import alerts
from crm.listening.models import Alert, AlertRule, AlertStatus, Mention, Topic
from tests.factories import make_profile, make_user

T0 = datetime(2026, 3, 1, tzinfo=UTC)  # day 0 of every constructed history


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


def make_topic(engine: Engine, name: str, terms: list[str] | None = None) -> int:
    with session_scope(engine, write=True) as s:
        topic = Topic(name=name, terms=terms or [name.lower()])
        s.add(topic)
        s.flush()
        return topic.id or 0


def add_mentions(engine: Engine, topic_id: int, times: list[datetime], *, profile_id: int, kind: str = "post",
                 sentiment: float | None = None, source: str = "") -> list[int]:
    """Interactions and their mentions as the matcher would have written them."""
    ids = []
    with session_scope(engine, write=True) as s:
        for moment in times:
            x = Interaction(profile_id=profile_id, kind=kind, occurred_at=moment, title="about it",
                            sentiment=sentiment, sentiment_source=source)
            s.add(x)
            s.flush()
            m = Mention(interaction_id=x.id or 0, topic_id=topic_id, profile_id=profile_id, occurred_at=moment)
            s.add(m)
            s.flush()
            ids.append(m.id or 0)
    return ids


def make_rule(engine: Engine, *, evaluated_through: datetime | None = None, **fields: Any) -> int:
    values = {"name": "Spikes", "window_hours": 24, "baseline_days": 14, "max_p": 0.01, "min_count": 5,
              "cooldown_hours": 24, **fields}
    with session_scope(engine, write=True) as s:
        rule = AlertRule(**values, webhook_secret="s", evaluated_through=evaluated_through)
        s.add(rule)
        s.flush()
        return rule.id or 0


def fired(engine: Engine, rule_id: int | None = None) -> list[tuple[int, datetime, str]]:
    with session_scope(engine) as s:
        query = select(Alert).order_by(Alert.fired_at, Alert.topic_id)  # type: ignore[arg-type]
        if rule_id is not None:
            query = query.where(Alert.rule_id == rule_id)
        return [(a.topic_id, a.fired_at, a.status) for a in s.scalars(query)]


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int]]]:
    """Stand in for crm.listening.delivery (helper C2's) and record what would be delivered."""
    calls: list[tuple[int, list[int]]] = []
    fake = types.ModuleType("crm.listening.delivery")
    fake.schedule = lambda conn, rule_id, alert_ids: calls.append((rule_id, list(alert_ids)))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "crm.listening.delivery", fake)
    monkeypatch.setattr(crm.listening, "delivery", fake, raising=False)
    return calls


@pytest.fixture
def history(engine: Engine) -> dict[str, Any]:
    """Topic "Orbit": one mention a day at 12:30 for 30 days, and a burst of 12 on day 20 between 09:10
    and 09:50. Topic "Quiet": nothing, then 5 mentions on day 22 between 14:05 and 16:45."""
    person = make_profile(engine, "Ana")
    orbit = make_topic(engine, "Orbit")
    quiet = make_topic(engine, "Quiet")
    add_mentions(engine, orbit, [at(d, 12, 30) for d in range(30)], profile_id=person.id or 0)
    burst = add_mentions(engine, orbit, [at(20, 9, 10 + 3 * i) for i in range(12)], profile_id=person.id or 0)
    add_mentions(engine, quiet, [at(22, 14, 5), at(22, 14, 20), at(22, 15, 10), at(22, 15, 30), at(22, 16, 45)],
                 profile_id=person.id or 0)
    return {"orbit": orbit, "quiet": quiet, "burst": burst, "person": person.id}


def test_finds_exactly_the_known_spikes(engine: Engine, history: dict[str, Any],
                                        scheduled: list[tuple[int, list[int]]]) -> None:
    rule = make_rule(engine, min_count=3, evaluated_through=at(18, 0))
    new = alerts.evaluate_due(engine, now=at(25, 0, 30))
    assert fired(engine) == [(history["orbit"], at(20, 10), "new"), (history["quiet"], at(22, 16), "new")]
    assert len(new) == 2
    assert scheduled == []  # found days later, catching up: in the inbox, not pushed by e-mail or webhook
    with session_scope(engine) as s:
        spike = s.scalars(select(Alert).where(Alert.topic_id == history["orbit"])).one()
        assert spike.observed == 13 and spike.window_start == at(19, 10)
        assert spike.expected == pytest.approx(1.0) and spike.p_value < 1e-6
        assert set(history["burst"]) <= set(spike.mention_ids) and len(spike.mention_ids) == 13
        assert s.get(AlertRule, rule).evaluated_through == at(25, 0)  # type: ignore[union-attr]


def test_a_firing_in_the_latest_window_is_delivered(engine: Engine, history: dict[str, Any],
                                                    scheduled: list[tuple[int, list[int]]]) -> None:
    rule = make_rule(engine, min_count=3, evaluated_through=at(20, 9))
    new = alerts.evaluate_due(engine, now=at(20, 10, 30))
    assert fired(engine) == [(history["orbit"], at(20, 10), "new")]
    assert scheduled == [(rule, new)]


def test_the_low_volume_spike_needs_its_minimum(engine: Engine, history: dict[str, Any],
                                                scheduled: list[tuple[int, list[int]]]) -> None:
    make_rule(engine, topic_id=history["quiet"], min_count=6, evaluated_through=at(18, 0))
    assert alerts.evaluate_due(engine, now=at(25, 0)) == []
    make_rule(engine, name="Lower", topic_id=history["quiet"], min_count=4, evaluated_through=at(18, 0))
    alerts.evaluate_due(engine, now=at(25, 0))
    assert fired(engine) == [(history["quiet"], at(22, 16), "new")]  # 4 by 16:00


def test_catch_up_is_capped_at_a_week(engine: Engine, history: dict[str, Any],
                                      scheduled: list[tuple[int, list[int]]]) -> None:
    make_rule(engine, min_count=3, evaluated_through=at(1, 0))
    alerts.evaluate_due(engine, now=at(29, 12))  # a week back is day 22 12:00: the day-20 burst is not seen
    assert fired(engine) == [(history["quiet"], at(22, 16), "new")]


def test_a_new_rule_starts_at_the_last_hour(engine: Engine, history: dict[str, Any],
                                            scheduled: list[tuple[int, list[int]]]) -> None:
    rule = make_rule(engine, min_count=3)
    assert alerts.evaluate_due(engine, now=at(20, 10, 59)) != []  # evaluates 10:00 only
    assert fired(engine, rule) == [(history["orbit"], at(20, 10), "new")]


def test_estimated_negatives_alone_never_fire(engine: Engine, scheduled: list[tuple[int, list[int]]]) -> None:
    person = make_profile(engine, "Ben").id or 0
    topic = make_topic(engine, "Refunds")
    burst = [at(10, 9, 5 * i) for i in range(10)]
    add_mentions(engine, topic, burst, profile_id=person, sentiment=-0.8, source="estimated")
    add_mentions(engine, topic, [at(10, 9, 2 + 5 * i) for i in range(10)], profile_id=person, sentiment=0.5)
    rule = make_rule(engine, topic_id=topic, negative_only=True, evaluated_through=at(9, 0))
    assert alerts.evaluate_due(engine, now=at(11, 0)) == []
    # The same burst labelled by the source (or a person) does fire; so do complaints without a label.
    add_mentions(engine, topic, [at(12, 9, 5 * i) for i in range(4)], profile_id=person, sentiment=-0.6)
    add_mentions(engine, topic, [at(12, 9, 3 + 5 * i) for i in range(3)], profile_id=person, kind="complaint")
    add_mentions(engine, topic, [at(12, 9, 4 + 5 * i) for i in range(6)], profile_id=person, sentiment=-0.9,
                 source="estimated")
    assert len(alerts.evaluate_due(engine, now=at(13, 0))) == 1
    assert fired(engine, rule) == [(topic, at(12, 10), "new")]  # only the one at 09:00 is in (08:00, 09:00]
    with session_scope(engine, write=True) as s:
        view = alerts.get_alert(s.scalars(select(Alert.id)).one(), session=s, user_id=None)  # type: ignore[call-overload]
        assert view.alert.observed == 7
        assert view.estimated_extra == 6  # "also 6 with an estimated negative label"
        assert len(view.alert.mention_ids) == 7


def test_cooldown(engine: Engine, scheduled: list[tuple[int, list[int]]]) -> None:
    person = make_profile(engine, "Cy").id or 0
    topic = make_topic(engine, "Orbit")
    add_mentions(engine, topic, [at(20, 9, 5 * i) for i in range(8)] + [at(20, 15, 5 * i) for i in range(8)],
                 profile_id=person)
    resting = make_rule(engine, topic_id=topic, cooldown_hours=24, evaluated_through=at(19, 0))
    eager = make_rule(engine, name="Eager", topic_id=topic, cooldown_hours=0, evaluated_through=at(19, 0))
    short = make_rule(engine, name="Short", topic_id=topic, cooldown_hours=5, evaluated_through=at(19, 0))
    alerts.evaluate_due(engine, now=at(21, 0))
    assert [a[1] for a in fired(engine, resting)] == [at(20, 10)]
    # rested 5 hours, then the 24-hour window still holds a burst each time it may fire again
    assert [a[1] for a in fired(engine, short)] == [at(20, 10), at(20, 15), at(20, 20)]
    assert len(fired(engine, eager)) > 2  # every hour while the window holds the burst
    # The cooldown carries across runs: an alert already raised silences the next run too.
    with session_scope(engine, write=True) as s:
        s.execute(update(AlertRule).where(AlertRule.id == resting).values(evaluated_through=at(20, 10)))  # type: ignore[arg-type]
    alerts.evaluate_due(engine, now=at(21, 0))
    assert [a[1] for a in fired(engine, resting)] == [at(20, 10)]


def test_spikes_inside_a_campaign_are_expected(engine: Engine, history: dict[str, Any],
                                               scheduled: list[tuple[int, list[int]]]) -> None:
    with session_scope(engine, write=True) as s:
        launch = Campaign(name="Orbit launch", status="active", keywords=["ORBIT", "launch"],
                          starts_on=date(2026, 3, 20), ends_on=date(2026, 3, 22))
        other = Campaign(name="Unrelated", status="active", keywords=["quietude"], starts_on=date(2026, 3, 1),
                         ends_on=date(2026, 4, 1))
        s.add(launch)
        s.add(other)
        s.flush()
        launch_id = launch.id
    make_rule(engine, min_count=3, evaluated_through=at(18, 0))
    new = alerts.evaluate_due(engine, now=at(25, 0))
    assert fired(engine) == [(history["orbit"], at(20, 10), "expected"), (history["quiet"], at(22, 16), "new")]
    with session_scope(engine) as s:
        expected = s.scalars(select(Alert).where(Alert.status == "expected")).one()
        assert expected.campaign_id == launch_id
        assert s.scalars(select(Alert).where(Alert.status == "new")).one().campaign_id is None
    assert scheduled == []  # found by catching up: neither is pushed (the expected one never would be)
    make_rule(engine, name="Live", min_count=3, evaluated_through=at(20, 9))
    scheduled.clear()
    alerts.evaluate_due(engine, now=at(20, 10, 30))
    assert scheduled == []  # evaluated live, the launch spike is still expected: not delivered
    assert len(new) == 2


def test_a_campaign_does_not_explain_complaints() -> None:
    """More talk during a campaign is expected; more complaints are not: a negative-only rule is never muted."""
    launch = alerts.CampaignDates(id=1, name="Orbit launch", starts_on=at(20, 0).date(), ends_on=at(22, 0).date(),
                                  words=frozenset({"orbit"}))
    key = frozenset({"orbit"})
    assert alerts.expected_by([launch], key, at(21, 10)) == launch
    assert alerts.expected_by([launch], key, at(21, 10), negative_only=True) is None


def test_a_draft_campaign_explains_nothing(engine: Engine, history: dict[str, Any],
                                           scheduled: list[tuple[int, list[int]]]) -> None:
    with session_scope(engine, write=True) as s:
        s.add(Campaign(name="Orbit launch", status="draft", keywords=["orbit"], starts_on=date(2026, 3, 20),
                       ends_on=date(2026, 3, 22)))
    make_rule(engine, topic_id=history["orbit"], min_count=3, evaluated_through=at(18, 0))
    alerts.evaluate_due(engine, now=at(25, 0))
    assert fired(engine) == [(history["orbit"], at(20, 10), "new")]


def test_idempotent_and_two_workers_at_once(engine: Engine, history: dict[str, Any],
                                            scheduled: list[tuple[int, list[int]]]) -> None:
    rule = make_rule(engine, min_count=3, evaluated_through=at(18, 0))
    first = alerts.evaluate_due(engine, now=at(25, 0))
    assert alerts.evaluate_due(engine, now=at(25, 0)) == []
    # Forget the progress (as if a worker died after the alerts but before the mark): no duplicates.
    with session_scope(engine, write=True) as s:
        s.execute(update(AlertRule).where(AlertRule.id == rule).values(evaluated_through=at(18, 0)))  # type: ignore[arg-type]
    assert alerts.evaluate_due(engine, now=at(25, 0)) == []
    assert len(fired(engine)) == 2
    # Two workers at once on a rule that has not run yet.
    second = make_rule(engine, name="Twin", min_count=3, evaluated_through=at(18, 0))
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(alerts.evaluate_due(engine, now=at(25, 0)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(len(r) for r in results) == [0, 2]
    assert len(fired(engine, second)) == 2 and len(first) == 2


def test_inactive_rules_and_topics_are_skipped(engine: Engine, history: dict[str, Any],
                                               scheduled: list[tuple[int, list[int]]]) -> None:
    make_rule(engine, min_count=3, active=False, evaluated_through=at(18, 0))
    with session_scope(engine, write=True) as s:
        s.execute(update(Topic).where(Topic.id == history["quiet"]).values(active=False))  # type: ignore[arg-type]
    make_rule(engine, name="All", min_count=3, evaluated_through=at(18, 0))
    alerts.evaluate_due(engine, now=at(25, 0))
    assert [a[0] for a in fired(engine)] == [history["orbit"]]


# ---- rules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("window_hours", 0), ("window_hours", 169), ("baseline_days", 0), ("baseline_days", 91), ("max_p", 0),
    ("max_p", 0.5), ("min_count", 0), ("min_count", 10_001), ("cooldown_hours", -1), ("cooldown_hours", 721),
    ("email_to", "not-an-address"), ("email_to", [f"p{i}@example.com" for i in range(21)]), ("name", ""),
])
def test_absurd_values_are_refused_per_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        alerts.AlertRuleIn.model_validate({"name": "R", field: value})
    assert {str(e["loc"][0]) for e in caught.value.errors()} == {field}


def test_the_baseline_must_be_longer_than_the_window() -> None:
    with pytest.raises(ValidationError) as caught:
        alerts.AlertRuleIn.model_validate({"name": "R", "window_hours": 48, "baseline_days": 2})
    assert [e["loc"] for e in caught.value.errors()] == [("baseline_days",)]
    assert alerts.AlertRuleIn.model_validate({"name": "R", "window_hours": 48, "baseline_days": 3}).baseline_days == 3


def test_email_list_is_split_and_deduplicated() -> None:
    rule = alerts.AlertRuleIn.model_validate({"name": "R", "email_to": "a@example.com, b@example.com;A@example.com"})
    assert rule.email_to == ["a@example.com", "b@example.com"]


def test_create_update_rotate_delete_are_audited(engine: Engine) -> None:
    from crm.audit.models import AuditEvent

    topic = make_topic(engine, "Orbit")
    with session_scope(engine, write=True) as s:
        rule, secret = alerts.create_rule(alerts.AlertRuleIn(name="R", topic_id=topic), session=s, actor=SYSTEM,
                                          allow_private=False)
        rule_id = rule.id or 0
        assert len(secret) >= 40 and rule.webhook_secret == secret
    with session_scope(engine, write=True) as s:
        with pytest.raises(InvalidInput) as caught:
            alerts.update_rule(rule_id, alerts.AlertRuleIn(name="R", webhook_url="http://127.0.0.1/hook"),
                               session=s, actor=SYSTEM, allow_private=False)
        assert set(caught.value.field_errors) == {"webhook_url"}
        with pytest.raises(InvalidInput) as caught:
            alerts.update_rule(rule_id, alerts.AlertRulePatch(baseline_days=1), session=s, actor=SYSTEM,
                               allow_private=False, partial=True)
        assert set(caught.value.field_errors) == {"baseline_days"}
        with pytest.raises(InvalidInput) as caught:
            alerts.update_rule(rule_id, alerts.AlertRuleIn(name="R", topic_id=99999), session=s, actor=SYSTEM,
                               allow_private=False)
        assert set(caught.value.field_errors) == {"topic_id"}
    with session_scope(engine, write=True) as s:
        patched = alerts.update_rule(rule_id, alerts.AlertRulePatch(min_count=9), session=s, actor=SYSTEM,
                                     allow_private=True, partial=True)
        assert (patched.min_count, patched.topic_id, patched.webhook_secret) == (9, topic, secret)
        assert alerts.rotate_secret(rule_id, session=s, actor=SYSTEM) != secret
        assert alerts.delete_rule(rule_id, session=s, actor=SYSTEM) == "R"
    with session_scope(engine) as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.object_type == "alert_rule"))]
    assert actions == ["alert.rule_create", "alert.rule_update", "alert.rule_update", "alert.rule_delete"]


def test_acted_on_rate_and_unread(engine: Engine) -> None:
    topic = make_topic(engine, "Orbit")
    rule = make_rule(engine, topic_id=topic)
    user = make_user(engine, "m@example.com").id or 0
    now = at(40, 0)
    statuses = ["acted", "acted", "acted", "dismissed", "dismissed", "new", "seen", "new", "expected"]
    with session_scope(engine, write=True) as s:
        for i, status in enumerate(statuses):
            old = i != 7  # the last "new" is recent: not yet counted against the rule
            moment = now - timedelta(days=10 if old else 1, hours=i)
            s.add(Alert(rule_id=rule, topic_id=topic, fired_at=moment, window_start=moment - timedelta(hours=24),
                        status=status))
    with session_scope(engine) as s:
        row = alerts.rule_stats(session=s, now=now)[rule]
        assert (row.fired, row.expected, row.acted, row.judged) == (8, 1, 3, 7)
        assert row.acted_rate == pytest.approx(3 / 7)
        assert alerts.unread_count(user, session=s) == 8  # expected ones are not news
    with session_scope(engine, write=True) as s:
        ids = list(s.scalars(select(Alert.id).where(Alert.status == "new")))  # type: ignore[call-overload]
        alerts.mark_read(ids[:1], session=s, user_id=user)
        alerts.mark_read(ids[:1], session=s, user_id=user)  # twice is fine
        assert alerts.unread_count(user, session=s) == 7
        alerts.mark_acted(ids[1], session=s, actor=SYSTEM, user_id=user)
    with session_scope(engine) as s:
        acted = s.get(Alert, ids[1])
        assert acted is not None and acted.status == AlertStatus.acted and acted.acted_by_id == user
        assert alerts.unread_count(user, session=s) == 6
        assert alerts.rule_stats(session=s, now=now)[rule].acted == 4


def test_a_mention_on_the_hour_counts_in_the_hour_it_ends(engine: Engine) -> None:
    person = make_profile(engine, "Dee").id or 0
    topic = make_topic(engine, "Orbit")
    add_mentions(engine, topic, [at(3, 10), at(3, 10) + timedelta(microseconds=500), at(3, 9, 59), at(3, 11, 59)],
                 profile_id=person)
    with session_scope(engine) as s:
        times = alerts.mention_times(s.connection(), topic, at(3, 0), at(3, 23), negative_only=False)
    mid = [datetime.fromtimestamp(t, UTC) for t in times]
    assert mid == [at(3, 9, 30), at(3, 9, 30), at(3, 10, 30), at(3, 11, 30)]
    with session_scope(engine) as s:  # (lo, hi]: a mention exactly at lo is out, exactly at hi is in
        assert len(alerts.mention_times(s.connection(), topic, at(3, 10), at(3, 11, 59), negative_only=False)) == 2
