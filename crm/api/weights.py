"""JSON API for the score weight sets (list, create, read, preview, activate) and for why a person
has their score (the explanation and the history): the same services as the HTML pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.profiles.detail import score_history, score_panel
from crm.ranking import boards, service
from crm.ranking.boards import PreviewRow
from crm.ranking.models import WeightSetIn, WeightSetOut, level_name
from crm.schemas import OUT_CONFIG, Page

router = APIRouter(tags=["ranking"])

SET_ERRORS = error_responses(e404="No such weight set")
ACTIVATE_ERRORS = error_responses(e404="No such weight set", e409="That version is already active, or another "
                                  "was activated at the same moment")
CREATE_ERRORS = error_responses(e409="Another version was saved at the same moment; try again")
PROFILE_ERRORS = error_responses(e404="No such profile")


# ---- weight sets ------------------------------------------------------------------------------


class PreviewRowOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    rank_before: int
    rank_after: int
    moved: int = Field(description="Places gained (positive) or lost (negative)")
    score_before: float
    score_after: float
    level_before: int
    level_after: int


class PreviewOut(BaseModel):
    """Everyone's scores under the active weights and under this version, on today's data."""

    model_config = OUT_CONFIG

    weight_set_id: int
    version: int
    active: bool = Field(description="This version is the active one (then nobody moves)")
    people: int = Field(description="People ranked (team members are not)")
    moved_up: int
    moved_down: int
    up: list[PreviewRowOut] = Field(description="Who moves up most, most first")
    down: list[PreviewRowOut] = Field(description="Who moves down most, most first")
    level_changes: list[PreviewRowOut]
    level_counts_before: dict[str, int] = Field(description="People at each level (champion … observer) now")
    level_counts_after: dict[str, int] = Field(description="… and with this version")
    top_before: list[PreviewRowOut]
    top_after: list[PreviewRowOut]


class ActivationOut(BaseModel):
    model_config = OUT_CONFIG

    weight_set: WeightSetOut
    recompute_job_id: int | None = Field(description="The recompute job that applies it (None: one was already waiting)")


def _row(row: PreviewRow) -> PreviewRowOut:
    return PreviewRowOut(profile_id=row.profile_id, name=row.name, rank_before=row.rank_before, rank_after=row.rank_after,
                         moved=row.moved, score_before=round(row.score_before, 4), score_after=round(row.score_after, 4),
                         level_before=row.level_before, level_after=row.level_after)


def _counts(counts: dict[int, int]) -> dict[str, int]:
    return {level_name(level): count for level, count in sorted(counts.items())}


@router.get("/ranking/weights", response_model=Page[WeightSetOut], responses=SET_ERRORS)
def list_weight_sets(db: DB, user: CurrentUser) -> Page[WeightSetOut]:
    """Every version, newest first (there are few: one page)."""
    items = [WeightSetOut.model_validate(ws) for ws in service.list_weight_sets(session=db)]
    return Page[WeightSetOut](items=items, total=len(items), page=1, per_page=max(len(items), 1), pages=1)


@router.post("/ranking/weights", response_model=WeightSetOut, status_code=201, responses=CREATE_ERRORS)
def create_weight_set(request: Request, db: DB, user: WriterUser, body: WeightSetIn, response: Response) -> WeightSetOut:
    """A new, inactive version: preview it, then activate it."""
    created = service.create_weight_set(body, session=db, actor=actor_for(request, user))
    out = WeightSetOut.model_validate(created)
    db.commit()
    response.headers["Location"] = f"/api/v1/ranking/weights/{created.id}"
    return out


@router.get("/ranking/weights/{weight_set_id}", response_model=WeightSetOut, responses=SET_ERRORS)
def get_weight_set(db: DB, user: CurrentUser, weight_set_id: IdPath) -> WeightSetOut:
    return WeightSetOut.model_validate(service.get_weight_set(weight_set_id, session=db))


@router.get("/ranking/weights/{weight_set_id}/preview", response_model=PreviewOut, responses=SET_ERRORS)
def preview_weight_set(db: DB, user: CurrentUser, weight_set_id: IdPath) -> PreviewOut:
    """Who would move up or down, and whose level would change, if this version were active."""
    ws = service.get_weight_set(weight_set_id, session=db)
    found = boards.preview(ws.weights, session=db)
    return PreviewOut(
        weight_set_id=ws.id or 0, version=ws.version, active=ws.active, people=found.people, moved_up=found.moved_up,
        moved_down=found.moved_down, up=[_row(r) for r in found.up], down=[_row(r) for r in found.down],
        level_changes=[_row(r) for r in found.level_changes],
        level_counts_before=_counts(found.level_counts_before), level_counts_after=_counts(found.level_counts_after),
        top_before=[_row(r) for r in found.top_before], top_after=[_row(r) for r in found.top_after])


@router.post("/ranking/weights/{weight_set_id}/activate", response_model=ActivationOut, responses=ACTIVATE_ERRORS)
def activate_weight_set(request: Request, db: DB, user: WriterUser, weight_set_id: IdPath) -> ActivationOut:
    """Make this version the one scores use (audited) and queue a recompute with it."""
    activated = service.activate(weight_set_id, session=db, actor=actor_for(request, user))
    job = service.request_recompute(session=db, reason="weights")
    out = ActivationOut(weight_set=WeightSetOut.model_validate(activated), recompute_job_id=job.id if job else None)
    db.commit()
    return out


# ---- a person's score -------------------------------------------------------------------------


class ComponentOut(BaseModel):
    model_config = OUT_CONFIG

    name: str = Field(description="reach, advocacy or influence")
    value: float = Field(description="Weighted reach; advocacy points; influence (1.0 is the average person)")
    percentile: float = Field(description="0..1: the share of other people with a lower value")
    weight: float = Field(description="As set in the weight set")
    share: float = Field(description="weight / the sum of the three weights")
    points: float = Field(description="100 × share × percentile: what this component adds to the score")


class ReachPartOut(BaseModel):
    model_config = OUT_CONFIG

    platform: str
    handle: str
    followers: int
    presence: bool = Field(description="Counted as a flat amount (no audience), not by followers")
    factor: float = Field(description="The weight per follower, or the flat amount")
    counted: float


class DriverOut(BaseModel):
    model_config = OUT_CONFIG

    interaction_id: int
    kind: str
    title: str
    occurred_at: datetime
    sentiment: float | None
    points: float = Field(description="Advocacy points it adds (kind weight × tone × decay)")


class LinkOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    kind: str
    strength: float
    influence: float = Field(description="Their own influence (1.0 is the average)")


class HintOut(BaseModel):
    model_config = OUT_CONFIG

    kind: str
    count: int = Field(description="New contributions of this kind (neutral tone) that would earn the points needed")


class NextLevelOut(BaseModel):
    model_config = OUT_CONFIG

    level: int
    level_name: str
    advocacy_needed: float
    hints: list[HintOut]


class RunRefOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    as_of: datetime
    weight_set_id: int | None
    weight_version: int


class ScoreOut(BaseModel):
    """Why a person has their score. Before their first computation `computed` is false and the rest is empty."""

    model_config = OUT_CONFIG

    profile_id: int
    computed: bool
    score: float | None = None
    total_points: float | None = Field(default=None, description="The components' points added up: the score")
    rank: int | None = Field(default=None, description="None for team members (not ranked)")
    ranked: int | None = Field(default=None, description="People ranked in that computation")
    level: int | None = None
    level_name: str | None = None
    computed_level: int | None = Field(default=None, description="What advocacy alone gives now")
    level_held: bool = Field(default=False, description="A better level is kept until a second computation below it")
    next_level: NextLevelOut | None = Field(default=None, description="None for a champion")
    formula: str = ""
    components: list[ComponentOut] = Field(default_factory=list)
    reach_parts: list[ReachPartOut] = Field(default_factory=list)
    contributions: int = 0
    drivers: list[DriverOut] = Field(default_factory=list)
    links: list[LinkOut] = Field(default_factory=list)
    run: RunRefOut | None = None
    weight_version: int | None = None


class HistoryPointOut(BaseModel):
    model_config = OUT_CONFIG

    as_of: datetime
    score: float
    rank: int | None
    level: int
    reach: float
    advocacy: float
    influence: float


class ScoreHistoryOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    items: list[HistoryPointOut] = Field(description="One per stored computation, oldest first")


FORMULA = "score = 100 × Σ weight(c) × percentile(c) / Σ weight(c), c in reach, advocacy, influence"


@router.get("/profiles/{profile_id}/score", response_model=ScoreOut, responses=PROFILE_ERRORS)
def profile_score(db: DB, user: CurrentUser, profile_id: IdPath) -> ScoreOut:
    panel = score_panel(profile_id, session=db)
    ex = panel.explanation
    if ex is None:
        return ScoreOut(profile_id=profile_id, computed=False)
    next_level = None
    if panel.next_level is not None:
        nl = panel.next_level
        next_level = NextLevelOut(level=nl.level, level_name=level_name(nl.level), advocacy_needed=round(nl.needed, 6),
                                  hints=[HintOut(kind=h.kind, count=h.count) for h in nl.hints])
    data: dict[str, Any] = {
        "profile_id": profile_id, "computed": True, "score": ex.score, "total_points": round(ex.total_points, 6),
        "rank": ex.rank, "ranked": ex.ranked, "level": ex.level, "level_name": level_name(ex.level),
        "computed_level": ex.computed_level, "level_held": panel.level_held, "next_level": next_level,
        "formula": FORMULA, "components": [ComponentOut.model_validate(c) for c in ex.components],
        "reach_parts": [ReachPartOut.model_validate(p) for p in ex.reach_parts], "contributions": ex.contributions,
        "drivers": [DriverOut.model_validate(d) for d in ex.drivers], "links": [LinkOut.model_validate(k) for k in ex.links],
        "run": RunRefOut(id=ex.run.id or 0, as_of=ex.run.as_of, weight_set_id=ex.run.weight_set_id,
                         weight_version=ex.run.weight_version),
        "weight_version": ex.weight_version,
    }
    return ScoreOut(**data)


@router.get("/profiles/{profile_id}/score/history", response_model=ScoreHistoryOut, responses=PROFILE_ERRORS)
def profile_score_history(db: DB, user: CurrentUser, profile_id: IdPath) -> ScoreHistoryOut:
    points = score_history(profile_id, session=db)
    return ScoreHistoryOut(profile_id=profile_id, items=[HistoryPointOut.model_validate(p) for p in points])
