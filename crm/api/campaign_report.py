"""JSON API: a campaign's report, deliverables, quotes and close-out."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from crm.api.common import error_responses
from crm.campaigns import report
from crm.campaigns import service as campaigns
from crm.campaigns.models import QuoteIn, QuoteOut
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for, get_settings
from crm.interactions.models import InteractionIn, InteractionOut

router = APIRouter(tags=["campaigns"])

ERRORS = error_responses(
    e403="Your role can read but not change campaigns, or the CSRF token is missing",
    e404="No such campaign, deliverable or quote",
    e422="Invalid fields (`errors` names each one): a person not in the campaign, outreach logged as a deliverable, "
         "an archived campaign, someone thanked who did not take part",
)


class DeliverableOut(InteractionOut):
    person: str


@router.get("/campaigns/{campaign_id}/report", response_model=report.ReportOut, responses=ERRORS)
def get_report(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> report.ReportOut:
    """KPIs against targets, totals, engagement rate, spend and cost per engagement, contributions over
    time, the per-member table (by reach) and the quotes."""
    zone = ZoneInfo(get_settings(request).time_zone)
    return report.report_out(report.report(campaign_id, session=db, zone=zone))


@router.get("/campaigns/{campaign_id}/deliverables", response_model=list[DeliverableOut], responses=ERRORS)
def list_deliverables(db: DB, user: CurrentUser, campaign_id: IdPath) -> list[DeliverableOut]:
    """The campaign's deliverables (linked interactions that are not outreach or notes), newest first."""
    listing = report.deliverables(campaign_id, session=db)
    return [DeliverableOut.model_validate({**InteractionOut.model_validate(row.item).model_dump(),
                                           "person": row.profile.display_name}) for row in listing.rows]


@router.post("/campaigns/{campaign_id}/deliverables", response_model=DeliverableOut, status_code=201,
             responses=ERRORS)
def log_deliverable(request: Request, db: DB, user: WriterUser, campaign_id: IdPath,
                    body: report.DeliverableIn, response: Response) -> DeliverableOut:
    """Logs a deliverable by someone in the campaign (`profile_id`), with the interaction's fields."""
    data = InteractionIn.model_validate(body.model_dump(exclude={"profile_id"}, exclude_unset=True))
    item = report.log_deliverable(campaign_id, body.profile_id, data, session=db, actor=actor_for(request, user))
    _item, profile = report.get_deliverable(campaign_id, item.id or 0, session=db)
    out = DeliverableOut.model_validate({**InteractionOut.model_validate(item).model_dump(), "person": profile.display_name})
    db.commit()
    response.headers["Location"] = f"/api/v1/interactions/{item.id}"
    return out


@router.get("/campaigns/{campaign_id}/quotes", response_model=list[QuoteOut], responses=ERRORS)
def list_quotes(db: DB, user: CurrentUser, campaign_id: IdPath) -> list[QuoteOut]:
    campaigns.get_campaign(campaign_id, session=db)
    return [QuoteOut.model_validate(q) for q, _name in campaigns.quotes(campaign_id, session=db)]


@router.post("/campaigns/{campaign_id}/quotes", response_model=QuoteOut, status_code=201, responses=ERRORS)
def add_quote(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: QuoteIn) -> QuoteOut:
    """A quote for the report: from a linked interaction (`interaction_id`), or typed in."""
    quote = campaigns.add_quote(campaign_id, body, session=db, actor=actor_for(request, user))
    out = QuoteOut.model_validate(quote)
    db.commit()
    return out


@router.delete("/campaigns/{campaign_id}/quotes/{quote_id}", status_code=204, responses=ERRORS)
def delete_quote(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, quote_id: IdPath) -> Response:
    campaigns.delete_quote(campaign_id, quote_id, session=db, actor=actor_for(request, user))
    db.commit()
    return Response(status_code=204)


@router.post("/campaigns/{campaign_id}/complete", response_model=report.CompleteOut, responses=ERRORS)
def complete(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, body: report.CompleteIn) -> report.CompleteOut:
    """Completes the campaign (members confirmed or live move to completed) and thanks the participants
    in `thank` with a note on their timeline; those thanked before are skipped (`already_thanked`)."""
    done = report.complete(campaign_id, body.thank, body.message, session=db, actor=actor_for(request, user),
                           points=body.points, badge_id=body.badge_id)
    out = report.CompleteOut(campaign_id=campaign_id, status=done.campaign.status, completed_at=done.campaign.completed_at,
                             thanked=done.thanked, already_thanked=done.already_thanked)
    db.commit()
    return out
