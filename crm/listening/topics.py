"""Topics: what we listen for. A topic's tracked terms and exclusions are checked one by one when it
is saved (a bad term is refused with its reason, by name), and saving queues the `listen` job that
matches the topic against the history (crm.listening.match). Deleting a topic deletes its mentions
(the interactions stay). `try_text` says, without writing anything, which term a text matches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic import Field as PydField
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.jobs.models import Job
from crm.listening import match
from crm.listening.models import Mention, Topic, TopicKind
from crm.listening.terms import MAX_TERM_WORDS, BadTerm, Matcher, Term, parse_term, topic_terms
from crm.schemas import OUT_CONFIG, InputModel, all_optional

MAX_TERMS = 50
TERM_MAX = 200  # Mention.term's column
SAMPLE_MAX = 5000


def term_problem(text: str) -> str | None:
    """Why a term cannot be tracked, in the reader's language, or None when it is fine."""
    if len(text) > TERM_MAX:
        return gettext("“%(term)s…” is longer than %(n)d characters.") % {"term": text[:30], "n": TERM_MAX}
    try:
        parse_term(text)
    except BadTerm as exc:
        reason = str(exc)
        if "goes at the end" in reason:
            why = gettext("a * goes at the end of the last word only")
        elif "three letters" in reason:
            why = gettext("a prefix needs at least three letters before the *")
        elif "at most" in reason:
            why = gettext("a phrase of at most %(n)d words") % {"n": MAX_TERM_WORDS}
        else:
            why = gettext("it has no letters or digits to look for")
        return gettext("“%(term)s”: %(why)s.") % {"term": text.strip(), "why": why}
    return None


def split_terms(value: Any) -> Any:
    """One per line or separated by commas (a form's box); a list stays a list. Blank ones go, and
    a term listed twice (ignoring case) is kept once."""
    if isinstance(value, str):
        value = [part for line in value.splitlines() for part in line.split(",")]
    if not isinstance(value, list):
        return value
    seen: dict[str, str] = {}
    for item in value:
        if not isinstance(item, str):
            return value  # let pydantic say what is wrong
        text = " ".join(item.split())
        if text:
            seen.setdefault(text.casefold(), text)
    return list(seen.values())


def _checked(terms: list[str] | None, field: str) -> list[str] | None:
    if terms is None:
        return None
    if field == "terms" and not terms:
        raise ValueError(gettext("Give at least one word or phrase to listen for."))
    if len(terms) > MAX_TERMS:
        raise ValueError(gettext("At most %(n)d terms; this list has %(count)d.") % {"n": MAX_TERMS, "count": len(terms)})
    problems = [p for p in (term_problem(t) for t in terms) if p]
    if problems:
        raise ValueError(" ".join(problems))
    return terms


class TopicFields(InputModel):
    """A topic: its terms and exclusions are lists (in a form, one per line or separated by commas)."""

    name: str = PydField(min_length=1, max_length=120)
    kind: TopicKind = TopicKind.brand
    terms: list[str] = PydField(description='Words or phrases (at most 50); "crash*" is a prefix. Matched in '
                                            "English and Spanish, case and accents folded.")
    exclusions: list[str] = PydField(default_factory=list,
                                     description="A text matching any of these is no mention of the topic (at most 50)")
    active: bool = True

    @field_validator("terms", "exclusions", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_terms(value)

    @field_validator("terms", "exclusions")
    @classmethod
    def _each_term(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _checked(value, info.field_name or "")


class TopicIn(TopicFields):
    pass


if TYPE_CHECKING:  # mypy cannot follow a class built at run time; to it, a patch is a TopicIn
    TopicPatch = TopicIn
else:
    TopicPatch = all_optional(TopicIn, "TopicPatch", "Partial update: only the fields sent change.")


class TopicOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    name: str
    kind: str
    terms: list[str]
    exclusions: list[str]
    active: bool
    mentions_7d: int = 0
    mentions_30d: int = 0
    created_at: datetime
    updated_at: datetime


@dataclass
class TopicRow:
    topic: Topic
    mentions_7d: int
    mentions_30d: int
    mentions_total: int


def snapshot(topic: Topic) -> dict[str, Any]:
    return {"id": topic.id, "name": topic.name, "kind": topic.kind, "terms": list(topic.terms),
            "exclusions": list(topic.exclusions), "active": topic.active}


def get_topic(topic_id: int, *, session: Session) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound(gettext("There is no topic with id %(id)s.") % {"id": topic_id})
    return topic


def _counts(topic_ids: list[int], *, session: Session, since: Any = None) -> dict[int, int]:
    if not topic_ids:
        return {}
    query = (select(Mention.topic_id, func.count()).where(col(Mention.topic_id).in_(topic_ids))
             .group_by(col(Mention.topic_id)))
    if since is not None:
        query = query.where(Mention.occurred_at >= since)
    return {int(tid): int(n) for tid, n in session.exec(query)}  # type: ignore[call-overload]


def list_topics(*, session: Session) -> list[TopicRow]:
    topics = list(session.exec(select(Topic).order_by(col(Topic.active).desc(), func.lower(Topic.name))))
    ids = [t.id or 0 for t in topics]
    now = utcnow()
    week = _counts(ids, session=session, since=now - timedelta(days=7))
    month = _counts(ids, session=session, since=now - timedelta(days=30))
    total = _counts(ids, session=session)
    return [TopicRow(t, week.get(t.id or 0, 0), month.get(t.id or 0, 0), total.get(t.id or 0, 0)) for t in topics]


def topic_row(topic_id: int, *, session: Session) -> TopicRow:
    topic = get_topic(topic_id, session=session)
    now = utcnow()
    return TopicRow(topic, _counts([topic_id], session=session, since=now - timedelta(days=7)).get(topic_id, 0),
                    _counts([topic_id], session=session, since=now - timedelta(days=30)).get(topic_id, 0),
                    _counts([topic_id], session=session).get(topic_id, 0))


def mention_count(topic_id: int, *, session: Session) -> int:
    return _counts([topic_id], session=session).get(topic_id, 0)


def _name_taken(name: str, *, session: Session, topic_id: int | None) -> None:
    clash = session.exec(select(Topic.id).where(func.lower(Topic.name) == name.casefold())).first()
    if clash is not None and clash != topic_id:
        raise Conflict(gettext("A topic with that name exists already."),
                       field_errors={"name": gettext("There is already a topic called “%(name)s”.") % {"name": name}})


def _flush(session: Session, name: str) -> None:
    """Two saves of the same name at once: the unique index decides, the loser gets a 409."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(gettext("A topic with that name exists already."),
                       field_errors={"name": gettext("There is already a topic called “%(name)s”.") % {"name": name}}
                       ) from None


def _listen(topic: Topic, *, session: Session, actor: Actor) -> Job:
    return match.enqueue_listen(topic.id or 0, session=session, created_by_id=actor.user_id)


def create_topic(data: TopicIn, *, session: Session, actor: Actor) -> tuple[Topic, Job]:
    """The new topic and the job that looks for its mentions in the history."""
    _name_taken(data.name, session=session, topic_id=None)
    topic = Topic(name=data.name, kind=data.kind.value, terms=data.terms, exclusions=data.exclusions,
                  active=data.active, created_by_id=actor.user_id)
    session.add(topic)
    _flush(session, data.name)
    audit.record(session=session, actor=actor, action=AuditAction.topic_create, object_type="topic",
                 object_id=topic.id, after=snapshot(topic))
    return topic, _listen(topic, session=session, actor=actor)


def update_topic(topic_id: int, data: TopicIn | TopicPatch, *, session: Session, actor: Actor) -> tuple[Topic, Job | None]:
    """Saves the changes; when what it matches changed (terms, exclusions, switched on), the history
    is matched again by a job (returned), else None."""
    topic = get_topic(topic_id, session=session)
    before = snapshot(topic)
    sent = data.model_fields_set if type(data) is not TopicIn else set(TopicIn.model_fields)
    values: dict[str, Any] = {}
    for name in sent:
        value = getattr(data, name)
        if value is None:
            raise InvalidInput(gettext("Some fields cannot be emptied."),
                               field_errors={name: gettext("This field cannot be null; leave it out to keep it.")})
        values[name] = value.value if isinstance(value, TopicKind) else value
    if "name" in values:
        _name_taken(values["name"], session=session, topic_id=topic_id)
    for name, value in values.items():
        setattr(topic, name, value)
    topic.updated_at = utcnow()
    session.add(topic)
    _flush(session, topic.name)
    after = snapshot(topic)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record(session=session, actor=actor, action=AuditAction.topic_update, object_type="topic",
                     object_id=topic_id, before={k: before[k] for k in changed} | {"id": topic_id},
                     after={k: after[k] for k in changed} | {"id": topic_id})
    relisten = topic.active and any(k in changed for k in ("terms", "exclusions", "active"))
    return topic, (_listen(topic, session=session, actor=actor) if relisten else None)


def set_active(topic_id: int, active: bool, *, session: Session, actor: Actor) -> tuple[Topic, Job | None]:
    topic = get_topic(topic_id, session=session)
    data = TopicPatch.model_validate({"active": active})
    return update_topic(topic.id or 0, data, session=session, actor=actor)


def delete_topic(topic_id: int, *, session: Session, actor: Actor) -> tuple[str, int]:
    """Deletes the topic and its mentions; returns its name and how many mentions went with it."""
    topic = get_topic(topic_id, session=session)
    from crm.listening.models import Alert, AlertRule

    watching = session.exec(select(AlertRule.name).where(AlertRule.topic_id == topic_id)).all()
    if watching:  # a rule and its alerts' history would go with the topic: make it a decision of its own
        raise Conflict(ngettext("The alert rule %(names)s watches this topic: delete it or point it at another topic "
                                "first, or switch the topic off instead.",
                                "The alert rules %(names)s watch this topic: delete them or point them at another "
                                "topic first, or switch the topic off instead.", len(watching))
                       % {"names": ", ".join(f"“{n}”" for n in watching)})
    alerts = session.exec(select(func.count()).select_from(Alert).where(Alert.topic_id == topic_id)).one()
    if alerts:
        raise Conflict(ngettext("This topic has %(num)d alert on record; switch the topic off instead to keep it.",
                                "This topic has %(num)d alerts on record; switch the topic off instead to keep them.",
                                alerts) % {"num": alerts})
    count = mention_count(topic_id, session=session)
    before = snapshot(topic) | {"mentions": count}
    name = topic.name
    session.delete(topic)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.topic_delete, object_type="topic",
                 object_id=topic_id, before=before)
    return name, count


def listen_job(job_id: int, *, session: Session) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.kind != match.LISTEN_JOB:
        raise NotFound(gettext("There is no such job."))
    return job


# ---- "try it": a text against terms that may not be saved yet ------------------------------------

class TryIn(InputModel):
    """A text to try against terms (those of a saved topic when `topic_id` is given)."""

    text: str = PydField(min_length=1, max_length=SAMPLE_MAX)
    terms: list[str] = PydField(default_factory=list, max_length=MAX_TERMS)
    exclusions: list[str] = PydField(default_factory=list, max_length=MAX_TERMS)
    topic_id: int | None = PydField(default=None, ge=1, le=2**31 - 1)

    @field_validator("terms", "exclusions", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_terms(value)


class TopicMatch(BaseModel):
    topic_id: int | None
    name: str
    term: str


class TryOut(BaseModel):
    """What the text matches: the terms found, and the exclusions that stopped a match."""

    matched: bool
    terms: list[str]  # the tracked terms found in the text
    excluded_by: list[str]  # exclusions found (a match with one of these is no mention)
    bad_terms: list[str]  # terms that cannot be tracked, with the reason
    topics: list[TopicMatch]  # without terms given: every active topic the text would be a mention of


def _found(terms: list[Term], tokens_text: str) -> list[str]:
    from crm.listening.terms import words

    tokens = words(tokens_text)
    return [t.text for t in terms if any(t.matches_at(tokens, i) for i in range(len(tokens)))]


def try_text(data: TryIn, *, session: Session) -> TryOut:
    """Pure: nothing is written. With terms (or a topic), which of them the text has and whether an
    exclusion stops it; with neither, which active topics it would be a mention of."""
    terms, exclusions = data.terms, data.exclusions
    if data.topic_id is not None and not terms:
        topic = get_topic(data.topic_id, session=session)
        terms, exclusions = list(topic.terms), list(topic.exclusions)
    bad = [p for p in (term_problem(t) for t in [*terms, *exclusions]) if p]
    if terms:
        parsed = topic_terms(0, terms, exclusions)
        found = _found(parsed.terms, data.text)
        excluded = _found(parsed.exclusions, data.text) if found else []
        return TryOut(matched=bool(found) and not excluded, terms=found, excluded_by=excluded, bad_terms=bad, topics=[])
    active = list(session.exec(select(Topic).where(col(Topic.active).is_(True))))
    matcher = Matcher([topic_terms(t.id or 0, t.terms, t.exclusions) for t in active])
    hits = matcher.match(data.text)
    names = {t.id: t.name for t in active}
    topics = [TopicMatch(topic_id=tid, name=names.get(tid, ""), term=term) for tid, term in hits.items()]
    return TryOut(matched=bool(topics), terms=[t.term for t in topics], excluded_by=[], bad_terms=bad, topics=topics)
