"""JSON API: leaderboards, rising and slipping people, score runs and "recompute now" (the same
services as the /ranking pages). The weight sets are crm.api.weights."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.jobs.models import Job
from crm.ranking import boards, runs
from crm.ranking.boards import Board, BoardQuery, Mover, Period
from crm.ranking.models import ScoreRunOut, level_name
from crm.schemas import OUT_CONFIG, Page

router = APIRouter(prefix="/ranking", tags=["ranking"])

ERRORS = error_responses()
Days = Annotated[int, Query(ge=1, le=3650, description="Compare with the computation at least this many days older")]
Limit = Annotated[int, Query(ge=1, le=100, description="How many people")]


class BoardRowOut(BaseModel):
    model_config = OUT_CONFIG

    position: int = PydField(description="Place on this board (1 = first), counting every page")
    profile_id: int
    name: str
    roles: list[str]
    is_team_member: bool
    score: float = PydField(description="Combined score, 0-100")
    rank: int | None = PydField(description="Overall rank among people who are not team members (1 = best)")
    level: int = PydField(description="1 champion, 2 advocate, 3 contributor, 4 observer")
    level_name: str
    reach: float = PydField(description="Weighted reach")
    advocacy: float
    influence: float = PydField(description="PageRank × number of people: 1.0 is the average person")
    period_advocacy: float | None = PydField(description="Advocacy earned in the period, on period boards")


class LeaderboardOut(Page[BoardRowOut]):
    """One page of a leaderboard, and the computation it comes from (all null before the first one)."""

    model_config = OUT_CONFIG

    period: Period
    run_id: int | None
    as_of: datetime | None
    weight_version: int | None


class MoverOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    level: int
    level_name: str
    before: float
    after: float
    change: float


class RankJobOut(BaseModel):
    """A recompute job; poll GET /api/v1/ranking/jobs/{id} until its status is done or failed."""

    model_config = OUT_CONFIG

    id: int
    status: str
    progress: int
    total: int
    counts: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RecomputeOut(BaseModel):
    model_config = OUT_CONFIG

    created: bool = PydField(description="False when a recompute was already waiting: that one is answered")
    job: RankJobOut


def _board_out(board: Board) -> LeaderboardOut:
    items = [BoardRowOut.model_validate({**asdict(row), "level_name": level_name(row.level)}) for row in board.rows]
    run = board.run
    return LeaderboardOut(items=items, total=board.total, page=board.query.page, per_page=board.query.per_page,
                          pages=board.pages, period=board.query.period, run_id=run.id if run else None,
                          as_of=run.as_of if run else None, weight_version=run.weight_version if run else None)


def _movers_out(movers: list[Mover]) -> list[MoverOut]:
    return [MoverOut(profile_id=m.profile_id, name=m.name, level=m.level, level_name=level_name(m.level),
                     before=m.before, after=m.after, change=round(m.change, 6)) for m in movers]


def _job_out(job: Job) -> RankJobOut:
    return RankJobOut.model_validate(job)


@router.get("/leaderboard", response_model=LeaderboardOut, responses=ERRORS)
def leaderboard(db: DB, user: CurrentUser, params: Annotated[BoardQuery, Query()]) -> LeaderboardOut:
    """Overall (by combined score) or for a period (by advocacy earned in the last 30, 90 or 365
    days), optionally of one role, topic or platform; team members only with include_team=true."""
    return _board_out(boards.leaderboard(params, session=db))


@router.get("/rising", response_model=list[MoverOut], responses=ERRORS)
def rising(db: DB, user: CurrentUser, days: Days = 30, limit: Limit = 10) -> list[MoverOut]:
    """The biggest score gains since the computation `days` earlier (team members left out)."""
    return _movers_out(boards.rising(session=db, days=days, limit=limit))


@router.get("/slipping", response_model=list[MoverOut], responses=ERRORS)
def slipping(db: DB, user: CurrentUser, days: Days = 30, limit: Limit = 10) -> list[MoverOut]:
    """Champions and advocates (then) whose advocacy fell the most since `days` earlier."""
    return _movers_out(boards.slipping(session=db, days=days, limit=limit))


@router.get("/runs", response_model=list[ScoreRunOut], responses=ERRORS)
def score_runs(db: DB, user: CurrentUser, limit: Limit = 20) -> list[ScoreRunOut]:
    """The latest computations of everyone's scores, newest first."""
    return [ScoreRunOut.model_validate(run) for run in runs.recent_runs(session=db, limit=limit)]


@router.post("/recompute", status_code=202, response_model=RecomputeOut, responses=ERRORS)
def recompute(request: Request, db: DB, user: WriterUser, response: Response) -> RecomputeOut:
    """Queue a recompute of everyone's scores now (202), or answer the one already waiting."""
    requested = runs.recompute_now(session=db, actor=actor_for(request, user))
    out = RecomputeOut(created=requested.created, job=_job_out(requested.job))
    db.commit()
    response.headers["Location"] = f"/api/v1/ranking/jobs/{requested.job.id}"
    return out


@router.get("/jobs/{job_id}", response_model=RankJobOut, responses=error_responses(e404="No such recompute job"))
def job(db: DB, user: CurrentUser, job_id: IdPath) -> RankJobOut:
    return _job_out(runs.rank_job(job_id, session=db))
