"""The mentions list (filters, sort, badges "estimated" with its words and "corrected"), sentiment
correction in place (audited, viewers get no buttons and a 403), and capturing a mention by hand
(a new prospect with the identity, an existing identity resolved, an unresolvable author refused)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.listening import topics
from crm.listening.models import Mention
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _log(engine, profile_id: int, body: str, *, days_ago: int = 0, **fields) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        item = log.log_interaction(profile_id, InteractionIn.model_validate(
            {"kind": "post", "body": body, "occurred_at": utcnow() - timedelta(days=days_ago), **fields}),
            session=session, actor=SYSTEM)
        return item.id or 0


def _topic(engine, name: str, terms: list[str]) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        topic, _ = topics.create_topic(topics.TopicIn(name=name, terms=terms), session=session, actor=SYSTEM)
        return topic.id or 0


def _setup(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ana = make_profile(engine, "Ana Champion", identities=[{"platform": "x", "handle": "ana", "followers": 900}]).id or 0
    bob = make_profile(engine, "Bob Stranger").id or 0
    app = _topic(engine, "App", ["app", "crash*"])
    rival = _topic(engine, "Rival", ["orbit"])
    return {
        "ana": ana, "bob": bob, "app": app, "rival": rival,
        "angry": _log(engine, bob, "The app crashed again, terrible", days_ago=1, channel="x", reach=5000,
                      url="https://x.com/bob/status/1"),
        "happy": _log(engine, ana, "I love the app and I love Orbit less", days_ago=2, channel="discourse", reach=10,
                      kind="review"),
        "given": _log(engine, ana, "the app today", days_ago=3, channel="x", sentiment=0.0),
        "nothing": _log(engine, ana, "lunch was nice", days_ago=1),
    }


def _rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [tr["id"] for tr in page.select("tr.mention-row")]


def test_the_list_newest_first_with_topics_terms_and_estimated_words(manager_client, engine):
    ids = _setup(engine)
    page = soup(manager_client.get("/listening/mentions"))
    assert page.select_one(".listening-tabs a[aria-current=page]")["href"] == "/listening/mentions"
    assert _rows(page) == [f"mention-{ids[k]}" for k in ("angry", "happy", "given")]  # "nothing" is no mention
    angry = page.select_one(f"#mention-{ids['angry']}")
    assert angry.select_one("a.mention-person")["href"] == f"/people/{ids['bob']}"
    assert [c.get_text() for c in angry.select(".topic-chip")] == ["App"]
    assert angry.select_one(".matched-term").get_text() == "app"
    assert angry.select_one(".source-link")["href"] == "https://x.com/bob/status/1"
    assert angry["data-sentiment"] == "negative"
    assert angry.select_one(".sentiment-estimated") is not None
    assert [w.get_text() for w in angry.select(".estimate-word")] == ["crashed (-2)", "terrible (-3)"]
    happy = page.select_one(f"#mention-{ids['happy']}")
    assert sorted(c.get_text() for c in happy.select(".topic-chip")) == ["App", "Rival"]
    given = page.select_one(f"#mention-{ids['given']}")
    assert given["data-sentiment"] == "neutral" and given.select_one(".sentiment-estimated") is None
    assert len(angry.select(".sentiment-buttons form")) == 4


def test_filters_and_sort_as_fragments(manager_client, engine):
    ids = _setup(engine)
    part = soup(manager_client.get(f"/listening/mentions?topic_id={ids['rival']}", headers=HX))
    assert part.select_one("h1") is None and _rows(part) == [f"mention-{ids['happy']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?sentiment=negative", headers=HX))) == [f"mention-{ids['angry']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?sentiment=positive", headers=HX))) == [f"mention-{ids['happy']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?sentiment=neutral", headers=HX))) == [f"mention-{ids['given']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?estimated=true", headers=HX))) == [
        f"mention-{ids['angry']}", f"mention-{ids['happy']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?channel=discourse", headers=HX))) == [f"mention-{ids['happy']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?kind=review", headers=HX))) == [f"mention-{ids['happy']}"]
    assert _rows(soup(manager_client.get("/listening/mentions?q=champion", headers=HX))) == [
        f"mention-{ids['happy']}", f"mention-{ids['given']}"]
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    until = (utcnow() - timedelta(days=2)).date().isoformat()
    assert _rows(soup(manager_client.get(f"/listening/mentions?since={since}&until={until}", headers=HX))) == [
        f"mention-{ids['happy']}"]
    by_reach = soup(manager_client.get("/listening/mentions?sort=reach&sentiment=", headers=HX))
    assert _rows(by_reach)[:2] == [f"mention-{ids['angry']}", f"mention-{ids['happy']}"]
    empty = soup(manager_client.get("/listening/mentions?topic_id=99999", headers=HX))
    assert _rows(empty) == [] and empty.select_one(".empty-state a")["href"] == "/listening/mentions"
    page = soup(manager_client.get("/listening/mentions?channel=x&sort=reach"))  # a bookmark: the filters shown
    assert page.select_one("#f-channel option[selected]")["value"] == "x"
    assert page.select_one("#f-sort option[selected]")["value"] == "reach"
    assert page.select_one("#mention-filters")["hx-sync"] == "this:replace"


def test_pages(manager_client, engine):
    ana = make_profile(engine, "Ana").id or 0
    _topic(engine, "App", ["app"])
    for n in range(55):
        _log(engine, ana, f"app note {n}", days_ago=n % 20)
    page = soup(manager_client.get("/listening/mentions"))
    assert len(_rows(page)) == 50 and "55 mentions" in page.select_one(".result-count").get_text()
    assert page.select_one(".pagination a[rel=next]")["href"].endswith("page=2")
    assert len(_rows(soup(manager_client.get("/listening/mentions?page=2", headers=HX)))) == 5


def test_correcting_a_sentiment_in_place_is_audited_and_shown_as_corrected(manager_client, engine):
    ids = _setup(engine)
    iid = ids["angry"]
    response = manager_client.post(f"/listening/interactions/{iid}/sentiment", data={"sentiment": "positive"}, headers=HX)
    assert response.status_code == 200
    row = soup(response).select_one(f"tr#mention-{iid}")
    assert row["data-sentiment"] == "positive"
    assert row.select_one(".sentiment-corrected") is not None and row.select_one(".sentiment-estimated") is None
    assert row.select_one(".correct-positive")["aria-pressed"] == "true"
    with Session(engine) as session:
        item = session.get(Interaction, iid)
        assert item.sentiment == 0.6 and item.sentiment_source == "corrected"
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "sentiment.correct")).one()
        assert event.object_type == "profile" and event.object_id == ids["bob"]
        assert event.before == {"id": iid, "sentiment": -1.0, "sentiment_source": "estimated"}
        assert event.after == {"id": iid, "sentiment": 0.6, "sentiment_source": "corrected"}
    plain = manager_client.post(f"/listening/interactions/{iid}/sentiment",
                                data={"sentiment": "unknown", "next": "/listening/mentions?sentiment=negative"})
    assert plain.status_code == 303 and plain.headers["location"] == "/listening/mentions?sentiment=negative"
    page = soup(manager_client.get("/listening/mentions?sentiment=unknown"))
    assert page.select_one(f"#mention-{iid} .sentiment-corrected") is not None
    bad = manager_client.post(f"/listening/interactions/{iid}/sentiment", data={"sentiment": "furious"}, headers=HX)
    assert bad.status_code == 422
    assert manager_client.post("/listening/interactions/99999/sentiment", data={"sentiment": "neutral"}).status_code == 404


def test_a_viewer_sees_no_correction_buttons_and_gets_403(viewer_client, engine):
    ids = _setup(engine)
    page = soup(viewer_client.get("/listening/mentions"))
    assert _rows(page) and page.select_one(".sentiment-buttons") is None and page.select_one("#capture-link") is None
    response = viewer_client.post(f"/listening/interactions/{ids['angry']}/sentiment", data={"sentiment": "neutral"},
                                  headers=HX)
    assert response.status_code == 403
    assert viewer_client.get("/listening/mentions/new").status_code == 403
    assert viewer_client.post("/listening/mentions/new", data={"url": "https://x.com/a/1", "text": "x"}).status_code == 403
    with Session(engine) as session:
        assert session.get(Interaction, ids["angry"]).sentiment_source == "estimated"


# ---- capture by hand -----------------------------------------------------------------------------


def test_capture_creates_a_prospect_with_the_identity(manager_client, engine):
    _topic(engine, "App", ["app"])
    form = soup(manager_client.get("/listening/mentions/new")).select_one("form#capture-form")
    assert form["hx-post"] == form["action"] == "/listening/mentions/new"
    response = manager_client.post("/listening/mentions/new", data={
        "url": "https://x.com/newbie/status/9", "text": "This app is awful", "platform": "x", "handle": "@NewBie",
        "name": "New Bie", "reach": "1,200", "kind": "complaint"})
    assert response.status_code == 303
    with Session(engine) as session:
        person = session.exec(select(Profile)).one()
        assert person.display_name == "New Bie" and person.status == "prospect"
        identity = session.exec(select(Identity)).one()
        assert (identity.platform, identity.handle_key, identity.profile_id) == ("x", "newbie", person.id)
        item = session.exec(select(Interaction)).one()
        assert (item.kind, item.channel, item.reach, item.url) == ("complaint", "x", 1200, "https://x.com/newbie/status/9")
        assert item.sentiment_source == "estimated" and item.sentiment < 0
        assert session.exec(select(Mention.interaction_id)).all() == [item.id]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "mention.capture")).one()
        assert event.object_id == person.id and event.after["person_created"] is True and event.after["topics"] == ["App"]
    assert response.headers["location"] == f"/people/{person.id}"
    flash = soup(manager_client.get(response.headers["location"])).select_one(".flash-success").get_text()
    assert "it matched App" in flash and "added as a prospect" in flash


def test_capture_resolves_an_existing_identity_or_a_picked_person(manager_client, engine):
    ana = make_profile(engine, "Ana", identities=[{"platform": "x", "handle": "AnaL"}]).id
    response = manager_client.post("/listening/mentions/new", headers=HX, data={
        "url": "https://x.com/anal/status/1", "text": "Nothing about topics", "platform": "x", "handle": "@anal",
        "sentiment": "positive"})
    assert response.status_code == 204 and response.headers["hx-redirect"] == f"/people/{ana}"
    bob = make_profile(engine, "Bob").id
    picker = soup(manager_client.get("/listening/mentions/authors?author_q=bob", headers=HX))
    assert picker.select_one("input[name=profile_id]")["value"] == str(bob)
    assert manager_client.post("/listening/mentions/new", data={
        "url": "https://blog.example/post", "text": "hello", "profile_id": str(bob)}).status_code == 303
    with Session(engine) as session:
        assert len(session.exec(select(Profile)).all()) == 2
        items = session.exec(select(Interaction).order_by(Interaction.id)).all()
        assert [(i.profile_id, i.sentiment, i.sentiment_source) for i in items] == [(ana, 0.6, ""), (bob, None, "")]
        assert session.exec(select(Mention)).all() == []
    page = soup(manager_client.get(f"/people/{ana}"))
    assert "No topic matched" in page.select_one(".flash-success").get_text()


def test_an_author_that_cannot_be_resolved_is_refused_and_nothing_written(manager_client, engine):
    data = {"url": "https://x.com/someone/status/1", "text": "the app is broken", "reach": "10"}
    response = manager_client.post("/listening/mentions/new", data=data, headers=HX)
    assert response.status_code == 422
    form = soup(response).select_one("form#capture-form")
    assert "platform and handle" in form.select_one("#author-error").get_text()
    assert form.select_one("#f-url")["value"] == data["url"] and form.select_one("#f-text").get_text() == data["text"]
    missing = soup(manager_client.post("/listening/mentions/new", data={**data, "profile_id": "4242"}, headers=HX))
    assert missing.select_one("#profile_id-error") is not None
    no_platform = soup(manager_client.post("/listening/mentions/new", data={**data, "handle": "someone"}, headers=HX))
    assert no_platform.select_one("#platform-error") is not None
    bad_url = soup(manager_client.post("/listening/mentions/new", data={**data, "url": "nope"}, headers=HX))
    assert bad_url.select_one("#url-error") is not None
    full = manager_client.post("/listening/mentions/new", data=data)
    assert full.status_code == 422 and soup(full).select_one("h1").get_text() == "Capture a mention"
    with Session(engine) as session:
        assert session.exec(select(Profile)).all() == [] and session.exec(select(Interaction)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "mention.capture")).all() == []
