"""Relevance to a topic or keyword set: who talks about this? Topic overlap plus keywords found in the
person's bio, handles and topics (the folded search text) and in what they contributed recently."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, cast

from pydantic import AfterValidator
from pydantic import Field as PydField
from sqlalchemy import Table, Text, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlmodel import Session

from crm.db import utcnow
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction
from crm.profiles.models import Profile
from crm.profiles.stats import fold
from crm.ranking import scoring
from crm.schemas import InputModel

P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
CANDIDATES = 5_000  # people scored at most (the best-scored among those matching anything)
RECENT_TEXTS = 20  # recent contributions read per person


def _terms(values: list[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        for part in value.split(","):
            term = " ".join(part.split())[:50]
            if term and term.casefold() not in {t.casefold() for t in cleaned}:
                cleaned.append(term)
    return cleaned[:10]


Terms = Annotated[list[str], AfterValidator(_terms)]
Topics = Annotated[list[str], AfterValidator(lambda values: [t.lower() for t in _terms(values)])]  # topics are lower-case


class RelevanceQuery(InputModel):
    topics: Topics = PydField(default_factory=list, max_length=20, description="Topics (comma lists allowed)")
    keywords: Terms = PydField(default_factory=list, max_length=20, description="Words to find in bios and recent posts")
    days: int = PydField(default=365, ge=1, le=3650, description="How far back contributions are read")
    include_team: bool = False
    limit: int = PydField(default=50, ge=1, le=200)



@dataclass
class RelevanceRow:
    profile_id: int
    name: str
    relevance: float  # 0..1
    score: float
    level: int
    topics: list[str] = field(default_factory=list)  # the wanted topics they have
    keywords: list[str] = field(default_factory=list)  # the keywords found


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def relevant(query: RelevanceQuery, *, session: Session) -> list[RelevanceRow]:
    """People ordered by relevance to the topics and keywords (then by score); nothing asked, nobody found."""
    if not query.topics and not query.keywords:
        return []
    folded_keywords = [fold(k) for k in query.keywords]
    since = utcnow() - timedelta(days=query.days)
    contributions = sorted(k.value for k in CONTRIBUTION_KINDS)
    matches: list[Any] = [sql_cast(P.c.topics, Text).like(_like(json.dumps(t)), escape="\\") for t in query.topics]
    matches += [P.c.search_text.like(_like(k), escape="\\") for k in folded_keywords]
    if query.keywords:
        said = select(X.c.profile_id).where(
            X.c.occurred_at >= since, X.c.kind.in_(contributions),
            or_(*(func.lower(X.c.title + " " + X.c.body).like(_like(k.lower()), escape="\\") for k in query.keywords)))
        matches.append(P.c.id.in_(said))
    where = [or_(*matches)]
    if not query.include_team:
        where.append(P.c.is_team_member.is_(False))
    people = session.execute(
        select(P.c.id, P.c.display_name, P.c.topics, P.c.search_text, P.c.score, P.c.level)
        .where(*where).order_by(P.c.score.desc(), P.c.id).limit(CANDIDATES)).all()
    texts: dict[int, list[str]] = defaultdict(list)
    if query.keywords and people:
        ids = [row.id for row in people]
        for start in range(0, len(ids), 500):
            recent = session.execute(
                select(X.c.profile_id, X.c.title, X.c.body)
                .where(X.c.profile_id.in_(ids[start:start + 500]), X.c.occurred_at >= since, X.c.kind.in_(contributions))
                .order_by(X.c.occurred_at.desc())).all()
            for pid, title, body in recent:
                if len(texts[pid]) < RECENT_TEXTS:
                    texts[pid].append(f"{title} {body}")
    wanted = {fold(t): t for t in query.topics}
    rows = []
    for row in people:
        text = " ".join([row.search_text or "", *texts.get(row.id, [])])
        value = scoring.relevance(row.topics or [], text, query.topics, query.keywords)
        if value <= 0:
            continue
        theirs = {fold(t) for t in row.topics or []}
        haystack = fold(text)
        rows.append(RelevanceRow(
            profile_id=row.id, name=row.display_name, relevance=round(value, 4), score=float(row.score or 0),
            level=int(row.level or 4), topics=[t for key, t in wanted.items() if key in theirs],
            keywords=[k for k, f in zip(query.keywords, folded_keywords, strict=True) if f in haystack]))
    rows.sort(key=lambda r: (-r.relevance, -r.score, r.profile_id))
    return rows[:query.limit]
