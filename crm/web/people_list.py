"""The people list: search, filters, sort and pages (HTML)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.deps import DB, CurrentUser, get_settings
from crm.profiles.models import ProfileRole, ProfileStatus
from crm.profiles.search import ListQuery, list_profiles
from crm.templating import render
from crm.web.forms import forgiving

router = APIRouter(prefix="/people")


# ---- the list --------------------------------------------------------------------------------------


def people_url(params: ListQuery, **changes: Any) -> str:
    """The list's URL with some parameters changed (page, sort...), for links and htmx requests."""
    values = {
        "q": params.q, "status": params.status, "role": params.role, "topic": params.topic,
        "sort": params.sort.value, "dir": params.order.value, "page": params.page,
    }
    values.update(changes)
    if values["page"] == 1:
        del values["page"]
    return "/people?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _list_query(request: Request) -> ListQuery:
    raw = dict(request.query_params)
    raw.pop("per_page", None)  # the page size is a setting here
    raw["order"] = raw.pop("dir", "")  # the page's URLs say dir=
    params = forgiving(ListQuery, raw)
    return params.model_copy(update={"per_page": get_settings(request).page_size})


@router.get("")
def people_list(request: Request, db: DB, user: CurrentUser) -> Response:
    params = _list_query(request)
    listing = list_profiles(params, session=db)
    if not listing.rows and listing.page > listing.pages:  # an old link past the end: show the last page
        params = params.model_copy(update={"page": listing.pages})
        listing = list_profiles(params, session=db)
    context = {
        "listing": listing, "params": params, "statuses": list(ProfileStatus), "roles": list(ProfileRole),
        "people_url": people_url,
    }
    return render(request, "profiles/list.html", context, block="results")


