"""JSON API for alert rules (with their back-test) and alerts: the same services as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.listening import alerts, backtest
from crm.schemas import OUT_CONFIG, Page

router = APIRouter(tags=["alerts"])

RULE_ERRORS = error_responses(e404="No such alert rule")
ALERT_ERRORS = error_responses(e404="No such alert")


class RuleStatsOut(alerts.AlertRuleOut):
    fired: int
    expected_count: int
    acted: int
    dismissed: int
    unhandled_old: int
    acted_rate: float | None


class SpeakerOut(BaseModel):
    model_config = OUT_CONFIG

    profile_id: int
    name: str
    standing: str
    reach: int
    mentions: int
    negative: int
    mention_ids: list[int]


class DeliveryOut(BaseModel):
    model_config = OUT_CONFIG

    channel: str
    target: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    digest_day: date | None


class AlertOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    rule_id: int
    rule_name: str
    topic_id: int
    topic_name: str
    fired_at: datetime
    window_start: datetime
    observed: int
    expected: float
    p_value: float
    status: str
    campaign_id: int | None
    campaign_name: str
    mention_ids: list[int]
    estimated_negative_not_counted: int
    unread: bool
    acted_at: datetime | None
    acted_by_id: int | None
    who_is_talking: list[SpeakerOut]
    deliveries: list[DeliveryOut]


class BacktestFiringOut(BaseModel):
    model_config = OUT_CONFIG

    topic_id: int
    topic_name: str
    at: datetime
    window_start: datetime
    observed: int
    expected: float
    p_value: float
    campaign_id: int | None
    campaign_name: str
    mention_ids: list[int]
    who_was_talking: list[SpeakerOut]


class BacktestDayOut(BaseModel):
    day: date
    count: int
    fired: int
    expected: int


class BacktestOut(BaseModel):
    model_config = OUT_CONFIG

    start: datetime
    end: datetime
    topics: list[str]
    firings: int
    raised: int
    shown: list[BacktestFiringOut]
    days: list[BacktestDayOut]


def _speakers(speakers: list[alerts.people.Speaker]) -> list[SpeakerOut]:
    return [SpeakerOut(profile_id=s.author.profile_id, name=s.author.name, standing=s.author.standing().value,
                       reach=s.author.reach, mentions=s.mentions, negative=s.negative, mention_ids=s.mention_ids)
            for s in speakers]


def _alert_out(view: alerts.AlertView) -> AlertOut:
    a = view.alert
    return AlertOut(id=a.id or 0, rule_id=a.rule_id, rule_name=view.rule_name, topic_id=a.topic_id,
                    topic_name=view.topic_name, fired_at=a.fired_at, window_start=a.window_start, observed=a.observed,
                    expected=a.expected, p_value=a.p_value, status=a.status, campaign_id=a.campaign_id,
                    campaign_name=view.campaign_name, mention_ids=list(a.mention_ids or []),
                    estimated_negative_not_counted=view.estimated_extra, unread=view.unread, acted_at=a.acted_at,
                    acted_by_id=a.acted_by_id, who_is_talking=_speakers(view.speakers),
                    deliveries=[DeliveryOut.model_validate(d) for d in view.deliveries])


def _backtest_out(result: backtest.Backtest) -> BacktestOut:
    return BacktestOut(
        start=result.start, end=result.end, topics=result.topics, firings=result.total, raised=result.raised,
        shown=[BacktestFiringOut(topic_id=f.topic_id, topic_name=f.topic_name, at=f.at, window_start=f.window_start,
                                 observed=f.observed, expected=f.expected, p_value=f.p_value,
                                 campaign_id=f.campaign_id, campaign_name=f.campaign_name, mention_ids=f.mention_ids,
                                 who_was_talking=_speakers(f.speakers)) for f in result.shown],
        days=[BacktestDayOut(day=b.day, count=b.count, fired=b.fired, expected=b.expected) for b in result.bars])


def _rule_row_out(row: alerts.RuleRow) -> RuleStatsOut:
    base = alerts.rule_out(row.rule).model_dump()
    return RuleStatsOut(**base, fired=row.fired, expected_count=row.expected, acted=row.acted,
                        dismissed=row.dismissed, unhandled_old=row.stale, acted_rate=row.acted_rate)


# ---- rules ------------------------------------------------------------------------------------------

@router.get("/alert-rules", response_model=list[RuleStatsOut], responses=RULE_ERRORS)
def list_rules(db: DB, user: CurrentUser) -> list[RuleStatsOut]:
    """Every rule with its fired count and acted-on rate (acted ÷ (acted + dismissed + unhandled > 7 days))."""
    return [_rule_row_out(row) for row in alerts.list_rules(session=db)]


@router.post("/alert-rules", response_model=alerts.AlertRuleOut, status_code=201, responses=RULE_ERRORS)
def create_rule(request: Request, db: DB, user: WriterUser, body: alerts.AlertRuleIn,
                response: Response) -> alerts.AlertRuleOut:
    """The answer carries the webhook secret (generated when none was given): it is not shown again."""
    rule, secret = alerts.create_rule(body, session=db, actor=actor_for(request, user),
                                      allow_private=bool(request.app.state.settings.webhook_allow_private))
    out = alerts.rule_out(rule, secret=secret)
    db.commit()
    response.headers["Location"] = f"/api/v1/alert-rules/{rule.id}"
    return out


@router.post("/alert-rules/backtest", response_model=BacktestOut, responses=RULE_ERRORS)
def backtest_unsaved(db: DB, user: WriterUser, body: alerts.SpikeFields) -> BacktestOut:
    """What rule values not yet saved would have done over the last 90 days."""
    return _backtest_out(backtest.run(body, session=db))


@router.get("/alert-rules/{rule_id}", response_model=RuleStatsOut, responses=RULE_ERRORS)
def get_rule(db: DB, user: CurrentUser, rule_id: IdPath) -> RuleStatsOut:
    rows = alerts.rule_stats([rule_id], session=db)
    if rule_id not in rows:
        alerts.get_rule(rule_id, session=db)
    return _rule_row_out(rows[rule_id])


@router.patch("/alert-rules/{rule_id}", response_model=alerts.AlertRuleOut, responses=RULE_ERRORS)
def patch_rule(request: Request, db: DB, user: WriterUser, rule_id: IdPath,
               body: alerts.AlertRulePatch) -> alerts.AlertRuleOut:  # type: ignore[valid-type]
    rule = alerts.update_rule(rule_id, body, session=db, actor=actor_for(request, user), partial=True,
                              allow_private=bool(request.app.state.settings.webhook_allow_private))
    out = alerts.rule_out(rule)
    db.commit()
    return out


@router.delete("/alert-rules/{rule_id}", status_code=204, responses=RULE_ERRORS)
def delete_rule(request: Request, db: DB, user: WriterUser, rule_id: IdPath) -> Response:
    alerts.delete_rule(rule_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


@router.get("/alert-rules/{rule_id}/backtest", response_model=BacktestOut, responses=RULE_ERRORS)
def backtest_saved(db: DB, user: CurrentUser, rule_id: IdPath) -> BacktestOut:
    return _backtest_out(backtest.run(alerts.get_rule(rule_id, session=db), session=db))


# ---- alerts -----------------------------------------------------------------------------------------

@router.get("/alerts", response_model=Page[AlertOut], responses=ALERT_ERRORS)
def list_alerts(db: DB, user: CurrentUser, params: Annotated[alerts.AlertQuery, Query()]) -> Page[AlertOut]:
    """Alerts newest first (filter by status, rule, topic, unread for you), with who is talking."""
    listing = alerts.list_alerts(params, session=db, user_id=user.id)
    return Page[AlertOut](items=[_alert_out(v) for v in listing.items], total=listing.total, page=listing.page,
                          per_page=listing.per_page, pages=listing.pages)


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=ALERT_ERRORS)
def get_alert(db: DB, user: CurrentUser, alert_id: IdPath) -> AlertOut:
    return _alert_out(alerts.get_alert(alert_id, session=db, user_id=user.id))


@router.post("/alerts/{alert_id}/act", response_model=AlertOut, responses=ALERT_ERRORS)
def act_on_alert(request: Request, db: DB, user: WriterUser, alert_id: IdPath, body: alerts.AlertActIn) -> AlertOut:
    """Record what was done: `acted` (someone did something about it) or `dismissed` (noise)."""
    alerts.act(alert_id, body, session=db, actor=actor_for(request, user), user_id=user.id)
    out = _alert_out(alerts.get_alert(alert_id, session=db, user_id=user.id))
    db.commit()
    return out
