"""What an attack on the running demo found in listening and signals, kept fixed: a reused interaction id
swapped a report quote for someone else's words; editing a topic emptied "who is talking" on its alerts;
deleting a topic took its alert rules and alerts along; bad webhook ports, far dates and a far `until`
answered 500; signals could be routed to viewers; deleting a department dropped open signals out of
every queue; non-consenting people were named in the report's drivers; webhook paths (credentials, for
many services) were shown to everyone; the radar's "negative" could disagree between two topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.jobs import service as jobs
from crm.listening import match, report
from crm.listening.models import Mention, ReportPeriod, Topic
from tests.factories import make_profile, make_user


def _topic(engine, name: str, terms: list[str]) -> int:
    with session_scope(engine, write=True) as s:
        topic = Topic(name=name, terms=terms)
        s.add(topic)
        s.flush()
        return topic.id or 0


def _say(engine, person: int, text: str, **fields) -> int:
    with session_scope(engine, write=True) as s:
        return log.log_interaction(person, InteractionIn(kind=fields.pop("kind", "post"), title=text, **fields),
                                   session=s, actor=SYSTEM).id or 0


def _mentions(engine) -> dict[tuple[int, int], tuple[int, bool]]:
    with session_scope(engine) as s:
        return {(m.interaction_id, m.topic_id): (m.id, m.negative) for m in s.scalars(select(Mention))}


def test_mentions_keep_their_ids_when_a_topic_is_matched_again(manager_client, engine):
    person = make_profile(engine, "Ana").id
    topic = _topic(engine, "Orbit", ["orbit"])
    said = _say(engine, person, "Orbit is down again")
    before = _mentions(engine)
    assert (said, topic) in before
    response = manager_client.patch(f"/api/v1/topics/{topic}", json={"exclusions": ["zzzz"]})
    assert response.status_code == 200, response.text
    jobs.run_pending(engine)
    assert _mentions(engine) == before  # the same row: alerts that list it still find it


def test_negative_follows_the_interaction_on_every_topic(engine):
    person = make_profile(engine, "Ana").id
    first, second = _topic(engine, "Orbit", ["orbit"]), _topic(engine, "Nimbo", ["nimbo"])
    said = _say(engine, person, "Orbit and Nimbo")  # no listed word: no estimate, not negative
    assert not _mentions(engine)[(said, first)][1]
    with session_scope(engine, write=True) as s:  # the text changes behind the matcher's back...
        s.get_one(Interaction, said).title = "Orbit and Nimbo are terrible"
    with session_scope(engine, write=True) as s:  # ...and only one topic is matched again
        conn = s.connection()
        rows = conn.execute(select(*match._COLUMNS).where(match.X.c.id == said)).all()
        match.match_rows(conn, rows, match.matcher(conn, [first]), match.lexicons(conn), topic_ids=[first])
    found = _mentions(engine)
    assert found[(said, first)][1] and found[(said, second)][1]


def test_deleting_a_topic_watched_by_a_rule_is_refused(manager_client, engine):
    topic = _topic(engine, "Orbit", ["orbit"])
    rule = manager_client.post("/api/v1/alert-rules", json={"name": "Orbit spikes", "topic_id": topic})
    assert rule.status_code == 201, rule.text
    refused = manager_client.delete(f"/api/v1/topics/{topic}")
    assert refused.status_code == 409 and "Orbit spikes" in refused.text
    assert manager_client.get(f"/api/v1/alert-rules/{rule.json()['id']}").status_code == 200


def test_bad_input_is_a_4xx_not_a_500(manager_client, engine):
    for url in ("http://example.com:99999/", "http://example.com:abc/", "http://[::1/"):
        response = manager_client.post("/api/v1/alert-rules", json={"name": "x", "webhook_url": url})
        assert response.status_code == 422, (url, response.status_code)
    for when in ("1800-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        response = manager_client.post("/api/v1/mentions", json={
            "url": "https://x.example/1", "text": "hello", "platform": "x", "handle": "someone", "occurred_at": when})
        assert response.status_code == 422, (when, response.status_code)
    assert manager_client.get("/api/v1/mentions?until=9999-12-31").status_code == 422
    assert manager_client.get("/listening/mentions?until=9999-12-31").status_code in (200, 422)


def test_signals_go_to_people_who_can_act(manager_client, engine):
    viewer = make_user(engine, "v@example.com", role="viewer")
    person = make_profile(engine, "Ana", owner_id=viewer.id).id
    suggestion = manager_client.get(f"/api/v1/signals/suggest-owner?profile_id={person}").json()
    assert suggestion.get("user_id") != viewer.id
    said = _say(engine, person, "It crashes", kind="complaint")
    created = manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "Crash",
                                                           "interaction_ids": [said], "owner_id": viewer.id})
    assert created.status_code == 422 and "owner_id" in created.text


def test_a_department_with_open_signals_is_not_deleted(manager_client, engine):
    person = make_profile(engine, "Ana").id
    said = _say(engine, person, "It crashes", kind="complaint")
    signal = manager_client.post("/api/v1/signals", json={"type": "complaint", "title": "Crash",
                                                          "interaction_ids": [said]}).json()
    department = signal["department_id"]
    page = manager_client.post(f"/signals/departments/{department}/delete", follow_redirects=False)
    assert page.status_code == 409
    assert manager_client.get(f"/api/v1/signals/{signal['id']}").json()["department_id"] == department


def test_a_reused_interaction_id_is_not_the_quote_that_was_picked(engine):
    person = make_profile(engine, "Ana", may_feature=True).id
    other = make_profile(engine, "Bruno", may_feature=True).id
    _topic(engine, "Nimbo", ["nimbo"])
    now = utcnow()
    said = _say(engine, person, "Nimbo support fixed my issue", occurred_at=now - timedelta(minutes=5))
    period = report.period_containing(ReportPeriod.month, now.date())
    with session_scope(engine, write=True) as s:
        report.update(period, report.ReportIn(quote_ids=[said]), session=s, actor=SYSTEM)
    with session_scope(engine, write=True) as s:
        s.delete(s.get_one(Interaction, said))
    with session_scope(engine, write=True) as s:  # a new interaction takes the same id (as SQLite may hand out)
        s.add(Interaction(id=said, profile_id=other, kind="post", title="Nimbo is the worst vendor",
                          occurred_at=now - timedelta(minutes=1), created_at=datetime.now(UTC) + timedelta(seconds=1)))
    with session_scope(engine) as s:
        shown = report.report(period, session=s)
    assert shown.quotes == [] and shown.dropped_quotes == 1


def test_people_who_did_not_agree_to_be_featured_are_not_named_in_the_drivers(engine):
    shy = make_profile(engine, "Shy Person", may_feature=False, roles=["customer"]).id
    _topic(engine, "Nimbo", ["nimbo"])
    now = utcnow()
    _say(engine, shy, "Nimbo again", occurred_at=now - timedelta(minutes=5))
    with session_scope(engine) as s:
        shown = report.report(report.period_containing(ReportPeriod.month, now.date()), session=s)
    names = [d.name for d in shown.people_by_mentions]
    assert "Shy Person" not in names and names and shown.people_by_mentions[0].profile_id is None


def test_webhook_paths_are_not_shown(manager_client, engine):
    response = manager_client.post("/api/v1/alert-rules", json={
        "name": "Hook", "webhook_url": "https://8.8.8.8/services/T000/B000/secretpart"})
    assert response.status_code == 201, response.text
    listed = manager_client.get("/api/v1/alert-rules").text
    assert "secretpart" not in listed and "https://8.8.8.8/…" in listed
