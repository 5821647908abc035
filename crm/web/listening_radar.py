"""The crisis radar (HTML): /listening, and the dashboard widget it lends (/listening/widget)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.deps import DB, CurrentUser
from crm.listening import radar
from crm.listening.priority import STANDING_WEIGHT
from crm.ranking.models import level_label
from crm.templating import render
from crm.web.forms import forgiving
from crm.web.numbers import decimal

router = APIRouter(prefix="/listening")


def radar_url(query: radar.RadarQuery, **changes: Any) -> str:
    """The radar's URL with some parameters changed; defaults left out (page 1, the 7-day window)."""
    values: dict[str, Any] = {"window": query.window.value, "topic": query.topic, "channel": query.channel,
                              "page": query.page}
    values.update(changes)
    if values.get("window") == radar.Window.week.value:
        del values["window"]
    if values.get("page") == 1:
        del values["page"]
    shown = {k: v for k, v in values.items() if v not in ("", None)}
    return "/listening?" + urlencode(shown)


def _helpers() -> dict[str, Any]:
    return {"decimal": decimal, "level_label": level_label, "standing_label": radar.standing_label,
            "signal_url": radar.signal_url}


@router.get("")
def radar_page(request: Request, db: DB, user: CurrentUser) -> Response:
    query = forgiving(radar.RadarQuery, dict(request.query_params))
    view = radar.radar_view(query, session=db, deferred=True)
    context = {
        "view": view, "query": view.page.query, "listing": view.page, "windows": list(radar.Window),
        "radar_url": radar_url, "base_url": radar_url(view.page.query, page=1),
        "formula": radar.FORMULA, "weights": sorted(STANDING_WEIGHT.items(), key=lambda kv: -kv[1]),
        "extra_url": "/listening/extra?" + radar_url(view.page.query, page=1).partition("?")[2],
        **_helpers(),
    }
    return render(request, "listening/radar.html", context, block="results")


@router.get("/extra")
def radar_extra(request: Request, db: DB, user: CurrentUser) -> Response:
    """The radar's bursts (with who is talking) and changes of tone, loaded by the page after its list:
    they read people's history, and the ranked list should not wait for them."""
    query = forgiving(radar.RadarQuery, dict(request.query_params))
    view = radar.radar_view(query, session=db, per_page=1)
    return render(request, "listening/radar.html", {"view": view, "query": view.page.query, **_helpers()},
                  block="extra")


@router.get("/widget")
def radar_widget(request: Request, db: DB, user: CurrentUser) -> Response:
    """The dashboard's "negative mentions by people with large reach" (loaded by the dashboard)."""
    context = {"widget": radar.widget(session=db), **_helpers()}
    return render(request, "listening/radar_widget.html", context, block="widget")
