"""Topics, mentions and word lists without a web request: term checks per field, the "try it" box,
sentiment labels, word-list lines, and the services on a real database (both engines)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.errors import Conflict, InvalidInput
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.jobs.service import run_pending
from crm.listening import lexicons, mentions, topics
from crm.listening.mentions import SentimentLabel, label_of
from crm.listening.models import Mention, SentimentLexicon
from tests.factories import make_profile


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}


def test_terms_split_on_lines_and_commas_and_dedupe() -> None:
    data = topics.TopicIn.model_validate({"name": "Altavoz", "terms": "Altavoz, altavoz\n  slow   dashboard \n\ncrash*",
                                          "exclusions": "altavoz fm"})
    assert data.terms == ["Altavoz", "slow dashboard", "crash*"]
    assert data.exclusions == ["altavoz fm"]


def test_each_bad_term_is_named_in_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        topics.TopicIn.model_validate({"name": "X", "terms": "good, cr*, !!!", "exclusions": "foo* bar"})
    errors = _errors(caught.value)
    assert set(errors) == {"terms", "exclusions"}
    assert "“cr*”" in errors["terms"] and "three letters" in errors["terms"]
    assert "“!!!”" in errors["terms"] and "good" not in errors["terms"].split("“")[0]
    assert "“foo* bar”" in errors["exclusions"]


def test_no_terms_and_too_many_terms_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        topics.TopicIn.model_validate({"name": "X", "terms": " , \n"})
    assert "at least one" in _errors(caught.value)["terms"]
    with pytest.raises(ValidationError) as caught:
        topics.TopicIn.model_validate({"name": "X", "terms": [f"word{i}" for i in range(51)]})
    assert "At most 50" in _errors(caught.value)["terms"]
    assert len(topics.TopicIn.model_validate({"name": "X", "terms": [f"word{i}" for i in range(50)]}).terms) == 50


def test_a_patch_keeps_the_term_rules() -> None:
    assert topics.TopicPatch.model_validate({"active": False}).model_fields_set == {"active"}
    with pytest.raises(ValidationError):
        topics.TopicPatch.model_validate({"terms": []})
    with pytest.raises(ValidationError):
        topics.TopicPatch.model_validate({"terms": ["cr*"]})


@pytest.mark.parametrize(("value", "label"), [(None, "unknown"), (-1.0, "negative"), (-0.25, "negative"),
                                              (-0.1, "negative"), (0.0, "neutral"), (0.25, "positive"), (0.6, "positive")])
def test_sentiment_labels(value: float | None, label: str) -> None:
    assert label_of(value) == SentimentLabel(label)
    assert label_of(mentions.LABEL_VALUE[SentimentLabel(label)]) == SentimentLabel(label)


def test_word_lines_report_each_bad_line() -> None:
    raw, problems, lines = lexicons.parse_lines("awful -3\n\n# a comment\ngreat +2\nbroken\nawful -2\nmeh 1.5")
    assert raw == {"awful": -3, "great": 2, "meh": "1.5"}
    assert set(problems) == {5, 6}  # no weight; listed twice
    assert lines["meh"] == 7


def test_capture_needs_a_web_address_and_a_platform_for_a_handle() -> None:
    with pytest.raises(ValidationError) as caught:
        mentions.CaptureIn.model_validate({"url": "not a link", "text": "hi"})
    assert "url" in _errors(caught.value)
    with pytest.raises(ValidationError):
        mentions.CaptureIn.model_validate({"url": "https://x.com/a/status/1", "text": "hi", "handle": "ana"})
    with pytest.raises(ValidationError):
        mentions.CaptureIn.model_validate({"url": "https://x.com/a/status/1", "text": "hi", "kind": "note"})


# ---- services on the database -------------------------------------------------------------------


def _log(engine, profile_id: int, body: str, *, days_ago: int = 0, **fields) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        item = log.log_interaction(profile_id, InteractionIn.model_validate(
            {"kind": "mention", "body": body, "occurred_at": utcnow() - timedelta(days=days_ago), **fields}),
            session=session, actor=SYSTEM)
        return item.id or 0


def test_a_topic_finds_its_history_through_the_listen_job(engine) -> None:  # type: ignore[no-untyped-def]
    ana = make_profile(engine, "Ana").id or 0
    old = _log(engine, ana, "Altavoz crashed again", days_ago=20)
    radio = _log(engine, ana, "Listening to Altavoz FM", days_ago=3)
    _log(engine, ana, "Nothing to do with us", days_ago=2)
    with session_scope(engine, write=True) as session:
        topic, job = topics.create_topic(topics.TopicIn(name="Altavoz", terms=["altavoz"], exclusions=["altavoz fm"]),
                                         session=session, actor=SYSTEM)
        topic_id, job_id = topic.id, job.id
    assert run_pending(engine) >= 1
    with session_scope(engine) as session:
        found = session.exec(select(Mention.interaction_id, Mention.term).where(Mention.topic_id == topic_id)).all()
        assert [tuple(r) for r in found] == [(old, "altavoz")]
        assert topics.listen_job(job_id or 0, session=session).counts["mentions"] == 1
        row = topics.topic_row(topic_id or 0, session=session)
        assert (row.mentions_7d, row.mentions_30d, row.mentions_total) == (0, 1, 1)
        estimated = session.get(Interaction, old)
        assert estimated is not None and estimated.sentiment_source == "estimated" and estimated.sentiment is not None
        assert session.get(Interaction, radio).sentiment_source == ""  # type: ignore[union-attr]


def test_duplicate_names_conflict_and_delete_counts_mentions(engine) -> None:  # type: ignore[no-untyped-def]
    ana = make_profile(engine, "Ana").id or 0
    with session_scope(engine, write=True) as session:
        topic, _ = topics.create_topic(topics.TopicIn(name="Orbit", terms=["orbit"]), session=session, actor=SYSTEM)
        topic_id = topic.id or 0
    _log(engine, ana, "Orbit is nice")  # matched as it arrives
    with session_scope(engine, write=True) as session, pytest.raises(Conflict) as caught:
        topics.create_topic(topics.TopicIn(name="ORBIT", terms=["x1"]), session=session, actor=SYSTEM)
    assert "name" in caught.value.field_errors
    with session_scope(engine, write=True) as session:
        assert topics.delete_topic(topic_id, session=session, actor=SYSTEM) == ("Orbit", 1)
    with session_scope(engine) as session:
        assert session.exec(select(Mention)).all() == []
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "topic"))]
        assert actions == ["topic.create", "topic.delete"]


def test_try_text_without_writing(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        topics.create_topic(topics.TopicIn(name="Refunds", terms=["reembolso"]), session=session, actor=SYSTEM)
    with session_scope(engine) as session:
        out = topics.try_text(topics.TryIn(text="Quiero mis reembolsos", terms="refund\nreembolso", exclusions=""),
                              session=session)
        assert out.matched and out.terms == ["reembolso"]
        out = topics.try_text(topics.TryIn(text="Altavoz FM rocks", terms="altavoz", exclusions="altavoz fm"),
                              session=session)
        assert not out.matched and out.excluded_by == ["altavoz fm"]
        out = topics.try_text(topics.TryIn(text="sin reembolso"), session=session)  # every active topic
        assert [(t.name, t.term) for t in out.topics] == [("Refunds", "reembolso")]
        out = topics.try_text(topics.TryIn(text="x", terms="cr*"), session=session)
        assert out.bad_terms and not out.matched
        assert session.exec(select(Mention)).all() == []


def test_word_list_save_restore_and_reestimate(engine) -> None:  # type: ignore[no-untyped-def]
    ana = make_profile(engine, "Ana").id or 0
    with session_scope(engine, write=True) as session:
        topics.create_topic(topics.TopicIn(name="App", terms=["app"]), session=session, actor=SYSTEM)
    estimated = _log(engine, ana, "the app is meh")  # no listed word: unknown
    given = _log(engine, ana, "the app is meh too", sentiment=0.9)
    with session_scope(engine, write=True) as session, pytest.raises(InvalidInput) as caught:
        lexicons.save_lines("en", "meh -2\nbad\nworse 9", session=session, actor=SYSTEM)
    assert set(caught.value.field_errors) == {"line.2", "line.3", "words"}
    with session_scope(engine, write=True) as session:
        saved = lexicons.save_lines("en", "meh -2\ngreat 2", session=session, actor=SYSTEM)
        assert saved.edited and dict(saved.words) == {"meh": -2, "great": 2}
        item = session.get(Interaction, estimated)
        assert item is not None and item.sentiment is None  # saving does not touch the history
    with session_scope(engine, write=True) as session:
        # Only estimated labels are redone; the one without any listed word was left unknown ("") and stays.
        session.get(Interaction, estimated).sentiment_source = "estimated"  # type: ignore[union-attr]
    with session_scope(engine, write=True) as session:
        done = lexicons.reestimate(session=session, actor=SYSTEM)
        assert (done.checked, done.changed) == (1, 1)
    with session_scope(engine, write=True) as session:
        assert session.get(Interaction, estimated).sentiment == -0.5  # type: ignore[union-attr]
        assert session.get(Interaction, given).sentiment == 0.9  # type: ignore[union-attr]
        restored = lexicons.restore_builtin("en", session=session, actor=SYSTEM)
        assert not restored.edited and dict(restored.words)["awful"] == -3
    with session_scope(engine) as session:
        assert session.exec(select(SentimentLexicon)).all() == []
