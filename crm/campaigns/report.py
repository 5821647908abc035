"""The campaign report: KPIs against targets, reach and engagement totals, rates and costs, contributions
over time, a per-member table and the quotes the CM picked; its CSV; the deliverables list and the
close-out as the pages and the API use them.

The arithmetic (rates, progress, buckets, the bar chart's geometry) is in pure functions at the top;
`report()` gathers the numbers from the database with a few aggregate queries."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns import service
from crm.campaigns.models import (
    KPI_LABELS,
    MEASURED,
    STAGES,
    TAKING_PART,
    Campaign,
    CampaignMember,
    CampaignStatus,
    KpiMetric,
    Stage,
)
from crm.charts import nice_ceiling
from crm.db import utcnow
from crm.errors import InvalidInput, NotFound
from crm.exports.lists import ExportFormat, filename, safe_cell
from crm.i18n import N_, gettext
from crm.interactions.models import (
    CONTRIBUTION_KINDS,
    OUTREACH_KINDS,
    Interaction,
    InteractionIn,
    InteractionKind,
)
from crm.profiles.models import Profile
from crm.recognition import badges, ledger
from crm.recognition.models import MAX_POINTS, AwardIn
from crm.schemas import OUT_CONFIG, DbId, InputModel

# ---- pure arithmetic ----------------------------------------------------------------------------


def rate(part: float | None, whole: float | None) -> float | None:
    """part / whole, or None when there is nothing to divide by (no reach, no engagements)."""
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def progress(actual: float | None, target: float | None) -> float | None:
    """How far the actual is towards the target (1.0 = reached; may exceed 1); None without a target."""
    if actual is None or target is None or target <= 0:
        return None
    return actual / target


class Unit(StrEnum):
    day = "day"
    week = "week"
    month = "month"


DAYS_BY_DAY = 31  # campaigns up to a month long are shown day by day
WEEKS_BY_WEEK = 104  # up to two years week by week; longer ones by month


def unit_for(start: date, end: date) -> Unit:
    days = (end - start).days + 1
    if days <= DAYS_BY_DAY:
        return Unit.day
    return Unit.week if days <= WEEKS_BY_WEEK * 7 else Unit.month


def bucket_start(day: date, unit: Unit) -> date:
    if unit == Unit.day:
        return day
    if unit == Unit.week:
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    return day.replace(day=1)


def _next(start: date, unit: Unit) -> date:
    if unit == Unit.day:
        return start + timedelta(days=1)
    if unit == Unit.week:
        return start + timedelta(days=7)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


@dataclass(frozen=True)
class Bucket:
    start: date
    end: date  # last day of the bucket (inclusive)
    count: int


def series(days: Sequence[date], start: date, end: date, unit: Unit | None = None) -> list[Bucket]:
    """Counts of `days` per day, week (Monday to Sunday) or month from start to end, every bucket
    present (empty ones count 0); days outside the range are left out."""
    if end < start:
        start, end = end, start
    unit = unit or unit_for(start, end)
    counts: dict[date, int] = {}
    for day in days:
        if start <= day <= end:
            key = bucket_start(day, unit)
            counts[key] = counts.get(key, 0) + 1
    buckets = []
    current = bucket_start(start, unit)
    while current <= end:
        following = _next(current, unit)
        buckets.append(Bucket(start=current, end=following - timedelta(days=1), count=counts.get(current, 0)))
        current = following
    return buckets


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    bucket: Bucket


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    top: float  # the value at the top of the chart
    bars: list[Bar]
    grid: list[float]  # y of the gridlines (top, middle, bottom)


CHART_WIDTH = 600.0
CHART_HEIGHT = 120.0


def bar_chart(buckets: Sequence[Bucket]) -> BarChart | None:
    """Geometry of a bar per bucket in a CHART_WIDTH × CHART_HEIGHT viewBox (bars from the bottom up to
    the count, the top a round number); None without buckets."""
    if not buckets:
        return None
    top = nice_ceiling(max(b.count for b in buckets))
    slot = CHART_WIDTH / len(buckets)
    gap = min(slot * 0.2, 4.0)
    bars = []
    for n, bucket in enumerate(buckets):
        height = CHART_HEIGHT * bucket.count / top
        bars.append(Bar(x=round(n * slot + gap / 2, 2), y=round(CHART_HEIGHT - height, 2), width=round(slot - gap, 2),
                        height=round(height, 2), bucket=bucket))
    return BarChart(width=CHART_WIDTH, height=CHART_HEIGHT, top=top, bars=bars,
                    grid=[0.0, CHART_HEIGHT / 2, CHART_HEIGHT])


# ---- the per-member table -----------------------------------------------------------------------


class SortKey(StrEnum):
    name = "name"
    stage = "stage"
    fee = "fee"
    deliverables = "deliverables"
    reach = "reach"
    engagements = "engagements"
    rate = "rate"
    cpe = "cpe"  # cost per engagement


# A first click on these puts the smallest first (names A-Z, stages in board order, the cheapest
# engagement); on the amounts, the biggest.
ASCENDING_FIRST = frozenset({SortKey.name, SortKey.stage, SortKey.cpe})
DEFAULT_SORT = SortKey.reach


@dataclass
class MemberStats:
    member_id: int
    profile_id: int
    name: str
    stage: str
    fee: float | None
    deliverables: int
    reach: int
    engagements: int
    taking_part: bool

    @property
    def engagement_rate(self) -> float | None:
        return rate(self.engagements, self.reach)

    @property
    def cost_per_engagement(self) -> float | None:
        return rate(self.fee, self.engagements) if self.fee is not None else None


_STAGE_ORDER = {stage.value: n for n, stage in enumerate(STAGES)}
_SORT_VALUE: dict[SortKey, Callable[[MemberStats], Any]] = {
    SortKey.name: lambda m: m.name.casefold(),
    SortKey.stage: lambda m: _STAGE_ORDER.get(m.stage, len(STAGES)),
    SortKey.fee: lambda m: m.fee,
    SortKey.deliverables: lambda m: m.deliverables,
    SortKey.reach: lambda m: m.reach,
    SortKey.engagements: lambda m: m.engagements,
    SortKey.rate: lambda m: m.engagement_rate,
    SortKey.cpe: lambda m: m.cost_per_engagement,
}


def sort_members(rows: Sequence[MemberStats], key: SortKey, descending: bool) -> list[MemberStats]:
    """Sorted by one column in either direction; rows without a value (no fee, no reach) always last,
    ties by name."""
    value_of = _SORT_VALUE[key]
    known = [r for r in rows if value_of(r) is not None]
    unknown = [r for r in rows if value_of(r) is None]
    known.sort(key=lambda r: r.name.casefold())
    known.sort(key=value_of, reverse=descending)
    unknown.sort(key=lambda r: r.name.casefold())
    return known + unknown


def first_direction(key: SortKey) -> str:
    return "asc" if key in ASCENDING_FIRST else "desc"


# ---- the report ---------------------------------------------------------------------------------


@dataclass
class KpiProgress:
    kpi_id: int | None  # None: the campaign's target reach, shown as a KPI when no reach KPI exists
    metric: KpiMetric
    label: str
    target: float
    actual: float | None
    measured: bool

    @property
    def progress(self) -> float | None:
        return progress(self.actual, self.target)


@dataclass
class QuoteRow:
    id: int
    text: str
    profile_id: int | None
    person: str | None
    interaction_id: int | None
    created_at: datetime


@dataclass
class Report:
    campaign: Campaign
    kpis: list[KpiProgress]
    deliverables: int
    reach: int
    engagements: int
    contributions: int
    spend: float
    unit: Unit
    buckets: list[Bucket]
    members: list[MemberStats]
    quotes: list[QuoteRow]
    sort: SortKey = DEFAULT_SORT
    descending: bool = True
    chart: BarChart | None = field(default=None)
    content: list[DeliverableRow] = field(default_factory=list)  # the deliverables with most reach, with their links
    paid_engagements: int = 0  # engagements of the people whose fee is known (what the spend bought)
    fees_known: int = 0  # people taking part with a fee
    taking_part: int = 0

    @property
    def engagement_rate(self) -> float | None:
        return rate(self.engagements, self.reach)

    @property
    def cost_per_engagement(self) -> float | None:
        """What the known fees paid per engagement of the people they were paid to: engagements of people
        whose fee is unknown would make the figure look cheaper than it is."""
        return rate(self.spend, self.paid_engagements) if self.spend else None

    @property
    def budget_used(self) -> float | None:
        return rate(self.spend, self.campaign.budget)


def _not_deliverable_kinds() -> list[str]:
    return sorted(k.value for k in (*OUTREACH_KINDS, InteractionKind.note))


def _local_day(moment: datetime, zone: tzinfo) -> date:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def deliverable_totals(campaign_id: int, *, session: Session) -> tuple[int, int, int]:
    """(deliverables, reach, engagements) over everything linked to the campaign but outreach and notes."""
    delivered, reach, engagements = session.exec(
        select(func.count(), func.coalesce(func.sum(Interaction.reach), 0), func.coalesce(func.sum(Interaction.engagements), 0))
        .where(Interaction.campaign_id == campaign_id, col(Interaction.kind).not_in(_not_deliverable_kinds()))).one()
    return int(delivered), int(reach), int(engagements)


def member_contribution_times(campaign_id: int, *, session: Session) -> list[datetime]:
    """When the campaign's members made the contributions linked to it: the contributions KPI counts these."""
    return list(session.exec(
        select(Interaction.occurred_at).join(CampaignMember, (col(CampaignMember.profile_id) == Interaction.profile_id)
                                             & (col(CampaignMember.campaign_id) == campaign_id))
        .where(Interaction.campaign_id == campaign_id,
               col(Interaction.kind).in_(sorted(k.value for k in CONTRIBUTION_KINDS)))))


def report(campaign_id: int, *, session: Session, zone: tzinfo = UTC, sort: SortKey = DEFAULT_SORT,
           descending: bool | None = None, today: date | None = None) -> Report:
    """Everything the report page, its CSV and the API show. Totals count every deliverable linked to
    the campaign; contributions count the members' contributions linked to it; spend is the fees of
    the members taking part."""
    campaign = service.get_campaign(campaign_id, session=session)
    today = today or utcnow().astimezone(zone).date()
    delivered, reach, engagements = deliverable_totals(campaign_id, session=session)
    days = [_local_day(m, zone) for m in member_contribution_times(campaign_id, session=session)]
    start = campaign.starts_on or min(days, default=None) or _local_day(campaign.created_at, zone)
    end = campaign.ends_on or max(today, start)
    start, end = min([start, *days]), max([end, *days])
    buckets = series(days, start, end)

    rows = []
    spend = 0.0
    paid_engagements = fees_known = taking_part_count = 0
    for row in service.participants(campaign_id, session=session):
        taking_part = row.member.stage in TAKING_PART
        taking_part_count += taking_part
        if taking_part and row.member.fee is not None:
            spend += row.member.fee
            fees_known += 1
            paid_engagements += row.engagements
        rows.append(MemberStats(member_id=row.member.id or 0, profile_id=row.profile.id or 0, name=row.profile.display_name,
                                stage=row.member.stage, fee=row.member.fee, deliverables=row.deliverables, reach=row.reach,
                                engagements=row.engagements, taking_part=taking_part))
    if descending is None:
        descending = first_direction(sort) == "desc"

    measured = {KpiMetric.reach: float(reach), KpiMetric.engagements: float(engagements),
                KpiMetric.contributions: float(len(days))}
    kpis = []
    for kpi in service.kpis(campaign_id, session=session):
        metric = KpiMetric(kpi.metric)
        label = kpi.label if metric == KpiMetric.custom else gettext(KPI_LABELS[metric])
        kpis.append(KpiProgress(kpi_id=kpi.id, metric=metric, label=label, target=kpi.target,
                                actual=measured[metric] if metric in MEASURED else kpi.actual, measured=metric in MEASURED))
    if campaign.target_reach and not any(k.metric == KpiMetric.reach for k in kpis):
        kpis.insert(0, KpiProgress(kpi_id=None, metric=KpiMetric.reach, label=gettext("Reach"),
                                   target=float(campaign.target_reach), actual=float(reach), measured=True))
    quotes = [QuoteRow(id=q.id or 0, text=q.text, profile_id=q.profile_id, person=name, interaction_id=q.interaction_id,
                       created_at=q.created_at) for q, name in service.quotes(campaign_id, session=session)]
    return Report(campaign=campaign, kpis=kpis, deliverables=int(delivered), reach=int(reach),
                  engagements=int(engagements), contributions=len(days), spend=spend, unit=unit_for(start, end),
                  buckets=buckets, members=sort_members(rows, sort, descending), quotes=quotes, sort=sort,
                  descending=descending, chart=bar_chart(buckets),
                  content=deliverables(campaign_id, session=session, sort=DeliverableSort.reach).rows[:CONTENT_SHOWN],
                  paid_engagements=paid_engagements, fees_known=fees_known, taking_part=taking_part_count)


CONTENT_SHOWN = 50

# ---- CSV ----------------------------------------------------------------------------------------

MEMBER_COLUMNS = ("profile_id", "name", "stage", "fee", "deliverables", "reach", "engagements", "engagement_rate",
                  "cost_per_engagement")
KPI_COLUMNS = ("metric", "label", "target", "actual", "progress")


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def member_rows(data: Report) -> Iterator[list[Any]]:
    for m in data.members:
        yield [m.profile_id, m.name, m.stage, m.fee, m.deliverables, m.reach, m.engagements,
               _round(m.engagement_rate), _round(m.cost_per_engagement)]


def kpi_rows(data: Report) -> Iterator[list[Any]]:
    for k in data.kpis:
        yield [k.metric.value, k.label, k.target, k.actual, _round(k.progress)]
    for metric, value in (("total_reach", data.reach), ("total_engagements", data.engagements),
                          ("deliverables", data.deliverables), ("contributions", data.contributions),
                          ("engagement_rate", _round(data.engagement_rate)), ("spend", data.spend),
                          ("cost_per_engagement", _round(data.cost_per_engagement)),
                          ("budget", data.campaign.budget), ("budget_used", _round(data.budget_used))):
        yield [metric, "", None, value, None]


def csv_chunks(header: Sequence[str], rows: Iterator[list[Any]], every: int = 200) -> Iterator[str]:
    """CSV text (formula-safe cells: crm.exports.lists.safe_cell), `every` rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for n, values in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in values])
        if n % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class CsvPart(StrEnum):
    members = "members"
    kpis = "kpis"


def begin_export(campaign_id: int, part: CsvPart, *, session: Session, actor: Actor) -> Campaign:
    """Records the export in the audit log before it is sent."""
    campaign = service.get_campaign(campaign_id, session=session)
    audit.record(session=session, actor=actor, action=AuditAction.campaign_export, object_type="campaign",
                 object_id=campaign_id, after={"format": "csv", "part": part.value})
    return campaign


def export_chunks(campaign_id: int, part: CsvPart, *, session: Session, zone: tzinfo = UTC) -> Iterator[str]:
    data = report(campaign_id, session=session, zone=zone)
    if part == CsvPart.kpis:
        return csv_chunks(KPI_COLUMNS, kpi_rows(data))
    return csv_chunks(MEMBER_COLUMNS, member_rows(data))


def export_filename(campaign: Campaign, part: CsvPart) -> str:
    return filename(ExportFormat.csv, f"campaign-{campaign.id}-{part.value}")


# ---- deliverables -------------------------------------------------------------------------------

DELIVERABLE_KINDS = [k for k in InteractionKind if k in CONTRIBUTION_KINDS]  # what people publish or give, not complaints


class DeliverableSort(StrEnum):
    date = "date"
    reach = "reach"
    engagements = "engagements"


@dataclass
class DeliverableRow:
    item: Interaction
    profile: Profile

    @property
    def engagement_rate(self) -> float | None:
        return rate(self.item.engagements, self.item.reach)


@dataclass
class Deliverables:
    rows: list[DeliverableRow]
    reach: int
    engagements: int
    sort: DeliverableSort
    descending: bool

    @property
    def engagement_rate(self) -> float | None:
        return rate(self.engagements, self.reach)


def deliverables(campaign_id: int, *, session: Session, sort: DeliverableSort = DeliverableSort.date,
                 descending: bool = True) -> Deliverables:
    service.get_campaign(campaign_id, session=session)
    rows = [DeliverableRow(item=i, profile=p) for i, p in service.deliverables(campaign_id, session=session)]
    value: Callable[[DeliverableRow], Any] = {
        DeliverableSort.date: lambda r: r.item.occurred_at, DeliverableSort.reach: lambda r: r.item.reach,
        DeliverableSort.engagements: lambda r: r.item.engagements}[sort]
    rows.sort(key=lambda r: r.item.id or 0, reverse=True)
    rows.sort(key=value, reverse=descending)
    return Deliverables(rows=rows, reach=sum(r.item.reach for r in rows), engagements=sum(r.item.engagements for r in rows),
                        sort=sort, descending=descending)


def member_choices(campaign_id: int, *, session: Session) -> list[tuple[int, str]]:
    """The people in the campaign (not declined), for the "log a deliverable" form."""
    return [(row.profile.id or 0, row.profile.display_name) for row in service.members(campaign_id, session=session)
            if row.member.stage != Stage.declined]


def log_deliverable(campaign_id: int, profile_id: int, data: InteractionIn, *, session: Session,
                    actor: Actor) -> Interaction:
    """A deliverable by someone in the campaign: not outreach, not a note (those are logged elsewhere)."""
    campaign = service.get_campaign(campaign_id, session=session)
    problems = {}
    if service.member_of(campaign.id or 0, profile_id, session=session) is None:
        problems["profile_id"] = gettext("This person is not in the campaign; add them to the pipeline first.")
    if data.kind in OUTREACH_KINDS or data.kind == InteractionKind.note:
        problems["kind"] = gettext("Outreach and notes are not deliverables; log them on the pipeline.")
    if data.occurred_at is not None and data.occurred_at > utcnow() + timedelta(days=1):
        problems["occurred_at"] = gettext("That date has not come yet: log a deliverable once it is out.")
    if data.url and session.exec(select(Interaction.id).where(
            Interaction.campaign_id == campaign_id, Interaction.url == data.url)).first() is not None:
        problems["url"] = gettext("This address is logged for this campaign already: edit that one instead.")
    if problems:
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors=problems)
    return service.log_for_campaign(campaign_id, profile_id, data, session=session, actor=actor)


def get_deliverable(campaign_id: int, interaction_id: int, *, session: Session) -> tuple[Interaction, Profile]:
    item = session.get(Interaction, interaction_id)
    if item is None or item.campaign_id != campaign_id or not service.is_deliverable(item.kind):
        raise NotFound(gettext("This campaign has no deliverable with id %(id)s.") % {"id": interaction_id})
    profile = session.get(Profile, item.profile_id)
    assert profile is not None
    return item, profile


def quotable(campaign_id: int, *, session: Session, limit: int = 200) -> list[tuple[Interaction, Profile]]:
    """Interactions linked to the campaign that a quote can come from (everything but outreach), newest first."""
    return [(i, p) for i, p in session.exec(
        select(Interaction, Profile).join(Profile, col(Profile.id) == Interaction.profile_id)
        .where(Interaction.campaign_id == campaign_id,
               col(Interaction.kind).not_in(sorted(k.value for k in OUTREACH_KINDS)))
        .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()).limit(limit))]


def quote_text(item: Interaction) -> str:
    """What "Quote this" starts from: the body, else the title (trimmed to what a quote may hold)."""
    return (item.body.strip() or item.title.strip())[:2000]


# ---- close-out ----------------------------------------------------------------------------------


@dataclass
class CloseOutRow:
    member_id: int
    profile_id: int
    name: str
    stage: str
    deliverables: int
    reach: int
    engagements: int
    contributions: int
    thanked_at: datetime | None


def close_out_rows(campaign_id: int, *, session: Session) -> list[CloseOutRow]:
    """Every participant with what they contributed, by name."""
    rows = service.participants(campaign_id, session=session)
    ids = [row.profile.id for row in rows]
    counts: dict[int, int] = {}
    if ids:
        counts = {pid: n for pid, n in session.exec(
            select(Interaction.profile_id, func.count()).where(
                Interaction.campaign_id == campaign_id, col(Interaction.profile_id).in_(ids),
                col(Interaction.kind).in_(sorted(k.value for k in CONTRIBUTION_KINDS)))
            .group_by(col(Interaction.profile_id)))}
    result = [CloseOutRow(member_id=r.member.id or 0, profile_id=r.profile.id or 0, name=r.profile.display_name,
                          stage=r.member.stage, deliverables=r.deliverables, reach=r.reach, engagements=r.engagements,
                          contributions=counts.get(r.profile.id or 0, 0), thanked_at=r.member.thanked_at)
              for r in rows]
    return sorted(result, key=lambda r: r.name.casefold())


def default_message(campaign: Campaign) -> str:
    return gettext("Thank you for taking part in %(name)s.") % {"name": campaign.name}


@dataclass
class Completed:
    campaign: Campaign
    thanked: list[int]
    already_thanked: list[int]  # asked for, but thanked before: not thanked twice
    was_completed: bool = False  # completed before this close-out


def complete(campaign_id: int, thank: Sequence[int], message: str, *, session: Session, actor: Actor,
             points: int = 0, badge_id: int | None = None) -> Completed:
    """Completes the campaign and thanks the chosen participants, except those already thanked (a second
    close-out must not log a second thank-you); the people thanked now may also get points and a badge
    in the same step (recognition ledger and badges)."""
    campaign = service.get_campaign(campaign_id, session=session)
    was_completed = campaign.status == CampaignStatus.completed
    already = {r.profile_id for r in close_out_rows(campaign_id, session=session) if r.thanked_at is not None}
    wanted = list(dict.fromkeys(thank))
    if badge_id is not None:
        badges.get_badge(badge_id, session=session)  # an unknown badge is refused before anything is written
    done = service.complete_campaign(campaign_id, session=session, actor=actor,
                                     thank=[pid for pid in wanted if pid not in already], message=message)
    reason = (gettext("Campaign: %(name)s") % {"name": campaign.name})[:300]
    if done.thanked and points > 0:
        ledger.award(AwardIn(profile_ids=done.thanked, points=points, reason=reason), session=session, actor=actor)
    if done.thanked and badge_id is not None:
        badges.award_badge(badge_id, done.thanked, session=session, actor=actor, reason=reason)
    return Completed(campaign=done.campaign, thanked=done.thanked, already_thanked=[pid for pid in wanted if pid in already],
                     was_completed=was_completed)


# ---- API schemas --------------------------------------------------------------------------------


class KpiProgressOut(BaseModel):
    model_config = OUT_CONFIG

    kpi_id: int | None = PydField(description="null: the campaign's target reach, shown as a KPI")
    metric: KpiMetric
    label: str
    target: float
    actual: float | None
    measured: bool = PydField(description="Computed from the deliverables and contributions (else entered by hand)")
    progress: float | None = PydField(description="actual / target (1 = reached)")


class MemberStatsOut(BaseModel):
    model_config = OUT_CONFIG

    member_id: int
    profile_id: int
    name: str
    stage: Stage
    fee: float | None
    deliverables: int
    reach: int
    engagements: int
    engagement_rate: float | None
    cost_per_engagement: float | None


class BucketOut(BaseModel):
    model_config = OUT_CONFIG

    start: date
    end: date
    count: int


class QuoteRowOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    text: str
    profile_id: int | None
    person: str | None
    interaction_id: int | None
    created_at: datetime


class ReportOut(BaseModel):
    model_config = OUT_CONFIG

    campaign_id: int
    name: str
    status: str
    currency: str
    kpis: list[KpiProgressOut]
    deliverables: int
    reach: int
    engagements: int
    contributions: int
    engagement_rate: float | None = PydField(description="engagements / reach; null when reach is 0")
    spend: float = PydField(description="Fees of the members taking part (confirmed, content live, completed)")
    cost_per_engagement: float | None = PydField(
        description="spend / engagements of the people whose fee is known; null when there are none")
    budget: float | None
    budget_used: float | None = PydField(description="spend / budget")
    unit: Unit = PydField(description="The size of each bucket of contributions_over_time")
    contributions_over_time: list[BucketOut]
    members: list[MemberStatsOut]
    quotes: list[QuoteRowOut]


def report_out(data: Report) -> ReportOut:
    return ReportOut(
        campaign_id=data.campaign.id or 0, name=data.campaign.name, status=data.campaign.status,
        currency=data.campaign.currency,
        kpis=[KpiProgressOut(kpi_id=k.kpi_id, metric=k.metric, label=k.label, target=k.target, actual=k.actual,
                             measured=k.measured, progress=k.progress) for k in data.kpis],
        deliverables=data.deliverables, reach=data.reach, engagements=data.engagements, contributions=data.contributions,
        engagement_rate=data.engagement_rate, spend=data.spend, cost_per_engagement=data.cost_per_engagement,
        budget=data.campaign.budget, budget_used=data.budget_used, unit=data.unit,
        contributions_over_time=[BucketOut(start=b.start, end=b.end, count=b.count) for b in data.buckets],
        members=[MemberStatsOut(member_id=m.member_id, profile_id=m.profile_id, name=m.name, stage=Stage(m.stage),
                                fee=m.fee, deliverables=m.deliverables, reach=m.reach, engagements=m.engagements,
                                engagement_rate=m.engagement_rate, cost_per_engagement=m.cost_per_engagement)
                 for m in data.members],
        quotes=[QuoteRowOut(id=q.id, text=q.text, profile_id=q.profile_id, person=q.person,
                            interaction_id=q.interaction_id, created_at=q.created_at) for q in data.quotes])


class DeliverableIn(InteractionIn):
    """A deliverable for the API: who made it (someone in the campaign) and the interaction's fields
    (its campaign is the one in the path)."""

    profile_id: DbId


class CloseOutExtras(InputModel):
    """The close-out form's recognition fields (the API takes them in CompleteIn)."""

    points: int = PydField(default=0, ge=0, le=MAX_POINTS)
    badge_id: DbId | None = None


class CompleteIn(InputModel):
    thank: list[DbId] = PydField(default_factory=list, max_length=2000,
                                 description="Participants to thank (those already thanked are skipped)")
    message: str = PydField(default="", max_length=5000, description="The thank-you; empty: a standard one")
    points: int = PydField(default=0, ge=0, le=MAX_POINTS, description="Points for each person thanked now (0: none)")
    badge_id: DbId | None = PydField(default=None, description="A badge for each person thanked now")


class CompleteOut(BaseModel):
    model_config = OUT_CONFIG

    campaign_id: int
    status: str
    completed_at: datetime | None
    thanked: list[int]
    already_thanked: list[int]


SORT_LABELS = {
    SortKey.name: N_("Person"), SortKey.stage: N_("Stage"), SortKey.fee: N_("Fee"),
    SortKey.deliverables: N_("Deliverables"), SortKey.reach: N_("Reach"), SortKey.engagements: N_("Engagements"),
    SortKey.rate: N_("Engagement rate"), SortKey.cpe: N_("Cost per engagement"),
}
