"""JSON API for signals, departments and SLA targets: the same services as the HTML pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.listening import routing
from crm.listening import signals as service
from crm.schemas import DbId, Page

router = APIRouter(tags=["signals"])

ERRORS = error_responses(e404="No such signal", e409="Someone else changed it first (already resolved...)")


@router.get("/signals", response_model=Page[service.SignalOut], responses=ERRORS)
def list_signals(db: DB, user: CurrentUser, params: Annotated[service.SignalQuery, Query()]) -> Page[service.SignalOut]:
    """Open signals by default, breached first then by due time. `owner=me` for "my signals";
    `owner=none&department_id=` for a department's queue."""
    listing = service.list_signals(params, session=db, user_id=user.id)
    ids = service.item_ids([row.signal.id or 0 for row in listing.rows], session=db)
    items = [service.SignalOut.model_validate({**row.signal.model_dump(), "interaction_ids": ids[row.signal.id or 0],
                                               "breached": row.sla.breached}) for row in listing.rows]
    return Page[service.SignalOut](items=items, total=listing.total, page=listing.page, per_page=listing.per_page,
                                   pages=listing.pages)


@router.post("/signals", response_model=service.SignalOut, status_code=201, responses=ERRORS)
def create_signal(request: Request, db: DB, user: WriterUser, body: service.SignalIn,
                  response: Response) -> service.SignalOut:
    """Leave `owner_id` out for the suggested owner, or send null for the department's queue."""
    signal = service.create_signal(body, session=db, actor=actor_for(request, user))
    out = service.out(signal, session=db)
    db.commit()
    response.headers["Location"] = f"/api/v1/signals/{signal.id}"
    return out


@router.get("/signals/suggest-owner", response_model=service.SuggestionOut, responses=ERRORS)
def suggest_owner(db: DB, user: CurrentUser, profile_id: Annotated[DbId | None, Query()] = None) -> service.SuggestionOut:
    """Who should act for this person: their profile owner, else the teammate who knows them best, else the
    department's queue (also the answer without a `profile_id`, or for an unknown one)."""
    found = routing.suggest_owner(profile_id, session=db)
    return service.SuggestionOut(user_id=found.user_id, user_name=found.user_name, basis=found.basis, reason=found.reason)


@router.get("/signals/{signal_id}", response_model=service.SignalOut, responses=ERRORS)
def get_signal(db: DB, user: CurrentUser, signal_id: IdPath) -> service.SignalOut:
    return service.out(service.get_signal(signal_id, session=db), session=db)


@router.patch("/signals/{signal_id}", response_model=service.SignalOut, responses=ERRORS)
def patch_signal(request: Request, db: DB, user: WriterUser, signal_id: IdPath,
                 body: service.SignalPatch) -> service.SignalOut:
    signal = service.update_signal(signal_id, body, session=db, actor=actor_for(request, user))
    out = service.out(signal, session=db)
    db.commit()
    return out


@router.post("/signals/{signal_id}/status", response_model=service.SignalOut, responses=ERRORS)
def change_status(request: Request, db: DB, user: WriterUser, signal_id: IdPath,
                  body: service.StatusIn) -> service.SignalOut:
    """One move (resolving needs a `note`); 409 when it is already in that status."""
    signal = service.move(signal_id, body, session=db, actor=actor_for(request, user))
    out = service.out(signal, session=db)
    db.commit()
    return out


@router.post("/signals/{signal_id}/items", response_model=service.SignalOut, responses=ERRORS)
def join_items(request: Request, db: DB, user: WriterUser, signal_id: IdPath, body: service.JoinIn) -> service.SignalOut:
    service.join(signal_id, body, session=db, actor=actor_for(request, user))
    out = service.out(service.get_signal(signal_id, session=db), session=db)
    db.commit()
    return out


@router.post("/signals/{signal_id}/close-loop", response_model=service.SignalOut, responses=ERRORS)
def close_loop(request: Request, db: DB, user: WriterUser, signal_id: IdPath,
               body: service.CloseLoopIn) -> service.SignalOut:
    """Log an outreach to the person's timeline (422 with the reason if they may not be contacted, unless
    `contact_anyway`) and/or set a follow-up date. The signal must be resolved or closed."""
    signal = service.close_loop(signal_id, body, session=db, actor=actor_for(request, user))
    out = service.out(signal, session=db)
    db.commit()
    return out


@router.get("/departments", response_model=list[service.DepartmentOut], responses=ERRORS)
def list_departments(db: DB, user: CurrentUser) -> list[service.DepartmentOut]:
    if service.ensure_defaults(session=db):
        db.commit()
    return [service.DepartmentOut.model_validate(d) for d in service.departments(session=db)]


@router.post("/departments", response_model=service.DepartmentOut, status_code=201,
             responses=error_responses(e409="A department with that name exists"))
def create_department(request: Request, db: DB, user: WriterUser, body: service.DepartmentIn) -> service.DepartmentOut:
    department = service.create_department(body, session=db, actor=actor_for(request, user))
    out = service.DepartmentOut.model_validate(department)
    db.commit()
    return out


@router.get("/sla-targets", response_model=list[service.SlaTargetOut], responses=ERRORS)
def list_sla_targets(db: DB, user: CurrentUser) -> list[service.SlaTargetOut]:
    if service.ensure_defaults(session=db):
        db.commit()
    return [service.SlaTargetOut.model_validate(t) for t in service.sla_targets(session=db)]


@router.put("/sla-targets", response_model=list[service.SlaTargetOut], responses=ERRORS)
def replace_sla_targets(request: Request, db: DB, user: WriterUser, body: service.SlaTargetsIn) -> list[service.SlaTargetOut]:
    """The whole table: a (type, priority) left out has no SLA. Open signals keep their due times."""
    rows = service.save_sla_targets(body, session=db, actor=actor_for(request, user))
    out = [service.SlaTargetOut.model_validate(t) for t in rows]
    db.commit()
    return out
