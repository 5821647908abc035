"""JSON API for the points ledger, the point rules and their re-scoring, and the "not yet thanked"
queue: the same services as the HTML pages (crm.web.recognition_queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.profiles.service import get_profile
from crm.recognition import ledger, pages, rescore
from crm.recognition import queue as q
from crm.recognition.models import AwardIn, BalanceOut, EntryOut, PointRuleIn, PointRuleSetIn
from crm.schemas import OUT_CONFIG, InputModel, Page

router = APIRouter(tags=["points"])

ERRORS = error_responses(e404="No such person or entry", e409="Reversed already, or saved at the same moment")


class PointsOut(BaseModel):
    balance: BalanceOut
    entries: Page[EntryOut]


class ReverseIn(InputModel):
    reason: str = PydField(min_length=1, max_length=300, description="Why the points are taken back")


class RuleSetOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    version: int
    starts_at: datetime
    rules: list[PointRuleIn]
    note: str
    created_by_id: int | None
    created_at: datetime
    in_force: bool = PydField(description="The version that applies to interactions happening now")


class QueueRowOut(BaseModel):
    profile_id: int
    name: str
    level: int
    contributions: int
    by_kind: dict[str, int]
    points: int = PydField(description="Points the unthanked contributions earned")
    value: float = PydField(description="What orders the queue: points, or advocacy weight × 5 where none")
    first_at: datetime
    last_at: datetime
    last_recognised_at: datetime | None
    best_interaction_id: int | None
    best_kind: str
    best_title: str
    best_at: datetime | None


class ThankOut(BaseModel):
    thanked: int


class RescorePersonOut(BaseModel):
    profile_id: int
    name: str
    interactions: int
    delta: int = PydField(description="Change of the spendable balance")
    held_delta: int = PydField(description="Change of the points held for review")


class RescoreOut(BaseModel):
    since: datetime
    applied: bool
    scanned: int
    interactions: int = PydField(description="Interactions whose points change")
    added: int
    removed: int
    delta: int
    held_delta: int
    people: list[RescorePersonOut]


def _rescore_out(result: rescore.Rescore) -> RescoreOut:
    return RescoreOut(since=result.since, applied=result.applied, scanned=result.scanned,
                      interactions=len(result.changes), added=result.added, removed=result.removed,
                      delta=result.delta, held_delta=result.held_delta,
                      people=[RescorePersonOut(**vars(p)) for p in result.people])


@router.get("/profiles/{profile_id}/points", response_model=PointsOut, responses=ERRORS)
def person_points(db: DB, user: CurrentUser, profile_id: IdPath, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> PointsOut:
    """A person's balance (current, lifetime, held) and ledger entries, newest first."""
    get_profile(profile_id, session=db)
    entries, total = ledger.history(profile_id, session=db, offset=(page - 1) * per_page, limit=per_page)
    balance = ledger.balances([profile_id], conn=db.connection())[profile_id]
    return PointsOut(balance=BalanceOut(profile_id=profile_id, current=balance.current, lifetime=balance.lifetime,
                                        held=balance.held),
                     entries=Page[EntryOut](items=[EntryOut.model_validate(e) for e in entries], total=total,
                                            page=page, per_page=per_page, pages=max(1, -(-total // per_page))))


@router.post("/points/award", response_model=list[EntryOut], status_code=201, responses=ERRORS)
def award(request: Request, db: DB, user: WriterUser, body: AwardIn) -> list[EntryOut]:
    """Points by hand to one or several people; recorded as recognition (they leave the queue)."""
    entries = ledger.award(body, session=db, actor=actor_for(request, user))
    out = [EntryOut.model_validate(e) for e in entries]
    db.commit()
    return out


@router.post("/points/entries/{entry_id}/reverse", response_model=EntryOut, status_code=201, responses=ERRORS)
def reverse(request: Request, db: DB, user: WriterUser, entry_id: IdPath, body: ReverseIn) -> EntryOut:
    """Takes back an earned or awarded entry with a reversal entry (once; 409 the second time)."""
    entry = ledger.reverse(entry_id, body.reason, session=db, actor=actor_for(request, user))
    out = EntryOut.model_validate(entry)
    db.commit()
    return out


def _rule_sets(db: Any) -> list[RuleSetOut]:
    versions, _ = pages.rule_versions(session=db)
    return [RuleSetOut.model_validate({**v.rule_set.model_dump(), "in_force": v.in_force}) for v in reversed(versions)]


@router.get("/points/rules", response_model=list[RuleSetOut], responses=ERRORS)
def rule_sets(db: DB, user: CurrentUser) -> list[RuleSetOut]:
    """Every version of the point rules, oldest first; `in_force` marks the one that applies now."""
    return _rule_sets(db)


@router.post("/points/rules", response_model=RuleSetOut, status_code=201, responses=ERRORS)
def create_rule_set(request: Request, db: DB, user: WriterUser, body: PointRuleSetIn, response: Response) -> RuleSetOut:
    """A new version, in force from `starts_at` (now when left out). Past interactions keep their points
    until re-scored (POST /points/rescore/apply)."""
    created = ledger.create_rule_set(body, session=db, actor=actor_for(request, user))
    out = next(s for s in _rule_sets(db) if s.id == created.id)
    db.commit()
    response.headers["Location"] = "/api/v1/points/rules"
    return out


@router.get("/points/queue", response_model=Page[QueueRowOut], responses=ERRORS)
def queue(db: DB, user: CurrentUser, params: Annotated[q.QueueQuery, Query()]) -> Page[QueueRowOut]:
    """The "not yet thanked" queue: people who contributed in the last `days` days and were not
    recognised since, most valuable first."""
    listing = q.queue(params, session=db)
    items = [QueueRowOut.model_validate(vars(row)) for row in listing.rows]
    return Page[QueueRowOut](items=items, total=listing.total, page=listing.page, per_page=listing.per_page,
                             pages=listing.pages)


@router.post("/points/thank", response_model=ThankOut, responses=ERRORS)
def thank(request: Request, db: DB, user: WriterUser, body: q.ThankIn) -> ThankOut:
    """A thank-you to each person: they leave the queue, and a note goes on their timeline."""
    count = q.thank(list(body.profile_ids), body.note, session=db, actor=actor_for(request, user))
    db.commit()
    return ThankOut(thanked=count)


@router.post("/points/rescore/preview", response_model=RescoreOut, responses=ERRORS)
def rescore_preview(db: DB, user: WriterUser, body: rescore.RescoreIn) -> RescoreOut:
    """What re-scoring the interactions since `since` would change, per person (nothing is written)."""
    return _rescore_out(rescore.preview(body, session=db))


@router.post("/points/rescore/apply", response_model=RescoreOut, responses=ERRORS)
def rescore_apply(request: Request, db: DB, user: WriterUser, body: rescore.RescoreIn) -> RescoreOut:
    """Re-scores: reversals and new grants where the rules now grant something else; audited."""
    out = _rescore_out(rescore.apply(body, session=db, actor=actor_for(request, user)))
    db.commit()
    return out

