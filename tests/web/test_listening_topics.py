"""Topic pages: the list, new/edit forms with per-field term errors, the listen job's progress and its
"N mentions found", switching on and off in place, deleting with its mention count, the "try it" box;
and the sentiment word lists (errors per line, restore, re-estimate). Fragments and full pages."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.jobs.models import Job
from crm.jobs.service import run_pending
from crm.listening import topics
from crm.listening.models import Mention, SentimentLexicon, Topic
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _log(engine, profile_id: int, body: str, *, days_ago: int = 0, **fields) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        item = log.log_interaction(profile_id, InteractionIn.model_validate(
            {"kind": "post", "body": body, "occurred_at": utcnow() - timedelta(days=days_ago), **fields}),
            session=session, actor=SYSTEM)
        return item.id or 0


def _topic(engine, name: str = "Altavoz", terms: list[str] | None = None, **fields) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        topic, _ = topics.create_topic(topics.TopicIn(name=name, terms=terms or [name.lower()], **fields),
                                       session=session, actor=SYSTEM)
        return topic.id or 0


def _audit(engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_empty_list_offers_a_new_topic(manager_client, engine):
    page = soup(manager_client.get("/listening/topics"))
    assert page.select_one("title").get_text().startswith("Topics")
    assert page.select_one(".listening-tabs a[aria-current=page]")["href"] == "/listening/topics"
    assert page.select_one(".empty-state a[href='/listening/topics/new']") is not None


def test_viewer_reads_the_list_but_cannot_change_anything(viewer_client, engine):
    topic_id = _topic(engine)
    page = soup(viewer_client.get("/listening/topics"))
    assert page.select_one(f"#topic-{topic_id} .topic-name").get_text(strip=True) == "Altavoz"
    assert page.select_one("#new-topic") is None and page.select_one(".topic-switch") is None
    assert viewer_client.get("/listening/topics/new").status_code == 403
    assert viewer_client.post("/listening/topics", data={"name": "X", "terms": "x1"}).status_code == 403
    assert viewer_client.post(f"/listening/topics/{topic_id}/active", data={"active": "false"}, headers=HX).status_code == 403
    assert viewer_client.post(f"/listening/topics/{topic_id}/delete").status_code == 403
    assert viewer_client.post("/listening/words/en", data={"words": "meh -1"}).status_code == 403


def test_create_runs_the_listen_job_and_the_page_shows_mentions_found(manager_client, engine):
    ana = make_profile(engine, "Ana").id or 0
    history = _log(engine, ana, "Altavoz crashed twice today", days_ago=10)
    _log(engine, ana, "Listening to altavoz FM tonight", days_ago=5)
    form = soup(manager_client.get("/listening/topics/new")).select_one("form#topic-form")
    assert form["hx-post"] == form["action"] == "/listening/topics"
    response = manager_client.post("/listening/topics", data={
        "name": "Altavoz", "kind": "brand", "terms": "Altavoz\ncrash*", "exclusions": "altavoz fm", "active": "on"})
    assert response.status_code == 303
    job_url = response.headers["location"]
    assert job_url.startswith("/listening/topics/jobs/")
    card = soup(manager_client.get(job_url)).select_one(".listen-job")
    if card["data-status"] in ("queued", "running"):  # (the in-process worker may have finished it already)
        assert card["hx-get"] == job_url and card["hx-trigger"] == "every 1s"
    run_pending(engine)
    fragment = manager_client.get(job_url, headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    part = soup(fragment)
    assert part.select_one("h1") is None  # the block only
    done = part.select_one(".listen-job")
    assert done["data-status"] == "done" and not done.has_attr("hx-get")
    found = part.select_one(".listen-found")
    assert found["data-mentions"] == "1" and "1 mention found" in found.get_text()
    with Session(engine) as session:
        topic = session.exec(select(Topic)).one()
        assert topic.terms == ["Altavoz", "crash*"] and topic.exclusions == ["altavoz fm"]
        assert [m.interaction_id for m in session.exec(select(Mention))] == [history]  # the exclusion held
    assert [e.after["name"] for e in _audit(engine, "topic.create")] == ["Altavoz"]
    row = soup(manager_client.get("/listening/topics")).select_one(f"#topic-{topic.id}")
    assert row.select_one("[data-count='30d']").get_text(strip=True) == "1"
    assert row.select_one("[data-count='7d']").get_text(strip=True) == "0"
    assert [c.get_text() for c in row.select(".term-list code")] == ["Altavoz", "crash*", "altavoz fm"]


def test_a_running_job_is_polled_and_says_how_many_so_far(manager_client, engine):
    topic_id = _topic(engine, "Orbit")
    run_pending(engine)
    with session_scope(engine, write=True) as session:  # as a worker elsewhere would be, mid-way
        job = Job(kind="listen", status="running", params={"topic_id": topic_id}, progress=2000, total=5000,
                  counts={"mentions": 3}, heartbeat_at=utcnow())
        session.add(job)
        session.flush()
        job_id = job.id
    page = soup(manager_client.get(f"/listening/topics/jobs/{job_id}"))
    assert page.select_one("h1").get_text(strip=True) == "Mentions of “Orbit”"
    card = page.select_one(".listen-job")
    assert card["hx-get"] == f"/listening/topics/jobs/{job_id}" and card["hx-trigger"] == "every 1s"
    assert card.select_one("progress")["value"] == "2000" and "3 mentions so far" in card.get_text()
    assert page.select_one(".listen-found") is None
    with session_scope(engine, write=True) as session:
        other = Job(kind="import", status="done", params={})
        session.add(other)
        session.flush()
        other_id = other.id
    assert manager_client.get(f"/listening/topics/jobs/{other_id}").status_code == 404


def test_bad_terms_come_back_per_field_with_the_typed_values(manager_client, engine):
    response = manager_client.post("/listening/topics", headers=HX, data={
        "name": "Broken", "kind": "product", "terms": "good term, cr*", "exclusions": "foo* bar"})
    assert response.status_code == 422
    form = soup(response).select_one("form#topic-form")
    assert form.select_one("#terms-error").get_text().startswith("“cr*”")
    assert "“foo* bar”" in form.select_one("#exclusions-error").get_text()
    assert form.select_one("#f-terms").get_text() == "good term, cr*"
    assert form.select_one("#f-name")["value"] == "Broken"
    assert form.select_one("#f-kind option[selected]")["value"] == "product"
    empty = soup(manager_client.post("/listening/topics", headers=HX, data={"name": "Empty", "terms": " \n "}))
    assert "at least one" in empty.select_one("#terms-error").get_text()
    with Session(engine) as session:
        assert session.exec(select(Topic)).all() == [] and session.exec(select(Job)).all() == []


def test_a_duplicate_name_is_refused_with_a_clear_message(manager_client, engine):
    _topic(engine, "Orbit")
    response = manager_client.post("/listening/topics", data={"name": "orbit", "terms": "orbit"})
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("h1") is not None  # a plain POST gets the whole page back
    assert "already a topic called" in page.select_one("#name-error").get_text()


def test_edit_saves_relistens_and_is_audited(manager_client, engine):
    ana = make_profile(engine, "Ana").id or 0
    topic_id = _topic(engine, "Orbit")
    run_pending(engine)
    mentioned = _log(engine, ana, "Orbit and Savannah", days_ago=1)
    form = soup(manager_client.get(f"/listening/topics/{topic_id}/edit")).select_one("form#topic-form")
    assert form["action"] == f"/listening/topics/{topic_id}" and form.select_one("#f-terms").get_text() == "orbit"
    response = manager_client.post(f"/listening/topics/{topic_id}", data={
        "name": "Orbit", "kind": "competitor", "terms": "orbit", "exclusions": "savannah", "active": "on"})
    assert response.status_code == 303 and response.headers["location"].startswith("/listening/topics/jobs/")
    run_pending(engine)
    with Session(engine) as session:
        assert session.exec(select(Mention).where(Mention.interaction_id == mentioned)).all() == []
    event = _audit(engine, "topic.update")[0]
    assert event.before["exclusions"] == [] and event.after["exclusions"] == ["savannah"]
    # A change of name alone does not read the history again.
    response = manager_client.post(f"/listening/topics/{topic_id}", data={
        "name": "Orbit (competitor)", "kind": "competitor", "terms": "orbit", "exclusions": "savannah", "active": "on"})
    assert response.headers["location"] == "/listening/topics"


def test_switch_off_and_on_in_place(manager_client, engine):
    topic_id = _topic(engine, "Orbit")
    response = manager_client.post(f"/listening/topics/{topic_id}/active", data={"active": "false"}, headers=HX)
    assert response.status_code == 200
    row = soup(response).select_one(f"tr#topic-{topic_id}")
    assert row["data-active"] == "false" and "is off" in row.select_one(".topic-message").get_text()
    assert row.select_one("input[name=active]")["value"] == "true"
    response = manager_client.post(f"/listening/topics/{topic_id}/active", data={"active": "true"}, headers=HX)
    row = soup(response).select_one(f"tr#topic-{topic_id}")
    assert row["data-active"] == "true" and row.select_one("a[href^='/listening/topics/jobs/']") is not None
    plain = manager_client.post(f"/listening/topics/{topic_id}/active", data={"active": "false"})
    assert plain.status_code == 303 and plain.headers["location"] == "/listening/topics"


def test_delete_says_how_many_mentions_go_with_it(manager_client, engine):
    ana = make_profile(engine, "Ana").id or 0
    topic_id = _topic(engine, "Orbit")
    _log(engine, ana, "orbit one")
    _log(engine, ana, "orbit two")
    page = soup(manager_client.get(f"/listening/topics/{topic_id}/delete"))
    assert "2 mentions go with it" in page.select_one("#delete-impact").get_text()
    assert page.select_one(f"form[action='/listening/topics/{topic_id}/delete'] button#confirm-delete") is not None
    response = manager_client.post(f"/listening/topics/{topic_id}/delete")
    assert response.status_code == 303
    page = soup(manager_client.get("/listening/topics"))
    assert "deleted, with its 2 mentions" in page.select_one(".flash-success").get_text()
    with Session(engine) as session:
        assert session.exec(select(Mention)).all() == [] and len(session.exec(select(Interaction)).all()) == 2
    assert _audit(engine, "topic.delete")[0].before["mentions"] == 2
    assert manager_client.get(f"/listening/topics/{topic_id}/delete").status_code == 404


def test_try_it_says_which_term_matches_and_writes_nothing(manager_client, engine):
    data = {"terms": "refund\nreembolso", "exclusions": "altavoz fm", "sample": "Quiero mis REEMBOLSOS"}
    part = soup(manager_client.post("/listening/topics/try", data=data, headers=HX))
    assert part.select_one(".try-outcome")["data-matched"] == "true"
    assert [c.get_text() for c in part.select(".try-term")] == ["reembolso"]
    part = soup(manager_client.post("/listening/topics/try", headers=HX, data={
        "terms": "altavoz", "exclusions": "altavoz fm", "sample": "altavoz FM tonight"}))
    assert part.select_one(".try-outcome")["data-matched"] == "false"
    assert [c.get_text() for c in part.select(".try-exclusion")] == ["altavoz fm"]
    missing = manager_client.post("/listening/topics/try", headers=HX, data={"terms": "x1", "sample": ""})
    assert missing.status_code == 422 and soup(missing).select_one("#sample-error") is not None
    full = soup(manager_client.post("/listening/topics/try", data={"name": "T", "terms": "altavoz", "sample": "hola altavoz"}))
    assert full.select_one("form#topic-form #try-result .try-outcome")["data-matched"] == "true"
    assert full.select_one("#f-name")["value"] == "T"
    with Session(engine) as session:
        assert session.exec(select(Topic)).all() == [] and session.exec(select(Mention)).all() == []


# ---- word lists -------------------------------------------------------------------------------------


def test_word_list_page_shows_the_built_in_list_in_tabs(manager_client):
    page = soup(manager_client.get("/listening/words?lang=es"))
    assert page.select_one(".words-tabs a[aria-current=page]")["href"] == "/listening/words?lang=es"
    assert "odio -3" in page.select_one("#f-words").get_text().splitlines()
    assert page.select_one("#restore-link") is None  # nothing to restore
    part = soup(manager_client.get("/listening/words?lang=en", headers=HX))
    assert part.select_one("h1") is None and "awful -3" in part.select_one("#f-words").get_text()


def test_a_viewer_reads_the_word_list_and_may_try_a_text(viewer_client):
    viewer = soup(viewer_client.get("/listening/words"))
    assert viewer.select_one("#words-form") is None and viewer.select_one(".words-table code") is not None
    part = soup(viewer_client.post("/listening/topics/try", data={"terms": "altavoz", "sample": "altavoz!"}, headers=HX))
    assert part.select_one(".try-outcome")["data-matched"] == "true"
    assert viewer_client.post("/listening/words/reestimate").status_code == 403
    assert viewer_client.post("/listening/words/en/restore").status_code == 403


def test_word_list_errors_are_shown_per_line_and_nothing_saved(manager_client, engine):
    response = manager_client.post("/listening/words/en", headers=HX, data={"words": "awful -3\nterrible\nbad 7\nno good -1"})
    assert response.status_code == 422
    part = soup(response)
    lines = {li["data-line"]: li.get_text(" ", strip=True) for li in part.select(".line-errors li")}
    assert set(lines) == {"2", "3", "4"}
    assert "weight" in lines["3"] and "one word" in lines["4"]
    assert part.select_one("#f-words").get_text().startswith("awful -3\nterrible")
    with Session(engine) as session:
        assert session.exec(select(SentimentLexicon)).all() == []


def test_save_restore_and_reestimate_words(manager_client, engine):
    ana = make_profile(engine, "Ana").id or 0
    _topic(engine, "App", ["app"])
    run_pending(engine)  # the topic's listen job, done before the list changes
    item = _log(engine, ana, "the app is slow")
    with Session(engine) as session:
        assert session.get(Interaction, item).sentiment == -0.25
    response = manager_client.post("/listening/words/en", data={"words": "slow -3\ngreat 2"})
    assert response.status_code == 303 and response.headers["location"] == "/listening/words?lang=en"
    page = soup(manager_client.get("/listening/words?lang=en"))
    assert page.select_one("#f-words").get_text() == "slow -3\ngreat 2"
    assert page.select_one("#restore-link")["href"] == "/listening/words/en/restore"
    with Session(engine) as session:
        assert session.get(Interaction, item).sentiment == -0.25  # not re-estimated on save
    response = manager_client.post("/listening/words/reestimate", data={"lang": "en"})
    assert response.status_code == 303
    assert "1 estimated label checked, 1 changed" in soup(manager_client.get(response.headers["location"])).select_one(
        ".flash-success").get_text()
    with Session(engine) as session:
        assert session.get(Interaction, item).sentiment == -0.75
    confirm = soup(manager_client.get("/listening/words/en/restore"))
    assert confirm.select_one("form[action='/listening/words/en/restore'] #confirm-restore") is not None
    assert manager_client.post("/listening/words/en/restore").status_code == 303
    with Session(engine) as session:
        assert session.exec(select(SentimentLexicon)).all() == []
    assert len(_audit(engine, "sentiment.words")) == 3  # saved, re-estimated, restored
    assert manager_client.get("/listening/words/xx/restore").status_code == 404
