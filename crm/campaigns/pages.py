"""What the campaign pages show, each in one call: the list with its tabs, the overview (KPIs against
targets, budget, pipeline counts, next tasks), the pipeline board, a member's panel, the tasks of a
campaign grouped by goal, "my tasks" and the dashboard's overdue tasks. Reads only: every change goes
through crm.campaigns.service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, select

from crm.accounts.models import User
from crm.campaigns import report, service
from crm.campaigns.models import (
    KPI_LABELS,
    MEASURED,
    OPEN_STATUSES,
    STAGES,
    TAKING_PART,
    Campaign,
    CampaignKpi,
    CampaignMember,
    CampaignStatus,
    CampaignTask,
    KpiMetric,
    Stage,
)
from crm.db import utcnow
from crm.i18n import gettext
from crm.interactions.log import contact_refusal
from crm.interactions.models import Interaction
from crm.profiles.models import Profile

# ---- the list ----------------------------------------------------------------------------------


class ListShow(StrEnum):
    """The list's tabs."""

    open = "open"  # draft, planning, active
    active = "active"
    completed = "completed"
    archived = "archived"
    all = "all"


class ListSort(StrEnum):
    start = "start"
    name = "name"
    end = "end"
    members = "members"
    status = "status"


STATUS_ORDER = {status.value: index for index, status in enumerate(CampaignStatus)}


def campaign_list(*, session: Session, show: ListShow = ListShow.open, q: str = "",
                  sort: ListSort = ListSort.start) -> list[service.CampaignRow]:
    """The campaigns of one tab, searched by name, in the chosen order (the service's order, newest
    start first, for "start")."""
    status = {ListShow.active: CampaignStatus.active, ListShow.completed: CampaignStatus.completed,
              ListShow.archived: CampaignStatus.archived}.get(show)
    rows = service.list_campaigns(session=session, status=status, q=q.strip()[:200],
                                  include_archived=show == ListShow.all)
    if show == ListShow.open:
        rows = [row for row in rows if row.campaign.status in OPEN_STATUSES]
    if sort == ListSort.name:
        rows.sort(key=lambda row: (row.campaign.name.casefold(), row.campaign.id or 0))
    elif sort == ListSort.end:
        rows.sort(key=lambda row: (row.campaign.ends_on is None, row.campaign.ends_on or date.min, row.campaign.id or 0))
    elif sort == ListSort.members:
        rows.sort(key=lambda row: (-row.members, -row.taking_part, row.campaign.name.casefold()))
    elif sort == ListSort.status:
        rows.sort(key=lambda row: (STATUS_ORDER.get(row.campaign.status, 99), row.campaign.name.casefold()))
    return rows


def user_names(*, session: Session) -> dict[int, str]:
    return {int(uid): name for uid, name in session.exec(select(User.id, User.name)) if uid is not None}


# ---- the overview ------------------------------------------------------------------------------


@dataclass
class KpiRow:
    kpi: CampaignKpi
    name: str  # "Reach", or a custom KPI's own label
    actual: float | None
    measured: bool

    @property
    def ratio(self) -> float | None:
        """Actual against target (1.0 = reached); None when either is unknown or the target is zero."""
        if self.actual is None or not self.kpi.target:
            return None
        return self.actual / self.kpi.target

    @property
    def bar(self) -> int:
        """The progress bar's width, 0..100."""
        return max(0, min(100, round((self.ratio or 0) * 100)))


@dataclass
class Measured:
    reach: int = 0
    engagements: int = 0
    contributions: int = 0
    deliverables: int = 0


def measured(campaign_id: int, *, session: Session) -> Measured:
    """The measured KPIs as the report measures them (crm.campaigns.report): reach and engagements over
    the deliverables, and the members' contributions linked to the campaign."""
    deliverables, reach, engagements = report.deliverable_totals(campaign_id, session=session)
    contributions = len(report.member_contribution_times(campaign_id, session=session))
    return Measured(reach=reach, engagements=engagements, contributions=contributions, deliverables=deliverables)


def kpi_rows(campaign_id: int, totals: Measured, *, session: Session) -> list[KpiRow]:
    rows = []
    for kpi in service.kpis(campaign_id, session=session):
        metric = KpiMetric(kpi.metric) if kpi.metric in KpiMetric.__members__ else KpiMetric.custom
        is_measured = metric in MEASURED
        actual: float | None = float(getattr(totals, metric.value)) if is_measured else kpi.actual
        name = kpi.label if metric == KpiMetric.custom and kpi.label else gettext(KPI_LABELS[metric])
        rows.append(KpiRow(kpi=kpi, name=name, actual=actual, measured=is_measured))
    return rows


@dataclass
class StageCount:
    stage: str
    count: int
    width: int  # of the small bar, 0..100 (the fullest stage is 100)


@dataclass
class Overview:
    campaign: Campaign
    owner_name: str | None
    kpis: list[KpiRow]
    totals: Measured
    stages: list[StageCount]
    members: int
    taking_part: int
    spent: float  # fees of the members taking part
    fees_unknown: int  # members taking part without a fee
    next_tasks: list[service.TaskRow]
    open_tasks: int
    overdue_tasks: int

    @property
    def remaining(self) -> float | None:
        return None if self.campaign.budget is None else self.campaign.budget - self.spent

    @property
    def over_budget(self) -> bool:
        return self.remaining is not None and self.remaining < 0


NEXT_TASKS = 5


def overview(campaign_id: int, *, session: Session) -> Overview:
    campaign = service.get_campaign(campaign_id, session=session)
    owner = session.get(User, campaign.owner_id) if campaign.owner_id else None
    totals = measured(campaign_id, session=session)
    counts = {stage.value: 0 for stage in STAGES}
    spent, fees_unknown = 0.0, 0
    for stage, fee in session.exec(select(CampaignMember.stage, CampaignMember.fee)
                                   .where(CampaignMember.campaign_id == campaign_id)):
        counts[stage] = counts.get(stage, 0) + 1
        if stage in TAKING_PART:
            if fee is None:
                fees_unknown += 1
            else:
                spent += fee
    fullest = max(counts.values(), default=0) or 1
    open_tasks = service.tasks(session=session, campaign_id=campaign_id, open_only=True)
    return Overview(
        campaign=campaign, owner_name=owner.name if owner else None,
        kpis=kpi_rows(campaign_id, totals, session=session), totals=totals,
        stages=[StageCount(stage, count, round(100 * count / fullest)) for stage, count in counts.items()],
        members=sum(counts.values()), taking_part=sum(counts[s.value] for s in TAKING_PART),
        spent=spent, fees_unknown=fees_unknown, next_tasks=open_tasks[:NEXT_TASKS], open_tasks=len(open_tasks),
        overdue_tasks=sum(1 for row in open_tasks if row.overdue))


@dataclass
class DeletionImpact:
    campaign: Campaign
    members: int
    tasks: int
    kpis: int
    linked: int  # interactions that stay on people's timelines, unlinked


def deletion_impact(campaign_id: int, *, session: Session) -> DeletionImpact:
    campaign = service.get_campaign(campaign_id, session=session)

    def count(model: type[CampaignMember] | type[CampaignTask] | type[CampaignKpi] | type[Interaction]) -> int:
        return int(session.exec(select(func.count()).select_from(model)
                                .where(model.campaign_id == campaign_id)).one())  # type: ignore[union-attr]

    return DeletionImpact(campaign=campaign, members=count(CampaignMember), tasks=count(CampaignTask),
                          kpis=count(CampaignKpi), linked=count(Interaction))


# ---- the pipeline ------------------------------------------------------------------------------


@dataclass
class Column:
    stage: str
    cards: list[service.MemberRow]

    @property
    def previous(self) -> str | None:
        """The stage a card's "←" moves it to (declined has none: it is reopened instead)."""
        index = STAGES.index(Stage(self.stage))
        return STAGES[index - 1].value if 0 < index < len(STAGES) - 1 else None

    @property
    def following(self) -> str | None:
        index = STAGES.index(Stage(self.stage))
        return STAGES[index + 1].value if index < len(STAGES) - 2 else None


@dataclass
class Board:
    campaign: Campaign
    columns: list[Column]
    today: date

    @property
    def total(self) -> int:
        return sum(len(column.cards) for column in self.columns)

    @property
    def open_for_changes(self) -> bool:
        return self.campaign.status != CampaignStatus.archived


def board(campaign_id: int, *, session: Session) -> Board:
    """One column per stage, in board order; in a column the most recently moved first."""
    campaign = service.get_campaign(campaign_id, session=session)
    columns = {stage.value: Column(stage.value, []) for stage in STAGES}
    for row in service.members(campaign_id, session=session):
        columns.setdefault(row.member.stage, Column(row.member.stage, [])).cards.append(row)
    return Board(campaign=campaign, columns=list(columns.values()), today=utcnow().date())


@dataclass
class MemberPanel:
    campaign: Campaign
    row: service.MemberRow
    outreach: list[Interaction]
    contact_warning: str | None
    other_campaigns: list[str] = field(default_factory=list)
    today: date = field(default_factory=lambda: utcnow().date())

    @property
    def member(self) -> CampaignMember:
        return self.row.member

    @property
    def profile(self) -> Profile:
        return self.row.profile


def member_panel(campaign_id: int, member_id: int, *, session: Session) -> MemberPanel:
    campaign = service.get_campaign(campaign_id, session=session)
    member = service.get_member(campaign_id, member_id, session=session)
    row = next(r for r in service.members(campaign_id, session=session, stage=Stage(member.stage))
               if r.member.id == member_id)
    others = service.other_active_campaigns([member.profile_id], session=session, except_campaign=campaign_id)
    return MemberPanel(campaign=campaign, row=row,
                       outreach=service.outreach_log(campaign_id, member.profile_id, session=session),
                       contact_warning=contact_refusal(row.profile), other_campaigns=others.get(member.profile_id, []))


# ---- tasks -------------------------------------------------------------------------------------


@dataclass
class TaskGroup:
    goal: str
    rows: list[service.TaskRow]

    @property
    def open(self) -> int:
        return sum(1 for row in self.rows if row.task.done_at is None)


@dataclass
class CampaignTasks:
    campaign: Campaign
    groups: list[TaskGroup]
    goals: list[str]  # for the add form's datalist

    @property
    def total(self) -> int:
        return sum(len(group.rows) for group in self.groups)


def campaign_tasks(campaign_id: int, *, session: Session) -> CampaignTasks:
    """A campaign's tasks grouped by goal (goals in the order of their most pressing task; tasks
    without a goal last), open ones first by deadline inside each group."""
    campaign = service.get_campaign(campaign_id, session=session)
    groups: dict[str, TaskGroup] = {}
    for row in service.tasks(session=session, campaign_id=campaign_id):
        groups.setdefault(row.task.goal, TaskGroup(row.task.goal, [])).rows.append(row)
    ordered = sorted(groups.values(), key=lambda group: group.goal == "")
    return CampaignTasks(campaign=campaign, groups=ordered, goals=sorted(g for g in groups if g))


def task_row(campaign_id: int, task_id: int, *, session: Session) -> service.TaskRow:
    """One task as the lists show it (after ticking it done, say)."""
    service.get_task(campaign_id, task_id, session=session)
    return next(row for row in service.tasks(session=session, campaign_id=campaign_id) if row.task.id == task_id)


class Whose(StrEnum):
    mine = "mine"
    everyone = "everyone"
    unassigned = "unassigned"


class TaskShow(StrEnum):
    open = "open"
    overdue = "overdue"
    done = "done"
    all = "all"


def task_list(*, session: Session, user_id: int | None, whose: Whose = Whose.mine, show: TaskShow = TaskShow.open,
              limit: int = 500) -> list[service.TaskRow]:
    """Tasks across campaigns: "my tasks", everyone's, or nobody's yet; open, overdue, done or all."""
    rows = service.tasks(session=session, owner_id=user_id if whose == Whose.mine else None,
                         open_only=show == TaskShow.open, overdue_only=show == TaskShow.overdue,
                         limit=limit if whose != Whose.unassigned else 5000)
    if whose == Whose.mine and user_id is None:
        rows = []
    if whose == Whose.unassigned:
        rows = [row for row in rows if row.task.owner_id is None][:limit]
    if show == TaskShow.done:
        rows = [row for row in rows if row.task.done_at is not None]
    return rows


@dataclass
class OverdueTasks:
    mine: list[service.TaskRow]
    others: list[service.TaskRow]

    @property
    def total(self) -> int:
        return len(self.mine) + len(self.others)


def overdue_tasks(*, session: Session, user_id: int | None, limit: int = 200) -> OverdueTasks:
    """The dashboard's widget: overdue tasks, the user's own first, then everyone else's."""
    rows = service.tasks(session=session, overdue_only=True, limit=limit)
    return OverdueTasks(mine=[row for row in rows if user_id is not None and row.task.owner_id == user_id],
                        others=[row for row in rows if user_id is None or row.task.owner_id != user_id])


# ---- the interaction form's "Campaign" select --------------------------------------------------


def campaign_choices(*, session: Session, keep: int | None = None) -> list[tuple[int, str]]:
    """The open campaigns an interaction can be linked to, by name; `keep` (the campaign an edited
    interaction is linked to already) stays a choice even once that campaign is closed."""
    choices = [(c.id or 0, c.name) for c in service.active_campaigns(session=session)]
    if keep is not None and all(cid != keep for cid, _ in choices):
        kept = session.get(Campaign, keep)
        if kept is not None:
            choices.append((keep, kept.name))
    return choices
