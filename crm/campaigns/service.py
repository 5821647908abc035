"""Campaigns, their KPIs, pipeline members, tasks, deliverables and quotes.

Every change is audited against the campaign ("campaign", id). Checks come before the first write,
so a refused change leaves nothing half-done; unique-constraint races answer Conflict (409)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select  # more than four columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns.models import (
    OPEN_STATUSES,
    TAKING_PART,
    Campaign,
    CampaignIn,
    CampaignKpi,
    CampaignMember,
    CampaignQuote,
    CampaignStatus,
    CampaignTask,
    KpiIn,
    KpiMetric,
    MemberIn,
    MemberPatch,
    MembersIn,
    QuoteIn,
    Stage,
    StageIn,
    TaskIn,
)
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.log import log_interaction
from crm.interactions.models import OUTREACH_KINDS, Interaction, InteractionIn, InteractionKind
from crm.profiles.models import Profile
from crm.recognition.models import Recognition, RecognitionKind

_CAMPAIGN_FIELDS = tuple(CampaignIn.model_fields)


def _check(message: str, **field_errors: str) -> InvalidInput:
    return InvalidInput(message, field_errors=field_errors)


# ---- campaigns ---------------------------------------------------------------------------------


def get_campaign(campaign_id: int, *, session: Session) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(gettext("There is no campaign with id %(id)s.") % {"id": campaign_id})
    return campaign


def _snapshot(campaign: Campaign) -> dict[str, Any]:
    data = campaign.model_dump(include=set(_CAMPAIGN_FIELDS))
    for key in ("starts_on", "ends_on"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _check_campaign(values: dict[str, Any], *, session: Session) -> None:
    start, end = values.get("starts_on"), values.get("ends_on")
    if start and end and end < start:
        raise _check(gettext("Check the highlighted fields."), ends_on=gettext("The end cannot be before the start."))
    owner = values.get("owner_id")
    if owner is not None and session.get(User, owner) is None:
        raise _check(gettext("Check the highlighted fields."), owner_id=gettext("There is no user with that id."))


def create_campaign(data: CampaignIn, *, session: Session, actor: Actor) -> Campaign:
    values = data.model_dump()
    values["status"] = data.status.value
    _check_campaign(values, session=session)
    if values["owner_id"] is None:
        values["owner_id"] = actor.user_id
    campaign = Campaign(**values, created_by_id=actor.user_id)
    if data.status == CampaignStatus.completed:
        campaign.completed_at = utcnow()
    session.add(campaign)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.campaign_create, object_type="campaign",
                 object_id=campaign.id, after=_snapshot(campaign))
    return campaign


def update_campaign(campaign_id: int, data: CampaignIn, *, session: Session, actor: Actor,
                    partial: bool = False) -> Campaign:
    """All fields (a form or PUT) or, with `partial`, only those sent (PATCH). Completing through
    an edit is allowed; the close-out page is the friendlier way (it thanks people too)."""
    campaign = get_campaign(campaign_id, session=session)
    sent = data.model_fields_set if partial else set(_CAMPAIGN_FIELDS)
    values = {name: getattr(data, name) for name in _CAMPAIGN_FIELDS if name in sent}
    for required in ("name", "status", "currency"):
        if required in values and values[required] is None:
            raise _check(gettext("Some fields cannot be emptied."),
                         **{required: gettext("This field cannot be null; leave it out to keep it.")})
    for name, empty in (("objective", ""), ("brief", ""), ("topics", []), ("keywords", [])):
        if name in values and values[name] is None:  # null empties them
            values[name] = empty
    if "status" in values:
        values["status"] = CampaignStatus(values["status"]).value
    merged = {**_snapshot(campaign), **values,
              "starts_on": values.get("starts_on", campaign.starts_on), "ends_on": values.get("ends_on", campaign.ends_on)}
    _check_campaign({**merged, "owner_id": values.get("owner_id")}, session=session)
    before = _snapshot(campaign)
    for name, value in values.items():
        setattr(campaign, name, value)
    if campaign.status == CampaignStatus.completed and campaign.completed_at is None:
        campaign.completed_at = utcnow()
    elif campaign.status != CampaignStatus.completed:
        campaign.completed_at = None
    campaign.updated_at = utcnow()
    session.add(campaign)
    after = _snapshot(campaign)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record(session=session, actor=actor, action=AuditAction.campaign_update, object_type="campaign",
                     object_id=campaign.id, before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return campaign


def delete_campaign(campaign_id: int, *, session: Session, actor: Actor) -> None:
    """Members, tasks, KPIs and quotes go with it; linked interactions stay on people's timelines."""
    campaign = get_campaign(campaign_id, session=session)
    before = _snapshot(campaign)
    members = session.exec(select(func.count()).where(CampaignMember.campaign_id == campaign_id)).one()
    session.delete(campaign)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.campaign_delete, object_type="campaign",
                 object_id=campaign_id, before={**before, "members": members})


@dataclass
class CampaignRow:
    campaign: Campaign
    members: int = 0
    taking_part: int = 0
    open_tasks: int = 0
    overdue_tasks: int = 0


def list_campaigns(*, session: Session, status: CampaignStatus | None = None, q: str = "",
                   include_archived: bool = False) -> list[CampaignRow]:
    """Campaigns with their pipeline and task counts, newest start first (undated ones last)."""
    query = select(Campaign)
    if status is not None:
        query = query.where(Campaign.status == status.value)
    elif not include_archived:
        query = query.where(Campaign.status != CampaignStatus.archived.value)
    q = q.replace("\x00", "")  # PostgreSQL refuses NUL in text
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
        query = query.where(func.lower(Campaign.name).like(pattern, escape="\\"))
    query = query.order_by(col(Campaign.starts_on).is_(None), col(Campaign.starts_on).desc(), col(Campaign.id).desc())
    campaigns = list(session.exec(query))
    rows = {c.id: CampaignRow(campaign=c) for c in campaigns}
    if not rows:
        return []
    ids = list(rows)
    for cid, stage, count in session.exec(
            select(CampaignMember.campaign_id, CampaignMember.stage, func.count())
            .where(col(CampaignMember.campaign_id).in_(ids))
            .group_by(col(CampaignMember.campaign_id), col(CampaignMember.stage))):
        rows[cid].members += count
        if stage in TAKING_PART:
            rows[cid].taking_part += count
    today = utcnow().date()
    for cid, due_on in session.exec(select(col(CampaignTask.campaign_id), col(CampaignTask.due_on))
                                    .where(col(CampaignTask.campaign_id).in_(ids), col(CampaignTask.done_at).is_(None))):
        rows[cid].open_tasks += 1
        if due_on is not None and due_on < today:
            rows[cid].overdue_tasks += 1
    return [rows[c.id] for c in campaigns]


def active_campaigns(*, session: Session) -> list[Campaign]:
    """Campaigns still open (draft, planning, active): the ones an interaction can be linked to."""
    return list(session.exec(select(Campaign).where(col(Campaign.status).in_([s.value for s in OPEN_STATUSES]))
                             .order_by(col(Campaign.name))))


def _open_for_changes(campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.archived:
        raise InvalidInput(gettext("This campaign is archived; change its status to edit it."))


def check_open(campaign_id: int, *, session: Session) -> Campaign:
    """The campaign, if it may be changed (an archived one may not)."""
    campaign = get_campaign(campaign_id, session=session)
    _open_for_changes(campaign)
    return campaign


def is_deliverable(kind: str) -> bool:
    """What a member published or contributed for a campaign: anything but our outreach and notes."""
    return kind not in {k.value for k in (*OUTREACH_KINDS, InteractionKind.note)}


# ---- KPIs --------------------------------------------------------------------------------------


def kpis(campaign_id: int, *, session: Session) -> list[CampaignKpi]:
    return list(session.exec(select(CampaignKpi).where(CampaignKpi.campaign_id == campaign_id)
                             .order_by(col(CampaignKpi.position), col(CampaignKpi.id))))


def _kpi_snapshot(kpi: CampaignKpi) -> dict[str, Any]:
    return {"id": kpi.id, "metric": kpi.metric, "label": kpi.label, "target": kpi.target, "actual": kpi.actual}


def add_kpi(campaign_id: int, data: KpiIn, *, session: Session, actor: Actor) -> CampaignKpi:
    campaign = get_campaign(campaign_id, session=session)
    _open_for_changes(campaign)
    if data.metric != KpiMetric.custom and session.exec(select(CampaignKpi.id).where(
            CampaignKpi.campaign_id == campaign_id, CampaignKpi.metric == data.metric.value)).first() is not None:
        raise _check(gettext("Check the highlighted fields."),
                     metric=gettext("This campaign has a target for that already: change it instead."))
    position = session.exec(select(func.count()).where(CampaignKpi.campaign_id == campaign_id)).one()
    if position >= 20:
        raise InvalidInput(gettext("A campaign has at most 20 KPIs."))
    kpi = CampaignKpi(campaign_id=campaign_id, metric=data.metric.value, label=data.label, target=data.target,
                      actual=data.actual, position=position)
    session.add(kpi)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.campaign_kpi, object_type="campaign",
                 object_id=campaign_id, after=_kpi_snapshot(kpi))
    return kpi


def _get_kpi(campaign_id: int, kpi_id: int, *, session: Session) -> CampaignKpi:
    kpi = session.get(CampaignKpi, kpi_id)
    if kpi is None or kpi.campaign_id != campaign_id:
        raise NotFound(gettext("This campaign has no KPI with id %(id)s.") % {"id": kpi_id})
    return kpi


def update_kpi(campaign_id: int, kpi_id: int, data: KpiIn, *, session: Session, actor: Actor) -> CampaignKpi:
    check_open(campaign_id, session=session)
    kpi = _get_kpi(campaign_id, kpi_id, session=session)
    before = _kpi_snapshot(kpi)
    kpi.metric, kpi.label, kpi.target, kpi.actual = data.metric.value, data.label, data.target, data.actual
    session.add(kpi)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_kpi, object_type="campaign",
                 object_id=campaign_id, before=before, after=_kpi_snapshot(kpi))
    return kpi


def delete_kpi(campaign_id: int, kpi_id: int, *, session: Session, actor: Actor) -> None:
    check_open(campaign_id, session=session)
    kpi = _get_kpi(campaign_id, kpi_id, session=session)
    before = _kpi_snapshot(kpi)
    session.delete(kpi)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_kpi, object_type="campaign",
                 object_id=campaign_id, before=before)


# ---- members (the pipeline) --------------------------------------------------------------------


def _member_snapshot(member: CampaignMember) -> dict[str, Any]:
    return {"id": member.id, "profile_id": member.profile_id, "stage": member.stage, "fee": member.fee,
            "notes": member.notes, "next_step": member.next_step,
            "next_step_on": member.next_step_on.isoformat() if member.next_step_on else None}


def get_member(campaign_id: int, member_id: int, *, session: Session) -> CampaignMember:
    member = session.get(CampaignMember, member_id)
    if member is None or member.campaign_id != campaign_id:
        raise NotFound(gettext("This campaign has no member with id %(id)s.") % {"id": member_id})
    return member


def member_of(campaign_id: int, profile_id: int, *, session: Session) -> CampaignMember | None:
    return session.exec(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id,
                                                     CampaignMember.profile_id == profile_id)).first()


def add_member(campaign_id: int, data: MemberIn, *, session: Session, actor: Actor) -> CampaignMember:
    """One person; someone already in the campaign is refused with where they are (409)."""
    campaign = get_campaign(campaign_id, session=session)
    _open_for_changes(campaign)
    profile = session.get(Profile, data.profile_id)
    if profile is None:
        raise _check(gettext("Check the highlighted fields."), profile_id=gettext("There is no person with that id."))
    existing = member_of(campaign_id, data.profile_id, session=session)
    if existing is not None:
        raise Conflict(gettext("%(name)s is already in this campaign (%(stage)s).") % {
            "name": profile.display_name, "stage": stage_label(existing.stage)})
    member = CampaignMember(campaign_id=campaign_id, profile_id=data.profile_id, stage=data.stage.value, fee=data.fee,
                            notes=data.notes, added_by_id=actor.user_id)
    _insert_members([member], session=session)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_member_add, object_type="campaign",
                 object_id=campaign_id, after={"members": [_member_snapshot(member)]})
    return member


@dataclass
class Added:
    added: list[CampaignMember] = field(default_factory=list)
    already: list[int] = field(default_factory=list)  # profile ids already in the campaign (left as they were)


def add_members(campaign_id: int, data: MembersIn, *, session: Session, actor: Actor) -> Added:
    """Several people at once (discovery, the roster): those already in stay where they are and are
    reported; unknown ids are refused before anything is written."""
    campaign = get_campaign(campaign_id, session=session)
    _open_for_changes(campaign)
    wanted = list(dict.fromkeys(data.profile_ids))
    known = set(session.exec(select(Profile.id).where(col(Profile.id).in_(wanted))))
    missing = [pid for pid in wanted if pid not in known]
    if missing:
        raise _check(gettext("There is no person with id %(ids)s.") % {"ids": ", ".join(map(str, missing[:10]))},
                     profile_ids=gettext("Unknown people: %(ids)s") % {"ids": ", ".join(map(str, missing[:10]))})
    present = set(session.exec(select(CampaignMember.profile_id).where(
        CampaignMember.campaign_id == campaign_id, col(CampaignMember.profile_id).in_(wanted))))
    result = Added(already=[pid for pid in wanted if pid in present])
    result.added = [CampaignMember(campaign_id=campaign_id, profile_id=pid, stage=data.stage.value,
                                   added_by_id=actor.user_id) for pid in wanted if pid not in present]
    if result.added:
        _insert_members(result.added, session=session)
        audit.record(session=session, actor=actor, action=AuditAction.campaign_member_add, object_type="campaign",
                     object_id=campaign_id, after={"members": [_member_snapshot(m) for m in result.added]})
    return result


def _insert_members(members: list[CampaignMember], *, session: Session) -> None:
    try:
        with session.begin_nested():
            session.add_all(members)
            session.flush()
    except IntegrityError:  # added by someone else a moment ago
        raise Conflict(gettext("Someone added the same person to this campaign a moment ago; reload the page.")) from None


def stage_label(stage: str) -> str:
    """contacted -> "Contacted", content_live -> "Content live", in the page's language (as the `label` filter)."""
    return gettext(stage.replace("_", " ").capitalize())


def move_member(campaign_id: int, member_id: int, data: StageIn, *, session: Session, actor: Actor) -> CampaignMember:
    """One step of the pipeline. A declined member comes back only when asked to (`reopen`)."""
    campaign = get_campaign(campaign_id, session=session)
    _open_for_changes(campaign)
    member = get_member(campaign_id, member_id, session=session)
    if member.stage == data.stage.value:
        return member
    if member.stage == Stage.declined and not data.reopen:
        raise _check(gettext("This person declined. Reopen them to move them back into the pipeline."),
                     stage=gettext("Declined: reopen first."))
    before = member.stage
    member.stage = data.stage.value
    member.stage_changed_at = member.updated_at = utcnow()
    session.add(member)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_member_stage, object_type="campaign",
                 object_id=campaign_id, before={"id": member.id, "profile_id": member.profile_id, "stage": before},
                 after={"id": member.id, "profile_id": member.profile_id, "stage": member.stage})
    return member


def update_member(campaign_id: int, member_id: int, data: MemberPatch, *, session: Session,
                  actor: Actor) -> CampaignMember:
    check_open(campaign_id, session=session)
    member = get_member(campaign_id, member_id, session=session)
    before = _member_snapshot(member)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name in ("notes", "next_step"):
            value = ""
        setattr(member, name, value)
    after = _member_snapshot(member)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        member.updated_at = utcnow()
        session.add(member)
        audit.record(session=session, actor=actor, action=AuditAction.campaign_member_update, object_type="campaign",
                     object_id=campaign_id, before={"id": member.id, **{k: before[k] for k in changed}},
                     after={"id": member.id, **{k: after[k] for k in changed}})
    return member


def remove_member(campaign_id: int, member_id: int, *, session: Session, actor: Actor) -> CampaignMember:
    """Returns the removed row (its values are enough to add the person back: the page offers undo)."""
    check_open(campaign_id, session=session)
    member = get_member(campaign_id, member_id, session=session)
    before = _member_snapshot(member)
    session.delete(member)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_member_remove, object_type="campaign",
                 object_id=campaign_id, before=before)
    return member


@dataclass
class MemberRow:
    member: CampaignMember
    profile: Profile
    last_contact: datetime | None = None
    outreach: int = 0
    deliverables: int = 0
    reach: int = 0  # summed over their deliverables
    engagements: int = 0


def members(campaign_id: int, *, session: Session, stage: Stage | None = None) -> list[MemberRow]:
    """The pipeline with each member's last contact and what they delivered, in board order."""
    query = select(CampaignMember, Profile).join(Profile, col(Profile.id) == CampaignMember.profile_id).where(
        CampaignMember.campaign_id == campaign_id)
    if stage is not None:
        query = query.where(CampaignMember.stage == stage.value)
    rows = {m.profile_id: MemberRow(member=m, profile=p) for m, p in session.exec(
        query.order_by(col(CampaignMember.stage_changed_at).desc(), col(CampaignMember.id)))}
    if not rows:
        return []
    outreach = {k.value for k in OUTREACH_KINDS}
    for pid, kind, count, last, reach, engagements in session.execute(
            sa_select(col(Interaction.profile_id), col(Interaction.kind), func.count(), func.max(Interaction.occurred_at),
                   func.sum(Interaction.reach), func.sum(Interaction.engagements))
            .where(col(Interaction.campaign_id) == campaign_id, col(Interaction.profile_id).in_(list(rows)))
            .group_by(col(Interaction.profile_id), col(Interaction.kind))):
        row = rows[pid]
        if kind in outreach:
            row.outreach += count
            row.last_contact = max(filter(None, (row.last_contact, last)), default=None)
        elif kind != InteractionKind.note:
            row.deliverables += count
            row.reach += int(reach or 0)
            row.engagements += int(engagements or 0)
    return list(rows.values())


def other_active_campaigns(profile_ids: list[int], *, session: Session, except_campaign: int | None = None
                           ) -> dict[int, list[str]]:
    """Person -> names of the other open campaigns they take part in (not declined)."""
    if not profile_ids:
        return {}
    query = (select(CampaignMember.profile_id, Campaign.name).join(Campaign, col(Campaign.id) == CampaignMember.campaign_id)
             .where(col(CampaignMember.profile_id).in_(profile_ids), CampaignMember.stage != Stage.declined.value,
                    col(Campaign.status).in_([s.value for s in OPEN_STATUSES])))
    if except_campaign is not None:
        query = query.where(Campaign.id != except_campaign)
    found: dict[int, list[str]] = {}
    for pid, name in session.exec(query):
        found.setdefault(pid, []).append(name)
    return found


# ---- tasks -------------------------------------------------------------------------------------


def _task_snapshot(task: CampaignTask) -> dict[str, Any]:
    return {"id": task.id, "title": task.title, "goal": task.goal, "owner_id": task.owner_id,
            "due_on": task.due_on.isoformat() if task.due_on else None, "profile_id": task.profile_id,
            "done": task.done_at is not None}


def _check_task(values: dict[str, Any], *, session: Session) -> None:
    if values.get("owner_id") is not None and session.get(User, values["owner_id"]) is None:
        raise _check(gettext("Check the highlighted fields."), owner_id=gettext("There is no user with that id."))
    if values.get("profile_id") is not None and session.get(Profile, values["profile_id"]) is None:
        raise _check(gettext("Check the highlighted fields."), profile_id=gettext("There is no person with that id."))


def get_task(campaign_id: int, task_id: int, *, session: Session) -> CampaignTask:
    task = session.get(CampaignTask, task_id)
    if task is None or task.campaign_id != campaign_id:
        raise NotFound(gettext("This campaign has no task with id %(id)s.") % {"id": task_id})
    return task


def add_task(campaign_id: int, data: TaskIn, *, session: Session, actor: Actor) -> CampaignTask:
    check_open(campaign_id, session=session)
    values = data.model_dump()
    _check_task(values, session=session)
    task = CampaignTask(campaign_id=campaign_id, created_by_id=actor.user_id, **values)
    session.add(task)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.campaign_task, object_type="campaign",
                 object_id=campaign_id, after=_task_snapshot(task))
    return task


def update_task(campaign_id: int, task_id: int, data: TaskIn, *, session: Session, actor: Actor,
                partial: bool = False) -> CampaignTask:
    check_open(campaign_id, session=session)
    task = get_task(campaign_id, task_id, session=session)
    sent = data.model_fields_set if partial else set(TaskIn.model_fields)
    values = {name: getattr(data, name) for name in TaskIn.model_fields if name in sent}
    if "title" in values and not values["title"]:
        raise _check(gettext("Check the highlighted fields."),
                     title=gettext("This field cannot be null; leave it out to keep it."))
    if values.get("goal", "") is None:
        values["goal"] = ""
    _check_task(values, session=session)
    before = _task_snapshot(task)
    for name, value in values.items():
        setattr(task, name, value)
    task.updated_at = utcnow()
    session.add(task)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_task, object_type="campaign",
                 object_id=campaign_id, before=before, after=_task_snapshot(task))
    return task


def set_task_done(campaign_id: int, task_id: int, done: bool, *, session: Session, actor: Actor) -> CampaignTask:
    check_open(campaign_id, session=session)
    task = get_task(campaign_id, task_id, session=session)
    if (task.done_at is not None) == done:
        return task
    before = _task_snapshot(task)
    task.done_at = utcnow() if done else None
    task.updated_at = utcnow()
    session.add(task)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_task, object_type="campaign",
                 object_id=campaign_id, before=before, after=_task_snapshot(task))
    return task


def delete_task(campaign_id: int, task_id: int, *, session: Session, actor: Actor) -> None:
    check_open(campaign_id, session=session)
    task = get_task(campaign_id, task_id, session=session)
    before = _task_snapshot(task)
    session.delete(task)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_task, object_type="campaign",
                 object_id=campaign_id, before=before)


@dataclass
class TaskRow:
    task: CampaignTask
    campaign_name: str
    owner_name: str | None
    profile_name: str | None
    overdue: bool


def tasks(*, session: Session, campaign_id: int | None = None, owner_id: int | None = None,
          open_only: bool = False, overdue_only: bool = False, limit: int = 500) -> list[TaskRow]:
    """Tasks, open ones first by deadline (undated last), then done ones, most recent first."""
    today = utcnow().date()
    query = (select(CampaignTask, Campaign.name, User.name, Profile.display_name)
             .join(Campaign, col(Campaign.id) == CampaignTask.campaign_id)
             .outerjoin(User, col(User.id) == CampaignTask.owner_id)
             .outerjoin(Profile, col(Profile.id) == CampaignTask.profile_id))
    if campaign_id is not None:
        query = query.where(CampaignTask.campaign_id == campaign_id)
    if owner_id is not None:
        query = query.where(CampaignTask.owner_id == owner_id)
    if open_only or overdue_only:
        query = query.where(col(CampaignTask.done_at).is_(None))
    if overdue_only:
        query = query.where(col(CampaignTask.due_on) < today)
    query = query.order_by(col(CampaignTask.done_at).is_not(None), col(CampaignTask.due_on).is_(None),
                           col(CampaignTask.due_on), col(CampaignTask.done_at).desc(), col(CampaignTask.id)).limit(limit)
    return [TaskRow(task=t, campaign_name=name, owner_name=owner, profile_name=person,
                    overdue=t.done_at is None and t.due_on is not None and t.due_on < today)
            for t, name, owner, person in session.exec(query)]


# ---- deliverables and outreach -----------------------------------------------------------------


def log_for_campaign(campaign_id: int, profile_id: int, data: InteractionIn, *, session: Session,
                     actor: Actor) -> Interaction:
    """A deliverable or an outreach, linked to the campaign and logged on the person's timeline."""
    check_open(campaign_id, session=session)
    return log_interaction(profile_id, data.model_copy(update={"campaign_id": campaign_id}), session=session,
                           actor=actor)


def deliverables(campaign_id: int, *, session: Session, limit: int = 1000) -> list[tuple[Interaction, Profile]]:
    """What members published or contributed for the campaign (everything linked that is not outreach or a note)."""
    ours = sorted(k.value for k in (*OUTREACH_KINDS, InteractionKind.note))
    return [(i, p) for i, p in session.exec(
        select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)
        .where(Interaction.campaign_id == campaign_id, col(Interaction.kind).not_in(ours))
        .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()).limit(limit))]


def outreach_log(campaign_id: int, profile_id: int, *, session: Session) -> list[Interaction]:
    outreach = sorted(k.value for k in OUTREACH_KINDS)
    return list(session.exec(select(Interaction).where(
        Interaction.campaign_id == campaign_id, Interaction.profile_id == profile_id, col(Interaction.kind).in_(outreach))
        .order_by(col(Interaction.occurred_at).desc())))


# ---- quotes ------------------------------------------------------------------------------------


def add_quote(campaign_id: int, data: QuoteIn, *, session: Session, actor: Actor) -> CampaignQuote:
    check_open(campaign_id, session=session)
    profile_id = data.profile_id
    if data.interaction_id is not None:
        item = session.get(Interaction, data.interaction_id)
        if item is None or item.campaign_id != campaign_id:
            raise _check(gettext("Check the highlighted fields."),
                         interaction_id=gettext("That interaction is not linked to this campaign."))
        profile_id = item.profile_id
    elif profile_id is not None and member_of(campaign_id, profile_id, session=session) is None:
        raise _check(gettext("Check the highlighted fields."),
                     profile_id=gettext("Quotes come from people in this campaign."))
    quote = CampaignQuote(campaign_id=campaign_id, interaction_id=data.interaction_id, profile_id=profile_id,
                          text=data.text, created_by_id=actor.user_id)
    session.add(quote)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.campaign_quote, object_type="campaign",
                 object_id=campaign_id, after={"id": quote.id, "text": quote.text, "profile_id": profile_id})
    return quote


def delete_quote(campaign_id: int, quote_id: int, *, session: Session, actor: Actor) -> None:
    check_open(campaign_id, session=session)
    quote = session.get(CampaignQuote, quote_id)
    if quote is None or quote.campaign_id != campaign_id:
        raise NotFound(gettext("This campaign has no quote with id %(id)s.") % {"id": quote_id})
    audit.record(session=session, actor=actor, action=AuditAction.campaign_quote, object_type="campaign",
                 object_id=campaign_id, before={"id": quote.id, "text": quote.text, "profile_id": quote.profile_id})
    session.delete(quote)


def quotes(campaign_id: int, *, session: Session) -> list[tuple[CampaignQuote, str | None]]:
    return [(q, name) for q, name in session.exec(
        select(CampaignQuote, Profile.display_name).outerjoin(Profile, col(Profile.id) == CampaignQuote.profile_id)
        .where(CampaignQuote.campaign_id == campaign_id).order_by(col(CampaignQuote.id)))]


# ---- close-out ---------------------------------------------------------------------------------


def participants(campaign_id: int, *, session: Session) -> list[MemberRow]:
    """Who took part (confirmed, content live, completed, or anyone who delivered something)."""
    return [row for row in members(campaign_id, session=session)
            if row.member.stage in TAKING_PART or row.deliverables > 0]


@dataclass
class CloseOut:
    campaign: Campaign
    thanked: list[int] = field(default_factory=list)  # profile ids


def complete_campaign(campaign_id: int, *, session: Session, actor: Actor, thank: list[int],
                      message: str = "", on: date | None = None) -> CloseOut:
    """Completes the campaign: members who took part move to "completed", and each person in `thank`
    (participants only) gets a thank-you logged on their timeline, linked to the campaign."""
    campaign = get_campaign(campaign_id, session=session)
    if campaign.status == CampaignStatus.archived:
        raise InvalidInput(gettext("This campaign is archived; change its status to edit it."))
    taking_part = {row.profile.id: row for row in participants(campaign_id, session=session)}
    strangers = [pid for pid in thank if pid not in taking_part]
    if strangers:
        raise _check(gettext("Only people who took part can be thanked here."),
                     thank=gettext("Not in this campaign's participants: %(ids)s") % {"ids": ", ".join(map(str, strangers[:10]))})
    before = _snapshot(campaign)
    now = utcnow()
    for row in taking_part.values():  # who delivered took part, whatever the board said
        if row.member.stage not in (Stage.completed, Stage.declined):
            move_member(campaign_id, row.member.id or 0, StageIn(stage=Stage.completed), session=session, actor=actor)
    text = message.strip() or gettext("Thank you for taking part in %(name)s.") % {"name": campaign.name}
    result = CloseOut(campaign=campaign)
    for pid in dict.fromkeys(thank):
        row = taking_part[pid]
        log_interaction(pid, InteractionIn(kind=InteractionKind.note, title=(gettext("Thank-you: %(name)s") % {
            "name": campaign.name})[:300], body=text[:20_000], campaign_id=campaign_id, occurred_at=now),
            session=session, actor=actor)
        row.member.thanked_at = now
        session.add(row.member)
        session.add(Recognition(profile_id=pid, kind=RecognitionKind.thanks.value, note=text[:1000],
                                created_by_id=actor.user_id))
        result.thanked.append(pid)
    campaign.status = CampaignStatus.completed.value
    campaign.completed_at = campaign.completed_at or now
    if on is not None and campaign.ends_on is None:
        campaign.ends_on = on
    campaign.updated_at = now
    session.add(campaign)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_complete, object_type="campaign",
                 object_id=campaign_id, before={"status": before["status"]},
                 after={"status": campaign.status, "thanked": result.thanked})
    return result
