"""JSON API: the rewards catalogue, redemptions and their workflow, and the points leaderboard (the
same services as the /recognition pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.recognition import boards, rewards
from crm.recognition.boards import PointsPeriod, PointsQuery
from crm.recognition.models import RedemptionStatus
from crm.recognition.rewards import DecisionIn, FulfilIn, RedemptionIn, RedemptionOut, RewardIn, RewardOut
from crm.schemas import MAX_ID, OUT_CONFIG, Page

if TYPE_CHECKING:  # RewardPatch is built at run time (all_optional), which mypy cannot use as a type
    RewardPatchBody = RewardIn
else:
    RewardPatchBody = rewards.RewardPatch

router = APIRouter(tags=["rewards"])

ERRORS = error_responses(e404="No such reward, redemption or person",
                         e409="The reward is out of stock or no longer offered, or the redemption is past that step")


class RewardItemOut(RewardOut):
    redeemed: int = PydField(description="Redemptions that were not rejected")
    waiting: int = PydField(description="Redemptions waiting for a decision")


@router.get("/rewards", response_model=list[RewardItemOut], responses=ERRORS)
def list_rewards(db: DB, user: CurrentUser, include_inactive: bool = False) -> list[RewardItemOut]:
    """The catalogue, cheapest first (withdrawn rewards only when asked)."""
    return [RewardItemOut.model_validate({**RewardOut.model_validate(card.reward).model_dump(),
                                         "redeemed": card.redeemed, "waiting": card.waiting})
            for card in rewards.catalogue(session=db, include_inactive=include_inactive)]


@router.post("/rewards", response_model=RewardOut, status_code=201, responses=ERRORS)
def create_reward(request: Request, db: DB, user: WriterUser, body: RewardIn, response: Response) -> RewardOut:
    reward = rewards.create_reward(body, session=db, actor=actor_for(request, user))
    out = RewardOut.model_validate(reward)
    db.commit()
    response.headers["Location"] = f"/api/v1/rewards/{reward.id}"
    return out


@router.get("/rewards/{reward_id}", response_model=RewardOut, responses=ERRORS)
def get_reward(db: DB, user: CurrentUser, reward_id: IdPath) -> RewardOut:
    return RewardOut.model_validate(rewards.get_reward(reward_id, session=db))


@router.patch("/rewards/{reward_id}", response_model=RewardOut, responses=ERRORS)
def patch_reward(request: Request, db: DB, user: WriterUser, reward_id: IdPath, body: RewardPatchBody) -> RewardOut:
    """Change the fields sent; `active: false` withdraws the reward, `stock: null` makes it unlimited."""
    reward = rewards.update_reward(reward_id, body, session=db, actor=actor_for(request, user))
    out = RewardOut.model_validate(reward)
    db.commit()
    return out


class RedemptionItemOut(RedemptionOut):
    reward_name: str
    person: str = PydField(description="The person's display name")
    balance: int = PydField(description="The person's current (spendable) points")


@router.get("/redemptions", response_model=Page[RedemptionItemOut], responses=ERRORS)
def list_redemptions(db: DB, user: CurrentUser, status: RedemptionStatus | None = None,
                     profile_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                     per_page: Annotated[int, Query(ge=1, le=500)] = 50) -> Page[RedemptionItemOut]:
    """Redemptions, oldest first: the queue to work through."""
    listing = rewards.redemptions(session=db, status=status, profile_id=profile_id, page=page, per_page=per_page)
    items = [RedemptionItemOut.model_validate({**RedemptionOut.model_validate(row.redemption).model_dump(),
                                               "reward_name": row.reward_name, "person": row.person,
                                               "balance": row.balance}) for row in listing.rows]
    return Page[RedemptionItemOut](items=items, total=listing.total, page=listing.page, per_page=listing.per_page,
                                   pages=listing.pages)


@router.post("/redemptions", response_model=RedemptionOut, status_code=201, responses=ERRORS)
def create_redemption(request: Request, db: DB, user: WriterUser, body: RedemptionIn,
                      response: Response) -> RedemptionOut:
    """Spend the person's points on the reward. It is approved at once, unless it is the person's first
    redemption or the person is flagged (then `status` is requested). 422 when the points do not cover
    the cost; 409 when the reward is out of stock or withdrawn."""
    redemption = rewards.redeem(body.reward_id, body.profile_id, session=db, actor=actor_for(request, user),
                                shipping=body.shipping)
    out = RedemptionOut.model_validate(redemption)
    db.commit()
    response.headers["Location"] = f"/api/v1/redemptions?profile_id={body.profile_id}"
    return out


@router.post("/redemptions/{redemption_id}/approve", response_model=RedemptionOut, responses=ERRORS)
def approve_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath,
                       body: DecisionIn | None = None) -> RedemptionOut:
    redemption = rewards.approve(redemption_id, body.note if body else "", session=db, actor=actor_for(request, user))
    out = RedemptionOut.model_validate(redemption)
    db.commit()
    return out


@router.post("/redemptions/{redemption_id}/reject", response_model=RedemptionOut, responses=ERRORS)
def reject_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath,
                      body: DecisionIn | None = None) -> RedemptionOut:
    """Refused: the points come back (a refund entry) and the item goes back into stock."""
    redemption = rewards.reject(redemption_id, body.note if body else "", session=db, actor=actor_for(request, user))
    out = RedemptionOut.model_validate(redemption)
    db.commit()
    return out


@router.post("/redemptions/{redemption_id}/fulfil", response_model=RedemptionOut, responses=ERRORS)
def fulfil_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath,
                      body: FulfilIn | None = None) -> RedemptionOut:
    redemption = rewards.fulfil(redemption_id, body.tracking if body else "", body.note if body else "",
                                session=db, actor=actor_for(request, user))
    out = RedemptionOut.model_validate(redemption)
    db.commit()
    return out


class PointsRowOut(BaseModel):
    model_config = OUT_CONFIG

    position: int = PydField(description="Place on this board (1 = first), counting every page")
    profile_id: int
    name: str
    is_team_member: bool
    points: int = PydField(description="Lifetime points, or the points of the period")
    lifetime: int = PydField(description="Earned and awarded, net of reversals")
    current: int = PydField(description="Spendable now")
    badges: list[str] = PydField(description="Badge names, in the order they were awarded")


class PointsBoardOut(Page[PointsRowOut]):
    period: PointsPeriod


@router.get("/points/leaderboard", response_model=PointsBoardOut, responses=ERRORS)
def points_leaderboard(db: DB, user: CurrentUser, params: Annotated[PointsQuery, Query()]) -> PointsBoardOut:
    """Lifetime points, or the points of the last 30/90/365 days (earned points count on the day of
    their interaction); team members are left out unless include_team is true."""
    board = boards.leaderboard(params, session=db)
    items = [PointsRowOut(position=r.position, profile_id=r.profile_id, name=r.name, is_team_member=r.is_team_member,
                          points=r.points, lifetime=r.lifetime, current=r.current, badges=[n for _, n in r.badges])
             for r in board.rows]
    return PointsBoardOut(items=items, total=board.total, page=board.query.page, per_page=board.query.per_page,
                          pages=board.pages, period=board.query.period)
