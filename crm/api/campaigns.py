"""JSON API for campaigns, their KPIs, pipeline members and tasks: the same services as the pages.
Discovery and the roster are crm/api/campaign_discovery.py; deliverables and the report
crm/api/campaign_report.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from pydantic import Field as PydField

from crm.api.common import error_responses
from crm.campaigns import pages, service
from crm.campaigns.models import (
    Campaign,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignStatus,
    KpiIn,
    KpiOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MembersIn,
    StageIn,
    TaskIn,
    TaskOut,
    TaskPatch,
)
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.schemas import OUT_CONFIG, Page

router = APIRouter()
campaigns_router = APIRouter(prefix="/campaigns", tags=["campaigns"])
tasks_router = APIRouter(prefix="/tasks", tags=["campaigns"])

ERRORS = error_responses(e404="No such campaign (or KPI, member or task in it)")
ADD_ERRORS = error_responses(e404="No such campaign", e409="The person is already in this campaign")
MAX_PER_PAGE = 200


class CampaignListItem(CampaignOut):
    members: int = PydField(description="People in the pipeline")
    taking_part: int = PydField(description="Members confirmed, with content live or completed")
    open_tasks: int
    overdue_tasks: int


class CampaignListQuery(BaseModel):
    status: CampaignStatus | None = PydField(default=None, description="Only this status; left out: all but archived")
    q: str = PydField(default="", max_length=200, description="Words in the name")
    page: int = PydField(default=1, ge=1, le=1_000_000)
    per_page: int = PydField(default=50, ge=1, le=MAX_PER_PAGE)


class MemberRowOut(MemberOut):
    display_name: str
    last_contact: datetime | None = PydField(description="The latest outreach linked to the campaign")
    outreach: int
    deliverables: int
    reach: int = PydField(description="Summed over their deliverables")
    engagements: int


class AddedOut(BaseModel):
    added: list[MemberOut]
    already: list[int] = PydField(description="Ids of people who were in the campaign already (left as they were)")


class TaskRowOut(TaskOut):
    model_config = OUT_CONFIG

    campaign_name: str
    owner_name: str | None
    profile_name: str | None
    overdue: bool


def _campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign)


def _row_out(row: service.MemberRow) -> MemberRowOut:
    return MemberRowOut.model_validate({**MemberOut.model_validate(row.member).model_dump(),
                                        "display_name": row.profile.display_name, "last_contact": row.last_contact,
                                        "outreach": row.outreach, "deliverables": row.deliverables, "reach": row.reach,
                                        "engagements": row.engagements})


def _task_out(row: service.TaskRow) -> TaskRowOut:
    return TaskRowOut.model_validate({**TaskOut.model_validate(row.task).model_dump(), "campaign_name": row.campaign_name,
                                      "owner_name": row.owner_name, "profile_name": row.profile_name,
                                      "overdue": row.overdue})


# ---- campaigns ---------------------------------------------------------------------------------


@campaigns_router.get("", response_model=Page[CampaignListItem], responses=ERRORS)
def list_campaigns(db: DB, user: CurrentUser, params: Annotated[CampaignListQuery, Query()]) -> Page[CampaignListItem]:
    rows = service.list_campaigns(session=db, status=params.status, q=params.q.strip())
    start = (params.page - 1) * params.per_page
    items = [CampaignListItem.model_validate({**_campaign_out(r.campaign).model_dump(), "members": r.members,
                                              "taking_part": r.taking_part, "open_tasks": r.open_tasks,
                                              "overdue_tasks": r.overdue_tasks}) for r in rows[start:start + params.per_page]]
    pages_count = max(1, -(-len(rows) // params.per_page))
    return Page[CampaignListItem](items=items, total=len(rows), page=params.page, per_page=params.per_page,
                                  pages=pages_count)


@campaigns_router.post("", response_model=CampaignOut, status_code=201, responses=ERRORS)
def create_campaign(request: Request, db: DB, user: WriterUser, body: CampaignIn, response: Response) -> CampaignOut:
    campaign = service.create_campaign(body, session=db, actor=actor_for(request, user))
    out = _campaign_out(campaign)
    db.commit()
    response.headers["Location"] = f"/api/v1/campaigns/{campaign.id}"
    return out


@campaigns_router.get("/{campaign_id}", response_model=CampaignOut, responses=ERRORS)
def get_campaign(db: DB, user: CurrentUser, campaign_id: IdPath) -> CampaignOut:
    return _campaign_out(service.get_campaign(campaign_id, session=db))


@campaigns_router.put("/{campaign_id}", response_model=CampaignOut, responses=ERRORS)
def replace_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: CampaignIn) -> CampaignOut:
    campaign = service.update_campaign(campaign_id, body, session=db, actor=actor_for(request, user))
    out = _campaign_out(campaign)
    db.commit()
    return out


@campaigns_router.patch("/{campaign_id}", response_model=CampaignOut, responses=ERRORS)
def patch_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: CampaignPatch) -> CampaignOut:
    campaign = service.update_campaign(campaign_id, body, session=db, actor=actor_for(request, user), partial=True)
    out = _campaign_out(campaign)
    db.commit()
    return out


@campaigns_router.delete("/{campaign_id}", status_code=204, responses=ERRORS)
def delete_campaign(request: Request, db: DB, user: WriterUser, campaign_id: IdPath) -> Response:
    service.delete_campaign(campaign_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


# ---- KPIs --------------------------------------------------------------------------------------


class KpiRowOut(KpiOut):
    measured: bool = PydField(description="Reach, engagements and contributions are measured from the deliverables")
    name: str


@campaigns_router.get("/{campaign_id}/kpis", response_model=list[KpiRowOut], responses=ERRORS)
def list_kpis(db: DB, user: CurrentUser, campaign_id: IdPath) -> list[KpiRowOut]:
    """The KPIs with their actual values (measured ones computed from the deliverables)."""
    view = pages.overview(campaign_id, session=db)
    return [KpiRowOut.model_validate({**KpiOut.model_validate(row.kpi).model_dump(), "actual": row.actual,
                                      "measured": row.measured, "name": row.name}) for row in view.kpis]


@campaigns_router.post("/{campaign_id}/kpis", response_model=KpiOut, status_code=201, responses=ERRORS)
def add_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: KpiIn) -> KpiOut:
    kpi = service.add_kpi(campaign_id, body, session=db, actor=actor_for(request, user))
    out = KpiOut.model_validate(kpi)
    db.commit()
    return out


@campaigns_router.put("/{campaign_id}/kpis/{kpi_id}", response_model=KpiOut, responses=ERRORS)
def update_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, kpi_id: IdPath, body: KpiIn) -> KpiOut:
    kpi = service.update_kpi(campaign_id, kpi_id, body, session=db, actor=actor_for(request, user))
    out = KpiOut.model_validate(kpi)
    db.commit()
    return out


@campaigns_router.delete("/{campaign_id}/kpis/{kpi_id}", status_code=204, responses=ERRORS)
def delete_kpi(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, kpi_id: IdPath) -> Response:
    service.delete_kpi(campaign_id, kpi_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


# ---- members -----------------------------------------------------------------------------------


@campaigns_router.get("/{campaign_id}/members", response_model=list[MemberRowOut], responses=ERRORS)
def list_members(db: DB, user: CurrentUser, campaign_id: IdPath) -> list[MemberRowOut]:
    service.get_campaign(campaign_id, session=db)
    return [_row_out(row) for row in service.members(campaign_id, session=db)]


@campaigns_router.post("/{campaign_id}/members", response_model=MemberOut, status_code=201, responses=ADD_ERRORS)
def add_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: MemberIn) -> MemberOut:
    """One person; someone already in the campaign is refused (409) with the stage they are at."""
    member = service.add_member(campaign_id, body, session=db, actor=actor_for(request, user))
    out = MemberOut.model_validate(member)
    db.commit()
    return out


@campaigns_router.post("/{campaign_id}/members/bulk", response_model=AddedOut, responses=ERRORS)
def add_members(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: MembersIn) -> AddedOut:
    """Several people at once: those already in stay as they are and are listed under `already`."""
    result = service.add_members(campaign_id, body, session=db, actor=actor_for(request, user))
    out = AddedOut(added=[MemberOut.model_validate(m) for m in result.added], already=result.already)
    db.commit()
    return out


@campaigns_router.patch("/{campaign_id}/members/{member_id}", response_model=MemberOut, responses=ERRORS)
def patch_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath,
                 body: MemberPatch) -> MemberOut:
    member = service.update_member(campaign_id, member_id, body, session=db, actor=actor_for(request, user))
    out = MemberOut.model_validate(member)
    db.commit()
    return out


@campaigns_router.delete("/{campaign_id}/members/{member_id}", status_code=204, responses=ERRORS)
def remove_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath) -> Response:
    service.remove_member(campaign_id, member_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


@campaigns_router.post("/{campaign_id}/members/{member_id}/stage", response_model=MemberOut, responses=ERRORS)
def move_member(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, member_id: IdPath,
                body: StageIn) -> MemberOut:
    """Moves a member to another stage (audited). A declined member needs `reopen: true`."""
    member = service.move_member(campaign_id, member_id, body, session=db, actor=actor_for(request, user))
    out = MemberOut.model_validate(member)
    db.commit()
    return out


# ---- tasks -------------------------------------------------------------------------------------


@campaigns_router.get("/{campaign_id}/tasks", response_model=list[TaskRowOut], responses=ERRORS)
def list_tasks(db: DB, user: CurrentUser, campaign_id: IdPath) -> list[TaskRowOut]:
    service.get_campaign(campaign_id, session=db)
    return [_task_out(row) for row in service.tasks(session=db, campaign_id=campaign_id)]


@campaigns_router.post("/{campaign_id}/tasks", response_model=TaskOut, status_code=201, responses=ERRORS)
def add_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: TaskIn) -> TaskOut:
    task = service.add_task(campaign_id, body, session=db, actor=actor_for(request, user))
    out = TaskOut.model_validate(task)
    db.commit()
    return out


class TaskChange(TaskPatch):
    """Partial update of a task: only the fields sent change; `done` ticks it off (or opens it again)."""

    done: bool | None = None


@campaigns_router.patch("/{campaign_id}/tasks/{task_id}", response_model=TaskOut, responses=ERRORS)
def patch_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath,
               body: TaskChange) -> TaskOut:
    actor = actor_for(request, user)
    sent = body.model_fields_set - {"done"}
    task = service.get_task(campaign_id, task_id, session=db)
    if sent:
        task = service.update_task(campaign_id, task_id, TaskPatch.model_validate(body.model_dump(include=sent)),
                                   session=db, actor=actor, partial=True)
    if body.done is not None:
        task = service.set_task_done(campaign_id, task_id, body.done, session=db, actor=actor)
    out = TaskOut.model_validate(task)
    db.commit()
    return out


@campaigns_router.delete("/{campaign_id}/tasks/{task_id}", status_code=204, responses=ERRORS)
def delete_task(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, task_id: IdPath) -> Response:
    service.delete_task(campaign_id, task_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


class TaskListQuery(BaseModel):
    mine: bool = PydField(default=True, description="Only tasks you own; false: everyone's")
    overdue: bool = PydField(default=False, description="Only open tasks past their due date")
    open: bool = PydField(default=True, description="Only tasks not done yet")


@tasks_router.get("", response_model=list[TaskRowOut], responses=ERRORS)
def all_tasks(db: DB, user: CurrentUser, params: Annotated[TaskListQuery, Query()]) -> list[TaskRowOut]:
    """Tasks across campaigns, the most pressing first (at most 500)."""
    rows = service.tasks(session=db, owner_id=user.id if params.mine else None, open_only=params.open,
                         overdue_only=params.overdue)
    return [_task_out(row) for row in rows]


router.include_router(campaigns_router)
router.include_router(tasks_router)
