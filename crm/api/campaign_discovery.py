"""JSON API: a campaign's candidates, its roster (with the top-k comparison) and warm introductions.
The same services as the pages (crm.campaigns.discovery, crm.campaigns.intros)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.campaigns import discovery, intros
from crm.campaigns.discovery import DiscoverQuery, RosterQuery
from crm.deps import DB, CurrentUser, IdPath
from crm.schemas import OUT_CONFIG

router = APIRouter(tags=["campaigns"])


class PostOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    title: str
    url: str
    kind: str
    occurred_at: datetime


class CandidateOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    roles: list[str]
    level: int
    score: float
    score_rank: int | None
    reach: int
    influence: float
    advocacy: float
    is_team_member: bool
    fit: float
    relevance: float | None
    topics: list[str]
    keywords: list[str]
    posts: list[PostOut]
    stage: str | None
    other_campaigns: list[str]
    likeness: float | None
    shared_topics: list[str]
    topic_jaccard: float
    shared_connections: int
    connected: bool
    same_community: bool


class CandidatesOut(BaseModel):
    mode: str
    total: int
    page: int
    pages: int
    per_page: int
    left_out: dict[str, int]
    items: list[CandidateOut]


@router.get("/campaigns/{campaign_id}/candidates", response_model=CandidatesOut,
            responses=error_responses(e404="No such campaign, or no such person for `like`"))
def candidates(db: DB, user: CurrentUser, campaign_id: IdPath,
               params: Annotated[DiscoverQuery, Query()]) -> CandidatesOut:
    """Candidates for the campaign, best first. mode "relevance": fit = 0.5 × relevance + 0.5 × score/100
    (relevance: 0.6 × share of the campaign's topics + 0.4 × share of its keywords found in bio or recent
    contributions); "score": no topics or keywords, the score alone; "like" (with `like`): 0.5 × topic
    Jaccard + 0.3 × share of that person's connections also connected + 0.2 for the same community.
    `left_out` counts the people each exclusion removed."""
    found = discovery.discover(campaign_id, params, session=db)
    return CandidatesOut(mode=found.mode, total=found.total, page=params.page, pages=found.pages,
                         per_page=params.per_page, left_out={k.value: v for k, v in found.left_out.items()},
                         items=[CandidateOut.model_validate(card) for card in found.cards])


class PickOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    gain: float
    graph_gain: float
    reach_gain: float
    cumulative: float
    fee: float | None
    community: int | None
    stage: str | None


class RosterOut(BaseModel):
    k: int
    pool: int
    coverage: float
    top_k: list[int]
    top_k_coverage: float
    shared: list[int]
    difference_pct: float | None
    top_k_better: bool
    swaps: int
    single_chosen: bool
    budget: float | None
    spent: float
    unknown_fees: list[int]
    second_hop_partial: bool
    picks: list[PickOut]


@router.get("/campaigns/{campaign_id}/roster", response_model=RosterOut,
            responses=error_responses(e404="No such campaign", e422="Invalid fields, or k larger than the candidates left"))
def roster(db: DB, user: CurrentUser, campaign_id: IdPath, params: Annotated[RosterQuery, Query()]) -> RosterOut:
    """k people (default 10) among the discovery ranking's top 200 who together cover the most distinct
    audience: |direct connections| + two_hop_weight × |two hops away| + reach discounted ½ per earlier pick
    in the same community; greedy (by gain per fee within a budget) and a bounded swap pass. Compared with
    the top k by score under the same objective."""
    result = discovery.build_roster(campaign_id, params, session=db)
    r = result.roster
    return RosterOut(
        k=result.k, pool=r.pool, coverage=round(r.value, 3), top_k=r.top_k, top_k_coverage=round(r.top_k_value, 3),
        shared=r.shared, difference_pct=None if r.difference_pct is None else round(r.difference_pct, 2),
        top_k_better=r.top_k_better, swaps=r.swaps, single_chosen=r.single_chosen, budget=r.budget,
        spent=round(r.spent, 2), unknown_fees=r.unknown_fees, second_hop_partial=result.second_hop_partial,
        picks=[PickOut(profile_id=p.id, name=result.people[p.id].name, gain=round(p.gain, 3),
                       graph_gain=round(p.graph_gain, 3), reach_gain=round(p.reach_gain, 3),
                       cumulative=round(p.cumulative, 3), fee=p.fee, community=p.community,
                       stage=result.people[p.id].stage) for p in r.picks])


class HopOut(BaseModel):
    model_config = OUT_CONFIG

    source_id: int
    source_name: str
    target_id: int
    target_name: str
    kinds: list[str]
    strength: float
    last_seen: datetime | None
    cost: float
    interactions: int
    latest_title: str | None
    latest_at: datetime | None


class SuggestionOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    shared_topics: list[str]


class IntroOut(BaseModel):
    profile_id: int
    found: bool
    ours: bool
    path: list[int]
    names: list[str]
    cost: float | None
    hops: list[HopOut]
    limited: bool
    suggestions: list[SuggestionOut]


@router.get("/campaigns/{campaign_id}/intro/{profile_id}", response_model=IntroOut,
            responses=error_responses(e404="No such campaign or person"))
def intro(db: DB, user: CurrentUser, campaign_id: IdPath, profile_id: IdPath) -> IntroOut:
    """The strongest short path (at most 4 links) from a team member or champion to the person. Link cost
    = 1 + (1 − strength) + age penalty (0 within 90 days of last seen, 1 at two years or never dated)."""
    found = intros.warm_intro(campaign_id, profile_id, session=db)
    return IntroOut(profile_id=profile_id, found=found.found, ours=found.ours, path=found.path,
                    names=[found.names[pid] for pid in found.path], cost=found.cost,
                    hops=[HopOut.model_validate(hop) for hop in found.hops], limited=found.limited,
                    suggestions=[SuggestionOut.model_validate(s) for s in found.suggestions])
