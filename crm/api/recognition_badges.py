"""JSON API for badges: the list, create and edit (writers), holders, awards by hand and taking a
badge back, and one person's badges with their progress toward the others. Same service as the pages
(crm.recognition.badges)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.interactions.log import people_named
from crm.profiles.service import get_profile
from crm.recognition import badges
from crm.recognition.badges import BadgeAwardIn, BadgeIn
from crm.recognition.models import Badge, BadgeAward
from crm.schemas import OUT_CONFIG, Page

if TYPE_CHECKING:  # the partial schema is built at run time; to mypy it is a BadgeIn
    BadgePatchBody = BadgeIn
else:
    BadgePatchBody = badges.BadgePatch

router = APIRouter(tags=["badges"])

ERRORS = error_responses(e404="No such badge")
SAVE_ERRORS = error_responses(e404="No such badge", e409="Another badge has that name",
                              e422="Invalid fields, or criteria that could never be met; `errors` names each field")
AWARD_ERRORS = error_responses(e404="No such badge", e422="Unknown people, or the badge is switched off")
REVOKE_ERRORS = error_responses(e404="No such badge, or the person does not hold it")
PROFILE_ERRORS = error_responses(e404="No such person")
MAX_PER_PAGE = 200


class BadgeOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    name: str
    description: str
    symbol: str
    manual: bool
    criteria: dict[str, Any] | None = PydField(description="BadgeCriteria; null for a manual badge")
    criteria_text: str = PydField(description="The criteria in words, in the request's language")
    active: bool
    holders: int
    created_by_id: int | None
    created_at: datetime


class SavedBadgeOut(BadgeOut):
    awarded: int = PydField(description="People who earned it when it was saved (automatic badges are evaluated for everyone)")


class HolderOut(BaseModel):
    profile_id: int
    name: str
    awarded_at: datetime
    automatic: bool = PydField(description="Earned by meeting the criteria (true) or awarded by hand (false)")
    reason: str
    awarded_by_id: int | None
    awarded_by: str = PydField(description="Who awarded it by hand; empty for automatic awards")


class AwardedOut(BaseModel):
    awarded: list[HolderOut]
    already: list[int] = PydField(description="Ids of people who held the badge already (left as they were)")


class EarnedOut(BaseModel):
    badge_id: int
    name: str
    symbol: str
    awarded_at: datetime
    automatic: bool
    reason: str


class ProgressOut(BaseModel):
    badge_id: int
    name: str
    symbol: str
    count: int = PydField(description="Matching interactions so far (within the window)")
    needed: int
    criteria_text: str


class ProfileBadgesOut(BaseModel):
    profile_id: int
    earned: list[EarnedOut]
    progress: list[ProgressOut] = PydField(description="Active automatic badges not held yet, closest first")


class BadgeListQuery(BaseModel):
    active: bool | None = PydField(default=None, description="Only active (true) or switched-off (false) badges")
    page: int = PydField(default=1, ge=1, le=1_000_000)
    per_page: int = PydField(default=50, ge=1, le=MAX_PER_PAGE)


class HolderQuery(BaseModel):
    page: int = PydField(default=1, ge=1, le=1_000_000)
    per_page: int = PydField(default=50, ge=1, le=MAX_PER_PAGE)


def _badge_out(badge: Badge, holders: int, words: str, cls: type[BadgeOut] = BadgeOut, **extra: Any) -> Any:
    return cls.model_validate({"id": badge.id, "name": badge.name, "description": badge.description,
                               "symbol": badge.symbol, "manual": badge.manual, "criteria": badge.criteria or None,
                               "criteria_text": words, "active": badge.active, "holders": holders,
                               "created_by_id": badge.created_by_id, "created_at": badge.created_at, **extra})


def _saved_out(db: Any, saved: badges.Saved) -> SavedBadgeOut:
    badge = saved.badge
    count = badges.holder_counts([badge.id or 0], conn=db.connection()).get(badge.id or 0, 0)
    names = badges.campaign_names(session=db) if badge.criteria.get("campaign_id") else {}
    out: SavedBadgeOut = _badge_out(badge, count, badges.describe(badge.criteria, names), SavedBadgeOut,
                                    awarded=saved.awarded)
    return out


def _holder_out(award: BadgeAward, name: str, by: str) -> HolderOut:
    return HolderOut(profile_id=award.profile_id, name=name, awarded_at=award.awarded_at, automatic=award.automatic,
                     reason=award.reason, awarded_by_id=award.awarded_by_id, awarded_by=by)


@router.get("/badges", response_model=Page[BadgeOut], responses=ERRORS)
def list_badges(db: DB, user: CurrentUser, params: Annotated[BadgeListQuery, Query()]) -> Page[BadgeOut]:
    rows = badges.list_badges(session=db, active=params.active)
    start = (params.page - 1) * params.per_page
    items = [_badge_out(r.badge, r.holders, r.words) for r in rows[start:start + params.per_page]]
    return Page[BadgeOut](items=items, total=len(rows), page=params.page, per_page=params.per_page,
                          pages=max(1, -(-len(rows) // params.per_page)))


@router.post("/badges", response_model=SavedBadgeOut, status_code=201, responses=SAVE_ERRORS)
def create_badge(request: Request, db: DB, user: WriterUser, body: BadgeIn, response: Response) -> SavedBadgeOut:
    """A manual badge, or an automatic one (evaluated for everyone at once: `awarded` says how many earned it)."""
    saved = badges.create_badge(body, session=db, actor=actor_for(request, user))
    out = _saved_out(db, saved)
    db.commit()
    response.headers["Location"] = f"/api/v1/badges/{saved.badge.id}"
    return out


@router.get("/badges/{badge_id}", response_model=BadgeOut, responses=ERRORS)
def get_badge(db: DB, user: CurrentUser, badge_id: IdPath) -> BadgeOut:
    badge = badges.get_badge(badge_id, session=db)
    count = badges.holder_counts([badge_id], conn=db.connection()).get(badge_id, 0)
    names = badges.campaign_names(session=db) if badge.criteria.get("campaign_id") else {}
    out: BadgeOut = _badge_out(badge, count, badges.describe(badge.criteria, names))
    return out


@router.patch("/badges/{badge_id}", response_model=SavedBadgeOut, responses=SAVE_ERRORS)
def patch_badge(request: Request, db: DB, user: WriterUser, badge_id: IdPath, body: BadgePatchBody) -> SavedBadgeOut:
    """Only the fields sent change. Holders keep their badge whatever changes; new criteria are evaluated
    for everyone (`awarded`)."""
    saved = badges.update_badge(badge_id, body, session=db, actor=actor_for(request, user))
    out = _saved_out(db, saved)
    db.commit()
    return out


@router.get("/badges/{badge_id}/holders", response_model=Page[HolderOut], responses=ERRORS)
def list_holders(db: DB, user: CurrentUser, badge_id: IdPath, params: Annotated[HolderQuery, Query()]) -> Page[HolderOut]:
    listing = badges.holders(badge_id, session=db, page=params.page, per_page=params.per_page)
    return Page[HolderOut](items=[_holder_out(h.award, h.name, h.awarded_by) for h in listing.items],
                           total=listing.total, page=listing.page, per_page=listing.per_page, pages=listing.pages)


@router.post("/badges/{badge_id}/award", response_model=AwardedOut, responses=AWARD_ERRORS)
def award_badge(request: Request, db: DB, user: WriterUser, badge_id: IdPath, body: BadgeAwardIn) -> AwardedOut:
    """By hand, to each person who does not hold it yet (recorded as recognition, audited)."""
    awards = badges.award_badge(badge_id, list(body.profile_ids), session=db, actor=actor_for(request, user),
                                reason=body.reason)
    names = people_named([a.profile_id for a in awards], session=db)
    given = {a.profile_id for a in awards}
    out = AwardedOut(awarded=[_holder_out(a, names.get(a.profile_id, ""), user.name) for a in awards],
                     already=[pid for pid in dict.fromkeys(body.profile_ids) if pid not in given])
    db.commit()
    return out


@router.delete("/badges/{badge_id}/holders/{profile_id}", status_code=204, responses=REVOKE_ERRORS)
def revoke_badge(request: Request, db: DB, user: WriterUser, badge_id: IdPath, profile_id: IdPath) -> Response:
    badges.revoke_badge(badge_id, profile_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


@router.get("/profiles/{profile_id}/badges", response_model=ProfileBadgesOut, responses=PROFILE_ERRORS)
def profile_badges(db: DB, user: CurrentUser, profile_id: IdPath) -> ProfileBadgesOut:
    get_profile(profile_id, session=db)
    earned = [EarnedOut(badge_id=e.badge.id or 0, name=e.badge.name, symbol=e.badge.symbol, awarded_at=e.award.awarded_at,
                        automatic=e.award.automatic, reason=e.award.reason) for e in badges.earned(profile_id, session=db)]
    progress = [ProgressOut(badge_id=p.badge.id or 0, name=p.badge.name, symbol=p.badge.symbol, count=p.count,
                            needed=p.needed, criteria_text=p.words) for p in badges.progress(profile_id, session=db)]
    return ProfileBadgesOut(profile_id=profile_id, earned=earned, progress=progress)
