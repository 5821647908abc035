"""JSON API for the crisis radar: the ranked negative mentions with their factors, the bursts with who is
talking, and the people whose tone changed. The same services as the /listening page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser
from crm.listening import radar
from crm.listening.people import RankedMention, Speaker
from crm.schemas import DbId, Page

router = APIRouter(prefix="/radar", tags=["listening_radar"])

ERRORS = error_responses()


class FactorsOut(BaseModel):
    """priority = negativity × reach_factor × standing_weight"""

    priority: float
    negativity: float
    sentiment: float | None
    sentiment_estimated: bool = PydField(description="The sentiment was estimated by the word list (a hint)")
    reach_factor: float = PydField(description="1 + log10(1 + audience)")
    audience: int = PydField(description="The larger of the author's reach and the post's own reach")
    standing: str = PydField(description="champion, employee, journalist, advocate, contributor, detractor, stranger")
    standing_weight: float
    standing_reason: str


class AuthorOut(BaseModel):
    profile_id: int
    name: str
    level: int
    reach: int


class RadarMentionOut(BaseModel):
    mention_id: int
    interaction_id: int
    topic_ids: list[int]
    author: AuthorOut
    occurred_at: datetime
    kind: str
    channel: str
    title: str
    excerpt: str
    url: str
    factors: FactorsOut


class SpeakerOut(BaseModel):
    author: AuthorOut
    standing: str
    mentions: int
    top_priority: float
    top_interaction_id: int | None
    interaction_ids: list[int]


class BurstOut(BaseModel):
    topic_id: int
    topic_name: str
    start: datetime
    end: datetime
    count: int
    top_priority: float
    interaction_ids: list[int]
    signal_url: str = PydField(description="Opens a signal prefilled with the burst's interactions")
    who_is_talking: list[SpeakerOut]


class ToneOut(BaseModel):
    profile_id: int
    name: str
    level: int
    reach: int
    kind: str = PydField(description='"turned": an advocate whose tone turned negative; "quiet": improbable complaints')
    window_count: int
    window_mean: float | None
    baseline_count: int
    baseline_mean: float | None
    complaints: int
    baseline_activity: int
    expected: float
    p_value: float


def _author(m: RankedMention | Speaker) -> AuthorOut:
    a = m.author
    return AuthorOut(profile_id=a.profile_id, name=a.name, level=a.level, reach=a.reach)


def _mention_out(row: radar.RadarRow) -> RadarMentionOut:
    m, p = row.mention, row.mention.priority
    return RadarMentionOut(
        mention_id=m.mention_id, interaction_id=m.interaction_id, topic_ids=list(row.topic_ids), author=_author(m),
        occurred_at=m.occurred_at, kind=m.kind, channel=m.channel, title=m.title, excerpt=m.body[:300], url=m.url,
        factors=FactorsOut(priority=p.value, negativity=p.negativity, sentiment=m.sentiment,
                           sentiment_estimated=row.estimated, reach_factor=p.reach_factor, audience=p.audience,
                           standing=p.standing.value, standing_weight=p.standing_weight,
                           standing_reason=row.standing_reason))


@router.get("", response_model=Page[RadarMentionOut], responses=ERRORS)
def radar_list(db: DB, user: CurrentUser, params: Annotated[radar.RadarQuery, Query()]) -> Page[RadarMentionOut]:
    """Negative mentions and complaints of the window, the most urgent first (25 a page), with the factors."""
    page = radar.radar_page(params, session=db, clamp=False)
    return Page[RadarMentionOut](items=[_mention_out(r) for r in page.rows], total=page.total, page=page.page,
                                 per_page=page.per_page, pages=page.pages)


class BurstQuery(BaseModel):
    model_config = radar.RadarQuery.model_config

    window: radar.Window = radar.Window.week
    topic: DbId | None = None
    channel: str = PydField(default="", max_length=30)


@router.get("/bursts", response_model=list[BurstOut], responses=ERRORS)
def radar_bursts(db: DB, user: CurrentUser, params: Annotated[BurstQuery, Query()]) -> list[BurstOut]:
    """Runs of a topic's negative mentions (each within 6 hours of the one before, at least 3), with who is talking."""
    query = radar.RadarQuery(window=params.window, topic=params.topic, channel=params.channel)
    out = []
    for b in radar.bursts(query, session=db):
        speakers = [SpeakerOut(author=_author(s), standing=s.author.standing().value, mentions=s.mentions,
                               top_priority=s.top.priority.value if s.top else 0.0,
                               top_interaction_id=s.top.interaction_id if s.top else None,
                               interaction_ids=b.interactions_of.get(s.author.profile_id, []))
                    for s in b.speakers]
        out.append(BurstOut(topic_id=b.topic_id, topic_name=b.topic_name, start=b.start, end=b.end, count=b.count,
                            top_priority=b.top_priority, interaction_ids=b.interaction_ids,
                            signal_url=radar.signal_url(b.interaction_ids), who_is_talking=speakers))
    return out


class ToneQuery(BaseModel):
    model_config = radar.RadarQuery.model_config

    window: radar.Window = radar.Window.week


@router.get("/tone", response_model=list[ToneOut], responses=ERRORS)
def radar_tone(db: DB, user: CurrentUser, params: Annotated[ToneQuery, Query()]) -> list[ToneOut]:
    """People whose tone changed in the window against their own 180 days before it."""
    changes = radar.tone_changes(radar.RadarQuery(window=params.window), session=db)
    return [ToneOut(profile_id=c.flag.profile_id, name=c.name, level=c.level, reach=c.reach, kind=c.flag.kind.value,
                    window_count=c.flag.tone.window_count, window_mean=c.flag.tone.window_mean,
                    baseline_count=c.flag.tone.baseline_count, baseline_mean=c.flag.tone.baseline_mean,
                    complaints=c.flag.tone.complaints, baseline_activity=c.flag.tone.baseline_activity,
                    expected=round(c.flag.expected, 4), p_value=c.flag.p_value) for c in changes]
