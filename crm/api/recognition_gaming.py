"""JSON API: points held for review and their decisions, anti-gaming flags and the scan, the reward effect."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.recognition import effect, gaming
from crm.recognition.models import FlagKind, FlagStatus, HoldStatus
from crm.schemas import OUT_CONFIG, DbId, Page

router = APIRouter(tags=["recognition"])

HOLD_ERRORS = error_responses(e404="No held points with this id", e409="These points were reviewed already")
FLAG_ERRORS = error_responses(e404="No flag with this id")


class HoldOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    profile_id: int
    amount: int
    flag: str = PydField(description="Why it is held: burst, ring, duplicate")
    detail: str
    rule_set_id: int | None
    rule: str
    interaction_id: int | None
    generation: int
    status: HoldStatus
    entry_id: int | None = PydField(description="The ledger entry, once granted")
    decided_by_id: int | None
    decided_at: datetime | None
    created_at: datetime


class FlagOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    profile_id: int
    kind: FlagKind
    detail: str
    related: list[int] = PydField(description="The others in the ring, or the likely duplicates")
    status: FlagStatus
    reviewed_by_id: int | None
    reviewed_at: datetime | None
    created_at: datetime


class ScanOut(BaseModel):
    people: int = PydField(description="People whose interactions were looked at")
    rings: int
    duplicates: int = PydField(description="Likely duplicate pairs where both earn points")
    flagged: int = PydField(description="Flags added by this scan")
    flag_ids: list[int]


class EffectOut(BaseModel):
    kind: str = PydField(description="badge or reward")
    item_id: int
    name: str
    received: int = PydField(description="Everyone who got it, measured or not")
    recipients: int = PydField(description="Recipients measured")
    comparison: int = PydField(description="Distinct people in the comparison group")
    recipients_before: float = PydField(description="Contributions per 30 days, 60 days before")
    recipients_after: float
    comparison_before: float
    comparison_after: float
    uplift: float | None = PydField(description="(recipients' after − before) − (comparison's after − before)")
    low: float | None = PydField(description="95 % interval of the uplift")
    high: float | None
    too_small: bool = PydField(description="Fewer than 10 people in a group: too few to tell")
    too_early: bool = PydField(description="The 60 days after have not passed for every recipient")
    waiting: int
    unmatched: int
    partial: int


class FlagFilter(StrEnum):
    active = "active"  # open or confirmed
    open = "open"
    cleared = "cleared"
    confirmed = "confirmed"
    all = "all"


def _page(listing: gaming.Listing) -> dict[str, int]:
    return {"total": listing.total, "page": listing.page, "per_page": listing.per_page, "pages": listing.pages}


@router.get("/points/holds", response_model=Page[HoldOut], responses=error_responses())
def list_holds(db: DB, user: CurrentUser, status: HoldStatus = HoldStatus.pending, profile_id: DbId | None = None,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[HoldOut]:
    """Points held for review (pending by default), oldest first; decided ones newest decision first."""
    listing = gaming.holds(session=db, status=status.value, profile_id=profile_id, page=page, per_page=per_page)
    return Page[HoldOut](items=[HoldOut.model_validate(row.hold) for row in listing.rows], **_page(listing))


@router.post("/points/holds/{hold_id}/grant", response_model=HoldOut, responses=HOLD_ERRORS)
def grant_hold(request: Request, db: DB, user: WriterUser, hold_id: IdPath) -> HoldOut:
    """Grant held points: the ledger gets the earned entry they were held from (audited)."""
    hold = gaming.decide_hold(hold_id, HoldStatus.granted, session=db, actor=actor_for(request, user))
    out = HoldOut.model_validate(hold)
    db.commit()
    return out


@router.post("/points/holds/{hold_id}/reject", response_model=HoldOut, responses=HOLD_ERRORS)
def reject_hold(request: Request, db: DB, user: WriterUser, hold_id: IdPath) -> HoldOut:
    """Reject held points: nothing is added to the ledger (audited)."""
    hold = gaming.decide_hold(hold_id, HoldStatus.rejected, session=db, actor=actor_for(request, user))
    out = HoldOut.model_validate(hold)
    db.commit()
    return out


@router.get("/points/flags", response_model=Page[FlagOut], responses=error_responses())
def list_flags(db: DB, user: CurrentUser, status: FlagFilter = FlagFilter.active,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[FlagOut]:
    """People flagged by the anti-gaming checks; by default the open and confirmed flags (the ones that hold
    points), newest first."""
    statuses = {FlagFilter.active: gaming.ACTIVE, FlagFilter.all: tuple(s.value for s in FlagStatus)}.get(
        status, (status.value,))
    listing = gaming.flags(session=db, statuses=statuses, page=page, per_page=per_page)
    return Page[FlagOut](items=[FlagOut.model_validate(row.flag) for row in listing.rows], **_page(listing))


@router.post("/points/flags/{flag_id}/clear", response_model=FlagOut, responses=FLAG_ERRORS)
def clear_flag(request: Request, db: DB, user: WriterUser, flag_id: IdPath) -> FlagOut:
    """Nothing wrong: the person's future grants flow again (held ones stay for review). Audited."""
    flag = gaming.decide_flag(flag_id, FlagStatus.cleared, session=db, actor=actor_for(request, user))
    out = FlagOut.model_validate(flag)
    db.commit()
    return out


@router.post("/points/flags/{flag_id}/confirm", response_model=FlagOut, responses=FLAG_ERRORS)
def confirm_flag(request: Request, db: DB, user: WriterUser, flag_id: IdPath) -> FlagOut:
    """Gaming: the person's points stay held until someone grants them. Audited."""
    flag = gaming.decide_flag(flag_id, FlagStatus.confirmed, session=db, actor=actor_for(request, user))
    out = FlagOut.model_validate(flag)
    db.commit()
    return out


@router.post("/points/scan", response_model=ScanOut, responses=error_responses())
def scan(request: Request, db: DB, user: WriterUser) -> ScanOut:
    """Look for rings (small groups mostly interacting with each other for points) and likely duplicates
    earning separately; flag the people found (no second flag while one is open)."""
    result = gaming.scan(session=db, actor=actor_for(request, user))
    db.commit()
    return ScanOut(people=result.people, rings=result.rings, duplicates=result.duplicates, flagged=result.flagged,
                   flag_ids=result.flag_ids)


@router.get("/recognition/effect", response_model=list[EffectOut], responses=error_responses())
def reward_effect(db: DB, user: CurrentUser) -> list[EffectOut]:
    """For each badge and reward someone received: contributions per 30 days before and after, for the
    recipients and a comparison group matched on level and prior activity, and the uplift."""
    report = effect.effects(session=db)
    return [EffectOut(kind=row.kind, item_id=row.item_id, name=row.name, received=row.received,
                      recipients=row.effect.recipients, comparison=row.effect.comparison,
                      recipients_before=row.effect.rec_before, recipients_after=row.effect.rec_after,
                      comparison_before=row.effect.cmp_before, comparison_after=row.effect.cmp_after,
                      uplift=row.effect.uplift, low=row.effect.low, high=row.effect.high, too_small=row.effect.small,
                      too_early=row.effect.early, waiting=row.effect.waiting, unmatched=row.effect.unmatched,
                      partial=row.effect.partial) for row in report.rows]
