"""Who is talking: the crisis priority of mentions from what the CRM knows of their authors (level,
colleague, journalist, earlier tone), and the people behind a set of mentions, most urgent first.
Shared by the radar, alerts and signals, so that all three rank people the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Table, func, select

from crm.interactions.models import Interaction
from crm.listening.models import Mention
from crm.listening.priority import Priority, Standing, crisis_priority, standing_of
from crm.profiles.models import Profile

X: Table = Interaction.__table__  # type: ignore[attr-defined]
M: Table = Mention.__table__  # type: ignore[attr-defined]
P: Table = Profile.__table__  # type: ignore[attr-defined]
CHUNK = 900


@dataclass(frozen=True)
class Author:
    profile_id: int
    name: str
    level: int
    reach: int
    score: float
    is_team_member: bool
    roles: tuple[str, ...]
    status: str
    may_feature: bool
    earlier_mean_sentiment: float | None
    earlier_count: int

    def standing(self) -> Standing:
        return standing_of(level=self.level, is_team_member=self.is_team_member, roles=self.roles,
                           earlier_mean_sentiment=self.earlier_mean_sentiment, earlier_count=self.earlier_count)


def authors(conn: Connection, profile_ids: Sequence[int], *, before: datetime) -> dict[int, Author]:
    """The authors, with the mean sentiment of what each said before `before` (the long-time detractor)."""
    ids = sorted(set(profile_ids))
    out: dict[int, Author] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        earlier = {r.profile_id: (r.mean, r.n) for r in conn.execute(
            select(X.c.profile_id, func.avg(X.c.sentiment).label("mean"), func.count(X.c.sentiment).label("n"))
            .where(X.c.profile_id.in_(chunk), X.c.sentiment.is_not(None), X.c.occurred_at < before)
            .group_by(X.c.profile_id))}
        for r in conn.execute(select(P.c.id, P.c.display_name, P.c.level, P.c.reach, P.c.score, P.c.is_team_member,
                                     P.c.roles, P.c.status, P.c.may_feature).where(P.c.id.in_(chunk))):
            mean, n = earlier.get(r.id, (None, 0))
            out[r.id] = Author(profile_id=r.id, name=r.display_name, level=int(r.level or 4), reach=int(r.reach or 0),
                               score=float(r.score or 0), is_team_member=bool(r.is_team_member),
                               roles=tuple(r.roles or ()), status=r.status, may_feature=bool(r.may_feature),
                               earlier_mean_sentiment=float(mean) if mean is not None else None, earlier_count=int(n))
    return out


@dataclass(frozen=True)
class RankedMention:
    mention_id: int
    interaction_id: int
    topic_id: int
    author: Author
    occurred_at: datetime
    kind: str
    channel: str
    title: str
    body: str
    url: str
    sentiment: float | None
    sentiment_source: str
    priority: Priority


MENTION_COLUMNS = (M.c.id.label("mention_id"), M.c.interaction_id, M.c.topic_id, M.c.profile_id, M.c.occurred_at,
                   X.c.kind, X.c.channel, X.c.title, X.c.body, X.c.url, X.c.reach, X.c.sentiment, X.c.sentiment_source)


def rank(conn: Connection, rows: Sequence[object], *, before: datetime) -> list[RankedMention]:
    """Mention rows (MENTION_COLUMNS) with their priority, most urgent first."""
    people = authors(conn, [r.profile_id for r in rows], before=before)  # type: ignore[attr-defined]
    ranked = []
    for r in rows:
        author = people.get(r.profile_id)  # type: ignore[attr-defined]
        if author is None:
            continue
        value = crisis_priority(sentiment=r.sentiment, kind=r.kind,  # type: ignore[attr-defined]
                                audience=max(author.reach, int(r.reach or 0)),  # type: ignore[attr-defined]
                                standing=author.standing())
        ranked.append(RankedMention(
            mention_id=r.mention_id, interaction_id=r.interaction_id, topic_id=r.topic_id,  # type: ignore[attr-defined]
            author=author, occurred_at=r.occurred_at, kind=r.kind, channel=r.channel,  # type: ignore[attr-defined]
            title=r.title, body=r.body, url=r.url, sentiment=r.sentiment,  # type: ignore[attr-defined]
            sentiment_source=r.sentiment_source, priority=value))  # type: ignore[attr-defined]
    ranked.sort(key=lambda m: (-m.priority.value, -m.author.reach, m.mention_id))
    return ranked


def ranked_mentions(conn: Connection, mention_ids: Sequence[int], *, before: datetime) -> list[RankedMention]:
    ids = sorted(set(mention_ids))
    rows: list[object] = []
    for start in range(0, len(ids), CHUNK):
        rows += conn.execute(select(*MENTION_COLUMNS).join(X, X.c.id == M.c.interaction_id)
                             .where(M.c.id.in_(ids[start:start + CHUNK]))).all()
    return rank(conn, rows, before=before)


@dataclass
class Speaker:
    """One person behind a burst: how many of its mentions are theirs, and their most urgent one."""

    author: Author
    mentions: int = 0
    negative: int = 0
    top: RankedMention | None = None
    mention_ids: list[int] = field(default_factory=list)


def who_is_talking(ranked: Sequence[RankedMention]) -> list[Speaker]:
    """The people behind ranked mentions, ordered by their most urgent mention, then by how many."""
    speakers: dict[int, Speaker] = {}
    for m in ranked:
        s = speakers.setdefault(m.author.profile_id, Speaker(author=m.author))
        s.mentions += 1
        s.negative += 1 if m.priority.negativity > 0 else 0
        s.mention_ids.append(m.mention_id)
        if s.top is None or m.priority.value > s.top.priority.value:
            s.top = m
    return sorted(speakers.values(), key=lambda s: (-(s.top.priority.value if s.top else 0), -s.mentions,
                                                    s.author.profile_id))
