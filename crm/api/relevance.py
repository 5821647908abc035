"""JSON API: who is relevant to a set of topics or keywords (crm.ranking.relevance)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser
from crm.ranking.relevance import RelevanceQuery, relevant

router = APIRouter(tags=["ranking"])


class RelevanceOut(BaseModel):
    profile_id: int
    name: str
    relevance: float
    score: float
    level: int
    topics: list[str]
    keywords: list[str]


@router.get("/ranking/relevance", response_model=list[RelevanceOut], responses=error_responses())
def relevance(db: DB, user: CurrentUser, params: Annotated[RelevanceQuery, Query()]) -> list[RelevanceOut]:
    """People ordered by relevance (0..1) to the topics and keywords: 0.6 × the share of the topics they
    have + 0.4 × the share of the keywords found in their bio, handles, topics and recent contributions
    (either part alone when only topics or only keywords are given); ties by score."""
    return [RelevanceOut(**row.__dict__) for row in relevant(params, session=db)]
