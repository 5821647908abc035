"""HTML routes: a campaign's candidates (discovery, "more like this person"), the roster builder and the
warm introduction to one person. Thin: parse, call crm.campaigns.discovery / intros, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from crm.campaigns import discovery, intros, service
from crm.campaigns.discovery import EXCLUSION_LABELS, DiscoverQuery, Exclusion, RosterQuery
from crm.campaigns.models import MembersIn, Stage
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import InvalidInput
from crm.i18n import gettext, ngettext
from crm.profiles.models import Platform, ProfileRole
from crm.ranking.models import level_label
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect
from crm.web.numbers import decimal

router = APIRouter(prefix="/campaigns")

_DEFAULTS = DiscoverQuery()


def discover_params(query: DiscoverQuery, **changes: Any) -> list[tuple[str, str]]:
    """The parameters that differ from the defaults, as a link carries them."""
    values = query.model_copy(update=changes)
    params: list[tuple[str, str]] = []
    for name in ("role", "platform", "followers_min", "followers_max", "language", "location", "level", "tag",
                 "blocklist_tag", "like", "page"):
        value = getattr(values, name)
        value = getattr(value, "value", value)
        if value in (None, "") or value == getattr(_DEFAULTS, name):
            continue
        params.append((name, str(value)))
    if set(values.exclude) != set(_DEFAULTS.exclude):
        params.append(("exclude", ""))
        params.extend(("exclude", reason.value) for reason in values.exclude)
    return params


def discover_url(campaign_id: int, query: DiscoverQuery, **changes: Any) -> str:
    params = discover_params(query, **changes)
    return f"/campaigns/{campaign_id}/discover" + ("?" + urlencode(params) if params else "")


def _helpers() -> dict[str, Any]:
    return {"decimal": decimal, "level_label": level_label, "exclusion_labels": EXCLUSION_LABELS,
            "exclusions": list(Exclusion), "roles": list(ProfileRole), "platforms": list(Platform)}


def _query(request: Request) -> DiscoverQuery:
    params = request.query_params
    lists = {"exclude": params.getlist("exclude")} if "exclude" in params else {}
    return discovery.read_query(dict(params), lists)


@router.get("/{campaign_id}/discover")
def discover_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    query = _query(request)
    found = discovery.discover(campaign_id, query, session=db)
    if not found.cards and query.page > found.pages:  # an old link past the end: the last page
        query = query.model_copy(update={"page": found.pages})
        found = discovery.discover(campaign_id, query, session=db)
    context = {"campaign": found.campaign, "tab": "discover", "found": found, "query": query,
               "discover_url": discover_url, **_helpers()}
    return render(request, "campaigns/discover.html", context, block="results")


def _ids(form: Any) -> list[str]:
    return [value for value in form.getlist("profile_ids") if isinstance(value, str) and value.strip()]


def _add(request: Request, db: DB, user: WriterUser, campaign_id: int, form: Any, back: str) -> Response:
    stage = form.get("stage") or Stage.shortlisted.value
    try:
        data = MembersIn.model_validate({"profile_ids": _ids(form), "stage": stage})
    except ValidationError as exc:
        errors = field_errors(exc)
        if "profile_ids" in errors:
            message = (gettext("Tick at most %(n)s people at a time.") % {"n": 200} if len(_ids(form)) > 200
                       else gettext("Tick at least one person first."))
        else:
            message = gettext("The request has invalid fields.")
        raise InvalidInput(message, field_errors=errors) from exc
    result = discovery.add_to_pipeline(campaign_id, data.profile_ids, data.stage, session=db,
                                       actor=actor_for(request, user))
    db.commit()
    added, already = len(result.added), len(result.already)
    message = ngettext("%(num)d person added to the pipeline.", "%(num)d people added to the pipeline.",
                       added) % {"num": added}
    if already:
        message += " " + ngettext("%(num)d was already in this campaign.", "%(num)d were already in this campaign.",
                                  already) % {"num": already}
    if is_fragment_request(request):
        return render(request, "campaigns/discover_added.html",
                      {"added": added, "already": already, "message": message, "campaign_id": campaign_id,
                       "stage": data.stage}, block="added")
    return redirect(request, back, flash=message)


@router.post("/{campaign_id}/discover/add")
async def discover_add(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    """The ticked people into the pipeline (stage shortlisted or candidate): htmx gets a short result
    to swap in, a plain form goes back to the page it came from with a flash."""
    back = form.get("back")
    target = back if isinstance(back, str) and back.startswith(f"/campaigns/{campaign_id}/discover") else \
        f"/campaigns/{campaign_id}/discover"
    return _add(request, db, user, campaign_id, form, target)


# ---- the roster -----------------------------------------------------------------------------------


def _roster_query(request: Request) -> tuple[RosterQuery, dict[str, str], dict[str, str]]:
    raw = {name: value for name, value in request.query_params.items()
           if name in RosterQuery.model_fields and value.strip() != ""}
    try:
        return RosterQuery.model_validate(raw), raw, {}
    except ValidationError as exc:
        errors = field_errors(exc)
        kept = {name: value for name, value in raw.items() if name not in errors}
        return RosterQuery.model_validate(kept), raw, errors


@router.get("/{campaign_id}/roster")
def roster_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath) -> Response:
    query, shown, errors = _roster_query(request)
    status = 422 if errors else 200
    result = None
    if not errors:
        try:
            result = discovery.build_roster(campaign_id, query, session=db)
        except InvalidInput as exc:
            errors, status = exc.field_errors or {"__all__": exc.message}, 422
    campaign = result.campaign if result else service.get_campaign(campaign_id, session=db)
    context = {"campaign": campaign, "tab": "roster", "result": result, "query": query, "shown": shown,
               "errors": errors, **_helpers()}
    return render(request, "campaigns/roster.html", context, block="roster", status_code=status)


@router.post("/{campaign_id}/roster/add")
async def roster_add(request: Request, db: DB, user: WriterUser, campaign_id: IdPath, form: Form) -> Response:
    """The roster's people into the pipeline as shortlisted."""
    back = form.get("back")
    target = back if isinstance(back, str) and back.startswith(f"/campaigns/{campaign_id}/roster") else \
        f"/campaigns/{campaign_id}/roster"
    return _add(request, db, user, campaign_id, form, target)


# ---- warm introductions -----------------------------------------------------------------------------


@router.get("/{campaign_id}/intro/{profile_id}")
def intro_page(request: Request, db: DB, user: CurrentUser, campaign_id: IdPath, profile_id: IdPath) -> Response:
    """How to reach one person: the fragment goes into a discovery card or a roster row; the page stands alone."""
    intro = intros.warm_intro(campaign_id, profile_id, session=db)
    context = {"campaign": intro.campaign, "tab": "discover", "intro": intro, **_helpers()}
    return render(request, "campaigns/intro.html", context, block="intro")
