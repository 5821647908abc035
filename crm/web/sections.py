"""Sections whose domain has not been built yet: an honest empty state rather than a dead link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.deps import CurrentUser
from crm.templating import render

router = APIRouter()

PLANNED = {
    "campaigns": (
        "Campaigns",
        "Plan a campaign, shortlist the right people by relevance and reach, move them through the pipeline "
        "and link what they publish.",
    ),
    "recognition": (
        "Recognition",
        "Points from an append-only ledger, badges, levels and a rewards catalogue, so nobody who helped is forgotten.",
    ),
}


@router.get("/campaigns")
def campaigns(request: Request, user: CurrentUser) -> Response:
    title, text = PLANNED["campaigns"]
    return render(request, "pages/planned.html", {"title": title, "text": text, "section": "campaigns"})


@router.get("/recognition")
def recognition(request: Request, user: CurrentUser) -> Response:
    title, text = PLANNED["recognition"]
    return render(request, "pages/planned.html", {"title": title, "text": text, "section": "recognition"})
