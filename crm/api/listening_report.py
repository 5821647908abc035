"""JSON API: the report for management (numbers, quotes, judgement) and who receives it by e-mail."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.listening import report as reports

router = APIRouter(tags=["listening_report"])

ERRORS = error_responses(
    e403="Your role can read but not change the report, or the CSRF token is missing",
    e404="No such recipient",
    e409="Saved by someone else at the same moment, or the address already receives that report",
    e422="Invalid fields (`errors` names each one): a period other than month or quarter, a start that is not "
         "YYYY-MM or YYYY-MM-DD, a judgement over 300 characters, more than 10 quotes, a quote that is not a "
         "mention or contribution of the period",
)


class ChangeOut(BaseModel):
    current: float | None
    previous: float | None
    change: float | None  # relative for counts (0.25 = +25 %), a difference for shares


class FiguresOut(BaseModel):
    channel: str | None  # None: all channels
    mentions: ChangeOut
    people: ChangeOut
    reach: ChangeOut
    sentiment_balance: ChangeOut
    estimated_labels: int
    share_of_voice: ChangeOut | None  # only while competitor topics exist


class DriverOut(BaseModel):
    key: str
    name: str
    mentions: ChangeOut
    reach: ChangeOut


class QuoteOut(BaseModel):
    interaction_id: int
    text: str
    who: str
    named: bool
    profile_id: int | None
    channel: str
    url: str
    occurred_at: datetime


class SignalsOut(BaseModel):
    opened: int
    resolved: int
    resolved_in_sla: int
    share_in_sla: float | None
    breached_open: int


class CampaignOut(BaseModel):
    campaign_id: int
    name: str
    status: str
    contributions: int
    reach: int


class RecognitionOut(BaseModel):
    points: int
    badges: int
    thanks: int
    redemptions: int


class ReportOut(BaseModel):
    period: str
    starts_on: date
    ends_on: date  # the last day
    previous_starts_on: date
    judgement: str
    quote_ids: list[int]
    total: FiguresOut
    channels: list[FiguresOut]
    topics: list[DriverOut]
    top_channels: list[DriverOut]
    people_by_mentions: list[DriverOut]
    people_by_reach: list[DriverOut]
    quotes: list[QuoteOut]
    dropped_quotes: int
    signals: SignalsOut | None  # null while signals are not available
    campaigns: list[CampaignOut]
    recognition: RecognitionOut
    recognition_previous: RecognitionOut


def _change(c: reports.Change) -> ChangeOut:
    return ChangeOut(current=c.current, previous=c.previous, change=c.delta)


def _figures(row: reports.HeadlineRow, has_competitors: bool) -> FiguresOut:
    metrics = {m.key: _change(m.change) for m in row.metrics(has_competitors)}
    return FiguresOut(channel=None if row.total else row.channel, mentions=metrics["mentions"], people=metrics["people"],
                      reach=metrics["reach"], sentiment_balance=metrics["balance"],
                      estimated_labels=row.current.estimated, share_of_voice=metrics.get("share_of_voice"))


def _drivers(rows: list[reports.Driver]) -> list[DriverOut]:
    return [DriverOut(key=d.key, name=d.name, mentions=_change(d.mentions), reach=_change(d.reach)) for d in rows]


def report_out(r: reports.Report) -> ReportOut:
    s = r.signals
    return ReportOut(
        period=r.period.kind.value, starts_on=r.period.start, ends_on=r.period.last_day,
        previous_starts_on=r.previous.start, judgement=r.judgement, quote_ids=r.quote_ids,
        total=_figures(r.total, r.has_competitors), channels=[_figures(c, r.has_competitors) for c in r.channels],
        topics=_drivers(r.topics), top_channels=_drivers(r.channel_drivers),
        people_by_mentions=_drivers(r.people_by_mentions), people_by_reach=_drivers(r.people_by_reach),
        quotes=[QuoteOut(interaction_id=q.interaction_id, text=q.text, who=q.who, named=q.named, profile_id=q.profile_id,
                         channel=q.channel, url=q.url, occurred_at=q.occurred_at) for q in r.quotes],
        dropped_quotes=r.dropped_quotes,
        signals=SignalsOut(opened=s.opened, resolved=s.resolved, resolved_in_sla=s.resolved_in_sla,
                           share_in_sla=s.share_in_sla, breached_open=s.breached_open) if s else None,
        campaigns=[CampaignOut(campaign_id=c.campaign_id, name=c.name, status=c.status, contributions=c.contributions,
                               reach=c.reach) for c in r.campaigns],
        recognition=RecognitionOut(**vars(r.recognition)), recognition_previous=RecognitionOut(**vars(r.recognition_previous)))


def _period(request: Request, period: str, start: str) -> tuple[reports.Period, ZoneInfo]:
    zone = ZoneInfo(get_settings(request).time_zone)
    return reports.parse_period(period, start, today=datetime.now(zone).date()), zone


@router.get("/reports/{period}/{start}", response_model=ReportOut, responses=ERRORS)
def get_report(request: Request, db: DB, user: CurrentUser, period: str, start: str) -> ReportOut:
    """The report of a month or quarter (`period` month|quarter, `start` YYYY-MM or YYYY-MM-DD): headline
    numbers per channel and in total against the previous equal period, drivers, the picked quotes (people
    who have not agreed to be featured without their name), signals, campaigns, recognition, judgement."""
    chosen, zone = _period(request, period, start)
    return report_out(reports.report(chosen, session=db, zone=zone))


@router.put("/reports/{period}/{start}", response_model=ReportOut, responses=ERRORS)
def put_report(request: Request, db: DB, user: WriterUser, period: str, start: str, body: reports.ReportIn) -> ReportOut:
    """Saves the judgement (one line, at most 300 characters) and/or the quotes (`quote_ids`, at most 10
    interactions of the period, in order); a field left out keeps its value."""
    chosen, zone = _period(request, period, start)
    reports.update(chosen, body, session=db, actor=actor_for(request, user), zone=zone)
    out = report_out(reports.report(chosen, session=db, zone=zone))
    db.commit()
    return out


@router.get("/report-recipients", response_model=list[reports.RecipientOut], responses=ERRORS)
def list_recipients(db: DB, user: CurrentUser) -> list[reports.RecipientOut]:
    """Who receives the report by e-mail when a month or quarter ends."""
    return [reports.RecipientOut.model_validate(r) for r in reports.recipients(session=db)]


@router.post("/report-recipients", response_model=reports.RecipientOut, status_code=201, responses=ERRORS)
def add_recipient(request: Request, db: DB, user: WriterUser, body: reports.RecipientIn) -> reports.RecipientOut:
    row = reports.add_recipient(body, session=db, actor=actor_for(request, user))
    out = reports.RecipientOut.model_validate(row)
    db.commit()
    return out


@router.delete("/report-recipients/{recipient_id}", status_code=204, responses=ERRORS)
def delete_recipient(request: Request, db: DB, user: WriterUser, recipient_id: IdPath) -> Response:
    reports.remove_recipient(recipient_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)
