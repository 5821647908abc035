"""Mentions as people read them: the list (newest first or by reach, filtered), each row with its
author, topics, the term that matched and its sentiment, which is a correctable hint: an estimated
label shows the words that gave it, and anyone with write access can correct it (audited). And a
mention captured by hand from a URL, its author resolved through their identity or created as a
prospect, logged through the interaction log so that matching runs as for any other interaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from pydantic import Field as PydField
from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions import log
from crm.interactions.models import BODY_MAX, OUR_KINDS, Interaction, InteractionIn, InteractionKind
from crm.listening import match
from crm.listening import sentiment as sentiment_words
from crm.listening.models import Mention, SentimentSource, Topic
from crm.profiles import service as profiles
from crm.profiles import stats
from crm.profiles.identity_urls import is_web_address
from crm.profiles.models import HANDLE_MAX, MAX_COUNT, Identity, IdentityIn, Platform, Profile, ProfileIn, ProfileStatus
from crm.profiles.models import normalise_handle as handle_key
from crm.profiles.search import WordsMatch, search_terms
from crm.schemas import MAX_ID, DbId, InputModel

EXCERPT = 280
# By the sign, as the radar (crm.listening.match.is_negative) and the report's sentiment balance count.


class SentimentLabel(StrEnum):
    negative = "negative"
    neutral = "neutral"
    positive = "positive"
    unknown = "unknown"


# What a person's label stores (the word list's scale is -1..1; a correction is a clear, middling value).
LABEL_VALUE: dict[SentimentLabel, float | None] = {
    SentimentLabel.negative: -0.6, SentimentLabel.neutral: 0.0, SentimentLabel.positive: 0.6,
    SentimentLabel.unknown: None,
}


def label_of(value: float | None) -> SentimentLabel:
    if value is None:
        return SentimentLabel.unknown
    if value < 0:
        return SentimentLabel.negative
    if value > 0:
        return SentimentLabel.positive
    return SentimentLabel.neutral


class MentionSort(StrEnum):
    date = "date"
    reach = "reach"


LISTENED_KINDS = [k for k in InteractionKind if k not in OUR_KINDS]


class MentionQuery(InputModel):
    """Filters of the mentions list (the page and the API)."""

    topic_id: DbId | None = PydField(default=None, description="Mentions of this topic only")
    sentiment: SentimentLabel | None = None
    estimated: bool = PydField(default=False, description="Only those whose sentiment is an estimate")
    channel: str = PydField(default="", max_length=30)
    kind: InteractionKind | None = None
    q: str = PydField(default="", max_length=200, description="The author: name, handle...")
    since: date | None = PydField(default=None, ge=date(1900, 1, 1), le=date(2200, 12, 31),
                                  description="From this day (inclusive, UTC)")
    until: date | None = PydField(default=None, ge=date(1900, 1, 1), le=date(2200, 12, 31),
                                  description="To this day (inclusive, UTC)")
    sort: MentionSort = MentionSort.date
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=50, ge=1, le=200)

    def filters(self) -> dict[str, Any]:
        """The filters in use (for links that keep them)."""
        values = {"topic_id": self.topic_id, "sentiment": self.sentiment, "estimated": self.estimated or None,
                  "channel": self.channel, "kind": self.kind, "q": self.q, "since": self.since, "until": self.until}
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class TopicHit:
    topic_id: int
    name: str
    term: str


@dataclass
class MentionRow:
    interaction_id: int
    profile_id: int
    person: str
    person_reach: int
    person_status: str
    occurred_at: datetime
    kind: str
    channel: str
    url: str
    title: str
    excerpt: str
    reach: int
    sentiment: float | None
    sentiment_source: str
    topics: list[TopicHit] = field(default_factory=list)
    estimate_words: list[tuple[str, int]] = field(default_factory=list)

    @property
    def label(self) -> SentimentLabel:
        return label_of(self.sentiment)

    @property
    def estimated(self) -> bool:
        return self.sentiment_source == SentimentSource.estimated.value

    @property
    def corrected(self) -> bool:
        return self.sentiment_source == SentimentSource.corrected.value


@dataclass
class MentionListing:
    rows: list[MentionRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _conditions(q: MentionQuery) -> list[Any]:
    mention = select(Mention.id).where(Mention.interaction_id == Interaction.id)
    if q.topic_id is not None:
        mention = mention.where(Mention.topic_id == q.topic_id)
    conditions: list[Any] = [exists(mention)]
    if q.sentiment == SentimentLabel.unknown:
        conditions.append(col(Interaction.sentiment).is_(None))
    elif q.sentiment == SentimentLabel.negative:
        conditions.append(col(Interaction.sentiment) < 0)
    elif q.sentiment == SentimentLabel.positive:
        conditions.append(col(Interaction.sentiment) > 0)
    elif q.sentiment == SentimentLabel.neutral:
        conditions.append(col(Interaction.sentiment) == 0)
    if q.estimated:
        conditions.append(Interaction.sentiment_source == SentimentSource.estimated.value)
    if q.channel:
        conditions.append(Interaction.channel == q.channel)
    if q.kind is not None:
        conditions.append(Interaction.kind == q.kind.value)
    if q.since is not None:
        conditions.append(Interaction.occurred_at >= _day_start(q.since))
    if q.until is not None:
        conditions.append(Interaction.occurred_at < _day_start(q.until) + timedelta(days=1))
    terms = search_terms(q.q.replace("\x00", ""))
    if terms:
        conditions.append(col(Interaction.profile_id).in_(select(Profile.id).where(WordsMatch(terms))))
    return conditions


def _excerpt(title: str, body: str) -> str:
    text = " ".join(f"{title or ''} {body or ''}".split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1].rstrip() + "…"


def _rows(items: list[tuple[Interaction, Profile]], *, session: Session) -> list[MentionRow]:
    ids = [i.id or 0 for i, _ in items]
    hits: dict[int, list[TopicHit]] = defaultdict(list)
    if ids:
        found = session.exec(select(Mention.interaction_id, Mention.topic_id, Topic.name, Mention.term)
                             .join(Topic, col(Topic.id) == Mention.topic_id)
                             .where(col(Mention.interaction_id).in_(ids)).order_by(func.lower(Topic.name)))
        for iid, tid, name, term in found:
            hits[iid].append(TopicHit(tid, name, term))
    lists = match.lexicons(session.connection()) if any(
        i.sentiment_source == SentimentSource.estimated.value for i, _ in items) else {}
    rows = []
    for item, person in items:
        words: list[tuple[str, int]] = []
        if item.sentiment_source == SentimentSource.estimated.value:
            guess = sentiment_words.estimate(f"{item.title or ''}\n{item.body or ''}", lists)
            words = list(guess.found) if guess else []
        rows.append(MentionRow(
            interaction_id=item.id or 0, profile_id=person.id or 0, person=person.display_name, person_reach=person.reach,
            person_status=person.status, occurred_at=item.occurred_at, kind=item.kind, channel=item.channel,
            url=item.url, title=item.title, excerpt=_excerpt(item.title, item.body), reach=item.reach,
            sentiment=item.sentiment, sentiment_source=item.sentiment_source, topics=hits.get(item.id or 0, []),
            estimate_words=words))
    return rows


def mention_rows(query: MentionQuery, *, session: Session) -> MentionListing:
    """One row per interaction that mentions a topic (with all the topics it mentions)."""
    conditions = _conditions(query)
    total = session.exec(select(func.count()).select_from(Interaction).where(*conditions)).one()
    order = ([col(Interaction.reach).desc(), col(Interaction.occurred_at).desc()] if query.sort == MentionSort.reach
             else [col(Interaction.occurred_at).desc()])
    page = min(query.page, max(1, -(-int(total) // query.per_page)))
    items = session.exec(select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)
                         .where(*conditions).order_by(*order, col(Interaction.id).desc())
                         .offset((page - 1) * query.per_page).limit(query.per_page)).all()
    return MentionListing(rows=_rows(list(items), session=session), total=int(total), page=page, per_page=query.per_page)


def mention_row(interaction_id: int, *, session: Session) -> MentionRow:
    """One interaction as a row of the list (whether or not it mentions a topic)."""
    found = session.exec(select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)
                         .where(Interaction.id == interaction_id)).first()
    if found is None:
        raise NotFound(gettext("There is no interaction with id %(id)s.") % {"id": interaction_id})
    return _rows([found], session=session)[0]


def channels(*, session: Session) -> list[str]:
    """The channels mentions came through (for the filter)."""
    query = (select(Interaction.channel).where(Interaction.channel != "")
             .where(exists(select(Mention.id).where(Mention.interaction_id == Interaction.id)))
             .distinct().order_by(Interaction.channel).limit(100))
    return [c for c in session.exec(query) if c]


def topic_choices(*, session: Session) -> list[tuple[int, str]]:
    return [(t.id or 0, t.name) for t in session.exec(select(Topic).order_by(func.lower(Topic.name)))]


# ---- correcting a sentiment -------------------------------------------------------------------

class SentimentIn(InputModel):
    sentiment: SentimentLabel = PydField(description="negative (-0.6), neutral (0), positive (0.6) or unknown (null)")


def correct_sentiment(interaction_id: int, label: SentimentLabel, *, session: Session, actor: Actor) -> Interaction:
    """A person's label replaces whatever was there (source, estimate or an earlier correction)."""
    item = session.get(Interaction, interaction_id)
    if item is None:
        raise NotFound(gettext("There is no interaction with id %(id)s.") % {"id": interaction_id})
    if item.kind in OUR_KINDS:
        raise InvalidInput(gettext("Notes and our own outreach have no sentiment to correct."))
    before = {"id": item.id, "sentiment": item.sentiment, "sentiment_source": item.sentiment_source}
    item.sentiment = LABEL_VALUE[label]
    item.sentiment_source = SentimentSource.corrected.value
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    match.refresh_negative(session.connection(), [interaction_id])  # the radar follows the correction
    stats.refresh([item.profile_id], session=session)
    audit.record(session=session, actor=actor, action=AuditAction.sentiment_correct, object_type="profile",
                 object_id=item.profile_id, before=before,
                 after={"id": item.id, "sentiment": item.sentiment, "sentiment_source": item.sentiment_source})
    return item


# ---- capturing a mention by hand ----------------------------------------------------------------

class CaptureIn(InputModel):
    """A mention seen somewhere, captured by hand. The author is a person already in Altavoz
    (`profile_id`), or a platform and handle: found through that identity, or added as a prospect."""

    url: str = PydField(min_length=1, max_length=500, description="Where it was said")
    text: str = PydField(min_length=1, max_length=BODY_MAX, description="What was said")
    title: str = PydField(default="", max_length=300)
    profile_id: DbId | None = PydField(default=None, description="The author, if already in Altavoz")
    platform: Platform | None = PydField(default=None, description="The author's platform (with `handle`)")
    handle: str = PydField(default="", max_length=HANDLE_MAX, description="The author's handle on `platform`")
    name: str = PydField(default="", max_length=200, description="The author's name, if they are added as a prospect")
    occurred_at: datetime | None = PydField(default=None, description="When it was said (default: now; naive = UTC)")
    kind: InteractionKind = InteractionKind.mention
    channel: str = PydField(default="", max_length=30, description="Default: the author's platform")
    reach: int = PydField(default=0, ge=0, le=MAX_COUNT, description="Audience reached")
    sentiment: SentimentLabel | None = PydField(default=None, description="Leave out to let the word list estimate it")

    @field_validator("url")
    @classmethod
    def _web(cls, value: str) -> str:
        if not is_web_address(value):
            raise ValueError(gettext("This is not a web address: paste a link such as https://x.com/name/status/1."))
        return value

    @field_validator("kind")
    @classmethod
    def _said_by_them(cls, value: InteractionKind) -> InteractionKind:
        if value in OUR_KINDS:
            raise ValueError(gettext("A mention is something the person said: not outreach nor a note."))
        return value

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value is not None and not 1900 <= value.year <= 2200:  # as for any interaction, checked here for a 422
            raise ValueError(gettext("Give a date between the years 1900 and 2200."))
        if value is not None and value > utcnow() + timedelta(days=1):
            raise ValueError(gettext("A mention seen already cannot be dated in the future."))
        return value

    @model_validator(mode="after")
    def _handle_with_platform(self) -> CaptureIn:
        if self.handle and self.platform is None:
            raise ValueError(gettext("Choose the platform of this handle."))
        return self


class CaptureOut(BaseModel):
    interaction_id: int
    profile_id: int
    person_created: bool
    topics: list[dict[str, Any]]


@dataclass
class Capture:
    interaction: Interaction
    profile: Profile
    person_created: bool
    topics: list[TopicHit]


AUTHOR_ERROR = "author"


def _author(data: CaptureIn, *, session: Session) -> tuple[int | None, IdentityIn | None]:
    """The author's profile id, or the identity of a prospect to add; refuses what names nobody.
    Reads only, so a refusal leaves nothing written."""
    if data.profile_id is not None:
        if session.get(Profile, data.profile_id) is None:
            raise InvalidInput(gettext("Check the highlighted fields."),
                               field_errors={"profile_id": gettext("There is no person with that id.")})
        return data.profile_id, None
    if data.platform is None or not data.handle:
        message = gettext("Pick the person who said it, or give their platform and handle.")
        raise InvalidInput(message, field_errors={AUTHOR_ERROR: message})
    try:
        identity = IdentityIn.model_validate({"platform": data.platform.value, "handle": data.handle})
    except ValidationError as exc:
        problems = exc.errors()
        message = str(problems[0].get("msg", "")).removeprefix("Value error, ") if problems else str(exc)
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors={"handle": message}) from None
    key = handle_key(identity.platform.value, identity.handle)
    found = session.exec(select(Identity.profile_id)
                         .where(Identity.platform == identity.platform.value, Identity.handle_key == key)).first()
    return (int(found), None) if found is not None else (None, identity)


def _shown_name(platform: str, handle: str) -> str:
    """A new prospect's name from their handle; never a whole e-mail address (names travel in alerts)."""
    return handle.split("@", 1)[0] if platform == "email" else handle


def capture(data: CaptureIn, *, session: Session, actor: Actor) -> Capture:
    """Logs the mention (matching and the sentiment estimate run as for any interaction) and says
    which topics it matched. An author that cannot be resolved is refused before anything is written."""
    profile_id, new_identity = _author(data, session=session)
    channel = data.channel or (data.platform.value if data.platform else "")
    interaction = InteractionIn.model_validate({
        "kind": data.kind.value, "channel": channel[:30], "occurred_at": data.occurred_at or utcnow(),
        "title": data.title, "body": data.text, "url": data.url, "reach": data.reach,
        "sentiment": LABEL_VALUE[data.sentiment] if data.sentiment else None})
    created = profile_id is None
    if new_identity is not None:
        person = ProfileIn.model_validate({
            "display_name": data.name or _shown_name(new_identity.platform.value, new_identity.handle),
            "status": ProfileStatus.prospect.value,
            "identities": [new_identity.model_dump(exclude_unset=True, mode="json")]})
        profile_id = profiles.create_profile(person, session=session, actor=actor).id
    assert profile_id is not None
    item = log.log_interaction(profile_id, interaction, session=session, actor=actor)
    session.flush()
    found = session.exec(select(Mention.topic_id, Topic.name, Mention.term).join(Topic, col(Topic.id) == Mention.topic_id)
                         .where(Mention.interaction_id == item.id).order_by(func.lower(Topic.name))).all()
    hits = [TopicHit(tid, name, term) for tid, name, term in found]
    audit.record(session=session, actor=actor, action=AuditAction.mention_capture, object_type="profile",
                 object_id=profile_id, after={"interaction_id": item.id, "url": data.url, "person_created": created,
                                              "topics": [h.name for h in hits]})
    return Capture(interaction=item, profile=profiles.get_profile(profile_id, session=session),
                   person_created=created, topics=hits)


def people_choices(q: str, *, session: Session, limit: int = 8) -> list[tuple[int, str]]:
    """People whose name or handle has every word of `q` (the capture form's author picker)."""
    terms = search_terms(q)
    if not terms:
        return []
    query = select(Profile.id, Profile.display_name).where(WordsMatch(terms)).order_by(
        col(Profile.reach).desc()).limit(limit)
    return [(int(pid or 0), name) for pid, name in session.exec(query)]


def person_name(profile_id: int, *, session: Session) -> str:
    if not 1 <= profile_id <= MAX_ID:
        return ""
    person = session.get(Profile, profile_id)
    return person.display_name if person else ""
