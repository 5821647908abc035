"""JSON API for topics (tracked terms), mentions, sentiment corrections and the sentiment word lists:
the same services as the listening pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.listening import lexicons, mentions, topics
from crm.listening.models import Topic
from crm.schemas import Page

router = APIRouter(tags=["listening_topics"])

ERRORS = error_responses(e404="No such topic")
SAVE_ERRORS = error_responses(e404="No such topic", e409="A topic with that name exists already")
MENTION_ERRORS = error_responses(e404="No such interaction")
WORD_ERRORS = error_responses(e404="No word list for that language (en, es)")


class TopicSaved(topics.TopicOut):
    listen_job_id: int | None = None  # the job matching the topic against the history, when one was queued


class TopicHitOut(BaseModel):
    topic_id: int
    name: str
    term: str


class MentionOut(BaseModel):
    interaction_id: int
    profile_id: int
    person: str
    person_reach: int
    occurred_at: datetime
    kind: str
    channel: str
    url: str
    title: str
    excerpt: str
    reach: int
    sentiment: float | None
    sentiment_label: mentions.SentimentLabel
    sentiment_source: str
    estimate_words: list[tuple[str, int]]
    topics: list[TopicHitOut]


class CapturedOut(BaseModel):
    interaction_id: int
    profile_id: int
    person_created: bool
    topics: list[TopicHitOut]


def _topic_out(db: Any, topic: Topic, job_id: int | None = None) -> TopicSaved:
    row = topics.topic_row(topic.id or 0, session=db)
    return TopicSaved.model_validate({**topic.model_dump(), "mentions_7d": row.mentions_7d,
                                      "mentions_30d": row.mentions_30d, "listen_job_id": job_id})


def _mention_out(row: mentions.MentionRow) -> MentionOut:
    return MentionOut(
        interaction_id=row.interaction_id, profile_id=row.profile_id, person=row.person, person_reach=row.person_reach,
        occurred_at=row.occurred_at, kind=row.kind, channel=row.channel, url=row.url, title=row.title,
        excerpt=row.excerpt, reach=row.reach, sentiment=row.sentiment, sentiment_label=row.label,
        sentiment_source=row.sentiment_source, estimate_words=row.estimate_words,
        topics=[TopicHitOut(topic_id=h.topic_id, name=h.name, term=h.term) for h in row.topics])


@router.get("/topics", response_model=list[topics.TopicOut], responses=ERRORS)
def list_topics(db: DB, user: CurrentUser) -> list[topics.TopicOut]:
    return [topics.TopicOut.model_validate({**r.topic.model_dump(), "mentions_7d": r.mentions_7d,
                                            "mentions_30d": r.mentions_30d}) for r in topics.list_topics(session=db)]


@router.post("/topics", response_model=TopicSaved, status_code=201, responses=SAVE_ERRORS)
def create_topic(request: Request, db: DB, user: WriterUser, body: topics.TopicIn, response: Response) -> TopicSaved:
    """Creates the topic and queues the job that looks for its mentions in the last year."""
    topic, job = topics.create_topic(body, session=db, actor=actor_for(request, user))
    out = _topic_out(db, topic, job.id)
    db.commit()
    response.headers["Location"] = f"/api/v1/topics/{topic.id}"
    return out


@router.post("/topics/test", response_model=topics.TryOut, responses=ERRORS)
def test_text(db: DB, user: CurrentUser, body: topics.TryIn) -> topics.TryOut:
    """Which terms a text matches (the given terms, a saved topic's, or else every active topic's).
    Nothing is written."""
    return topics.try_text(body, session=db)


@router.get("/topics/{topic_id}", response_model=topics.TopicOut, responses=ERRORS)
def get_topic(db: DB, user: CurrentUser, topic_id: IdPath) -> topics.TopicOut:
    return _topic_out(db, topics.get_topic(topic_id, session=db))


@router.patch("/topics/{topic_id}", response_model=TopicSaved, responses=SAVE_ERRORS)
def patch_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath, body: topics.TopicPatch) -> TopicSaved:
    """Only the fields sent change. When the terms, exclusions or switch change, the history is
    matched again (`listen_job_id`)."""
    topic, job = topics.update_topic(topic_id, body, session=db, actor=actor_for(request, user))
    out = _topic_out(db, topic, job.id if job else None)
    db.commit()
    return out


@router.delete("/topics/{topic_id}", status_code=204, responses=ERRORS)
def delete_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath) -> Response:
    """Deletes the topic and its mentions (the interactions stay)."""
    topics.delete_topic(topic_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


@router.get("/mentions", response_model=Page[MentionOut], responses=ERRORS)
def list_mentions(db: DB, user: CurrentUser, params: Annotated[mentions.MentionQuery, Query()]) -> Page[MentionOut]:
    listing = mentions.mention_rows(params, session=db)
    return Page[MentionOut](items=[_mention_out(r) for r in listing.rows], total=listing.total, page=listing.page,
                            per_page=listing.per_page, pages=listing.pages)


@router.post("/mentions", response_model=CapturedOut, status_code=201, responses=MENTION_ERRORS)
def capture_mention(request: Request, db: DB, user: WriterUser, body: mentions.CaptureIn,
                    response: Response) -> CapturedOut:
    """Capture a mention by hand: the author is `profile_id`, or `platform` + `handle` (found through
    that identity, or added as a prospect). An author that cannot be resolved is a 422, nothing written."""
    captured = mentions.capture(body, session=db, actor=actor_for(request, user))
    out = CapturedOut(interaction_id=captured.interaction.id or 0, profile_id=captured.profile.id or 0,
                      person_created=captured.person_created,
                      topics=[TopicHitOut(topic_id=h.topic_id, name=h.name, term=h.term) for h in captured.topics])
    db.commit()
    response.headers["Location"] = f"/api/v1/interactions/{out.interaction_id}"
    return out


@router.put("/interactions/{interaction_id}/sentiment", response_model=MentionOut, responses=MENTION_ERRORS)
def correct_sentiment(request: Request, db: DB, user: WriterUser, interaction_id: IdPath,
                      body: mentions.SentimentIn) -> MentionOut:
    """A person's label: negative -0.6, neutral 0, positive 0.6, unknown null; marked `corrected`."""
    mentions.correct_sentiment(interaction_id, body.sentiment, session=db, actor=actor_for(request, user))
    out = _mention_out(mentions.mention_row(interaction_id, session=db))
    db.commit()
    return out


def _words_out(words: lexicons.WordList) -> lexicons.WordsOut:
    return lexicons.WordsOut(language=words.language, edited=words.edited, words=dict(words.words),
                             updated_at=words.updated_at)


@router.get("/sentiment-words/{language}", response_model=lexicons.WordsOut, responses=WORD_ERRORS)
def get_words(db: DB, user: CurrentUser, language: str) -> lexicons.WordsOut:
    return _words_out(lexicons.word_list(language, session=db))


@router.put("/sentiment-words/{language}", response_model=lexicons.WordsOut, responses=WORD_ERRORS)
def put_words(request: Request, db: DB, user: WriterUser, language: str, body: lexicons.WordsIn) -> lexicons.WordsOut:
    """Replaces the language's list. Estimates already made keep their value (re-estimate from the page)."""
    words = lexicons.save_words(language, body, session=db, actor=actor_for(request, user))
    db.commit()
    return _words_out(words)
