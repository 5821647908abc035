"""The CM's morning: what needs attention today."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.audit import service as audit
from crm.audit.actions import CHANGES
from crm.campaigns import pages as campaign_pages
from crm.db import utcnow
from crm.deps import DB, CurrentUser
from crm.interactions import service as history
from crm.profiles import service as profiles
from crm.ranking import boards
from crm.templating import render
from crm.web.ranking import helpers as ranking_helpers
from crm.web.recognition_queue import widget_context as thank_queue

router = APIRouter()
TOP_ADVOCATES = 5


@router.get("/")
def dashboard(request: Request, db: DB, user: CurrentUser) -> Response:
    now = utcnow()
    months = history.contributions_by_month(session=db, now=now)
    context = {
        "headlines": history.headlines(session=db, now=now),
        "top": history.top_contributors(session=db, since=now - timedelta(days=30)),
        "months": months,
        "months_max": max((m.count for m in months), default=0),
        "status_counts": profiles.counts_by_status(session=db),
        "recent_changes": audit.recent_events(session=db, actions=CHANGES, limit=8) if user.can_write else [],
        # The leaderboard's top five (team members left out) and the biggest gains: the same services as /ranking.
        "top_advocates": boards.leaderboard(boards.BoardQuery(per_page=TOP_ADVOCATES), session=db),
        "rising": boards.rising(session=db, days=30, limit=TOP_ADVOCATES),
        # Overdue campaign tasks, the user's own first (crm.campaigns.pages).
        "overdue": campaign_pages.overdue_tasks(session=db, user_id=user.id),
        **ranking_helpers(),
        # The main widget: the top of the "not yet thanked" queue (crm.recognition.queue).
        "thank_queue": thank_queue(db),
    }
    return render(request, "dashboard/index.html", context)
