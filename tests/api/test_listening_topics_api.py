"""JSON API for topics, the "test a text" call, mentions (list and capture), sentiment corrections and
the word lists: 4xx JSON for bad input (bad terms by field, duplicate names 409, unresolvable authors)."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.interactions.models import Interaction
from crm.jobs.service import run_pending
from crm.listening.models import Mention, SentimentLexicon, Topic
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile


def test_topic_crud_and_the_listen_job(manager_client, engine):
    ana = make_profile(engine, "Ana")
    manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "post", "body": "Altavoz is down"})
    created = manager_client.post("/api/v1/topics", json={"name": "Altavoz", "kind": "brand", "terms": ["altavoz"],
                                                          "exclusions": ["altavoz fm"]})
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/topics/{data['id']}"
    assert data["terms"] == ["altavoz"] and data["active"] is True and data["listen_job_id"] is not None
    run_pending(engine)
    got = manager_client.get(f"/api/v1/topics/{data['id']}").json()
    assert got["mentions_7d"] == 1 and got["mentions_30d"] == 1
    assert [t["name"] for t in manager_client.get("/api/v1/topics").json()] == ["Altavoz"]
    patched = manager_client.patch(f"/api/v1/topics/{data['id']}", json={"name": "Altavoz brand"})
    assert patched.status_code == 200 and patched.json()["listen_job_id"] is None
    assert patched.json()["terms"] == ["altavoz"]  # left out: kept
    off = manager_client.patch(f"/api/v1/topics/{data['id']}", json={"active": False}).json()
    assert off["active"] is False and off["listen_job_id"] is None
    on = manager_client.patch(f"/api/v1/topics/{data['id']}", json={"active": True, "terms": ["altavoz", "orbit"]}).json()
    assert on["listen_job_id"] is not None
    assert manager_client.delete(f"/api/v1/topics/{data['id']}").status_code == 204
    assert manager_client.get(f"/api/v1/topics/{data['id']}").status_code == 404
    with Session(engine) as session:
        assert session.exec(select(Mention)).all() == []
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "topic"))]
        assert actions == ["topic.create", "topic.update", "topic.update", "topic.update", "topic.delete"]


def test_bad_topics_are_refused_by_field(manager_client, engine):
    bad = manager_client.post("/api/v1/topics", json={"name": "X", "terms": ["ok", "cr*"], "exclusions": ["!!!"]})
    assert bad.status_code == 422
    fields = {tuple(e["loc"])[-1]: e["msg"] for e in bad.json()["errors"]}
    assert "“cr*”" in fields["terms"] and "“!!!”" in fields["exclusions"]
    assert manager_client.post("/api/v1/topics", json={"name": "X", "terms": []}).status_code == 422
    assert manager_client.post("/api/v1/topics", json={"name": "X", "terms": ["a"] * 2 + [f"w{i}" for i in range(51)]}
                               ).status_code == 422
    assert manager_client.post("/api/v1/topics", json={"name": "X", "terms": ["x1"], "extra": 1}).status_code == 422
    assert manager_client.post("/api/v1/topics", json={"name": "Orbit", "terms": ["orbit"]}).status_code == 201
    duplicate = manager_client.post("/api/v1/topics", json={"name": "orbit", "terms": ["orbit"]})
    assert duplicate.status_code == 409 and duplicate.json()["errors"] == {"name": "There is already a topic called “orbit”."}
    assert manager_client.patch("/api/v1/topics/1", json={"terms": None}).status_code == 422
    assert manager_client.patch("/api/v1/topics/99999", json={"active": False}).status_code == 404
    with Session(engine) as session:
        assert [t.name for t in session.exec(select(Topic))] == ["Orbit"]


def test_test_a_text(viewer_client, engine):
    out = viewer_client.post("/api/v1/topics/test", json={"text": "Quiero un reembolso", "terms": ["refund", "reembolso"]})
    assert out.status_code == 200
    assert out.json() == {"matched": True, "terms": ["reembolso"], "excluded_by": [], "bad_terms": [], "topics": []}
    out = viewer_client.post("/api/v1/topics/test", json={"text": "x", "terms": ["cr*"]}).json()
    assert not out["matched"] and out["bad_terms"]
    assert viewer_client.post("/api/v1/topics/test", json={"text": ""}).status_code == 422


def test_mentions_capture_list_and_correct(manager_client, engine):
    manager_client.post("/api/v1/topics", json={"name": "App", "terms": ["app"]})
    new = manager_client.post("/api/v1/mentions", json={
        "url": "https://x.com/zoe/status/5", "text": "The app is terrible", "platform": "x", "handle": "@Zoe", "reach": 300})
    assert new.status_code == 201, new.text
    body = new.json()
    assert body["person_created"] is True and [t["name"] for t in body["topics"]] == ["App"]
    with Session(engine) as session:
        assert session.exec(select(Identity.handle_key)).all() == ["zoe"]
        assert session.get(Profile, body["profile_id"]).status == "prospect"
    again = manager_client.post("/api/v1/mentions", json={
        "url": "https://x.com/zoe/status/6", "text": "app again, awful", "platform": "x", "handle": "zoe"}).json()
    assert again["profile_id"] == body["profile_id"] and again["person_created"] is False
    refused = manager_client.post("/api/v1/mentions", json={"url": "https://x.com/a/status/1", "text": "app"})
    assert refused.status_code == 422 and "author" in refused.json()["errors"]
    listing = manager_client.get("/api/v1/mentions?sentiment=negative&per_page=1").json()
    assert listing["total"] == 2 and listing["pages"] == 2 and len(listing["items"]) == 1
    first = listing["items"][0]
    assert first["interaction_id"] == again["interaction_id"] and first["sentiment_source"] == "estimated"
    assert first["estimate_words"] == [["awful", -3]] and first["topics"][0]["term"] == "app"
    corrected = manager_client.put(f"/api/v1/interactions/{again['interaction_id']}/sentiment", json={"sentiment": "neutral"})
    assert corrected.status_code == 200
    assert corrected.json()["sentiment"] == 0.0 and corrected.json()["sentiment_source"] == "corrected"
    assert manager_client.put("/api/v1/interactions/99999/sentiment", json={"sentiment": "neutral"}).status_code == 404
    assert manager_client.put(f"/api/v1/interactions/{again['interaction_id']}/sentiment",
                              json={"sentiment": 0.3}).status_code == 422
    assert manager_client.get("/api/v1/mentions?sentiment=neutral").json()["total"] == 1
    assert manager_client.get("/api/v1/mentions?estimated=true").json()["total"] == 1
    with Session(engine) as session:
        assert session.get(Interaction, again["interaction_id"]).sentiment_source == "corrected"


def test_word_lists(manager_client, engine):
    got = manager_client.get("/api/v1/sentiment-words/es").json()
    assert got["edited"] is False and got["words"]["odio"] == -3
    bad = manager_client.put("/api/v1/sentiment-words/en", json={"words": {"ok": 2, "two words": 1, "zero": 0, "big": 9}})
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"words.two words", "words.zero", "words.big"}
    saved = manager_client.put("/api/v1/sentiment-words/en", json={"words": {"Meh": -1, "terribl*": -3}})
    assert saved.status_code == 200 and saved.json()["words"] == {"terribl*": -3, "meh": -1} and saved.json()["edited"]
    assert manager_client.get("/api/v1/sentiment-words/fr").status_code == 404
    assert manager_client.put("/api/v1/sentiment-words/fr", json={"words": {}}).status_code == 404
    with Session(engine) as session:
        assert session.exec(select(SentimentLexicon.language)).all() == ["en"]


def test_a_viewer_reads_but_cannot_write(viewer_client, engine):
    assert viewer_client.get("/api/v1/topics").status_code == 200
    assert viewer_client.get("/api/v1/mentions").json()["total"] == 0
    assert viewer_client.post("/api/v1/topics", json={"name": "X", "terms": ["x1"]}).status_code == 403
    assert viewer_client.put("/api/v1/sentiment-words/en", json={"words": {}}).status_code == 403
    assert viewer_client.put("/api/v1/interactions/1/sentiment", json={"sentiment": "neutral"}).status_code == 403
    assert viewer_client.post("/api/v1/mentions", json={"url": "https://a.example/", "text": "x"}).status_code == 403


def test_importing_posts_by_unknown_authors_adds_them_as_prospects_with_their_mentions(manager_client, engine):
    import json
    import time

    from crm.jobs import service as jobs

    manager_client.post("/api/v1/topics", json={"name": "App", "terms": ["app"]})
    content = (b"id;author;network;type;date;text\n"
               b"p1;newbie;x;post;2026-03-04T10:00:00+01:00;the app crashed again\n"
               b"p2;other;x;post;2026-03-04T11:00:00+01:00;lunch\n")
    mapping = {"external_id": "id", "person_handle": "author", "person_platform": "network", "kind": "type",
               "occurred_at": "date", "body": "text"}
    started = manager_client.post("/api/v1/imports", data={"entity": "interactions", "source": "x-posts",
                                                           "mapping": json.dumps(mapping)},
                                  files={"file": ("posts.csv", content, "text/csv")})
    assert started.status_code == 202, started.text
    for _ in range(200):
        jobs.run_pending(engine)
        status = manager_client.get(f"/api/v1/imports/{started.json()['id']}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status["status"] == "done" and status["counts"]["people_created"] == 2, status
    with Session(engine) as session:
        people = {p.display_name: p for p in session.exec(select(Profile))}
        assert {name: p.status for name, p in people.items()} == {"newbie": "prospect", "other": "prospect"}
        assert session.exec(select(Identity.platform, Identity.handle_key).where(
            Identity.profile_id == people["newbie"].id)).all() == [("x", "newbie")]
        assert session.exec(select(Mention.profile_id)).all() == [people["newbie"].id]
    mentions = manager_client.get("/api/v1/mentions").json()["items"]
    assert [(m["person"], m["sentiment_source"]) for m in mentions] == [("newbie", "estimated")]
