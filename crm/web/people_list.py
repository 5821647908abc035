"""The people list (search, filters, sort, columns, pages) and the header's global search (HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.deps import DB, CurrentUser, get_settings
from crm.i18n import gettext
from crm.interactions.models import InteractionKind
from crm.profiles.models import Platform, ProfileRole, ProfileStatus
from crm.profiles.search import (
    ACTIVITY_GROUPS,
    COLUMNS,
    DEFAULT_COLUMNS,
    SORT_OF_COLUMN,
    ActivityMode,
    ListQuery,
    TeamFilter,
    people_page,
    quick_matches,
)
from crm.ranking.models import Level
from crm.templating import render
from crm.web.forms import forgiving
from crm.web.numbers import decimal

router = APIRouter()

# Reset together when their chip is removed.
_CHIP_GROUPS = {"kind": ("kind", "activity", "days")}


def people_url(params: ListQuery, **changes: Any) -> str:
    """The list's URL with some parameters changed (page, sort, a filter reset...), for links and htmx
    requests: the filters in use, then the columns, sort, direction and page."""
    values: dict[str, Any] = {"q": params.q, **params.filters(), "cols": params.cols,
                              "sort": params.sort.value, "dir": params.order.value, "page": params.page}
    values.update(changes)
    if values.get("page") == 1:
        del values["page"]
    if not values.get("kind"):
        values.pop("activity", None)
        values.pop("days", None)
    shown = {k: _url_value(v) for k, v in values.items() if v not in ("", None)}
    return "/people?" + urlencode(shown)


def _url_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return getattr(value, "value", value)


@dataclass
class Chip:
    """An active filter, shown with a link that removes it; `shown` says how the template writes the
    value: as it is, as an enum's words (`label`) or as a number."""

    label: str
    value: Any
    remove_url: str
    shown: str = "text"


def _chips(params: ListQuery, owner_names: dict[str, str]) -> list[Chip]:
    chips: list[Chip] = []
    for name, value in params.filters().items():
        if name in ("activity", "days"):
            continue
        reset = {key: "" for key in _CHIP_GROUPS.get(name, (name,))}
        label, shown_value, shown = _chip_text(name, value, params, owner_names)
        chips.append(Chip(label=label, value=shown_value, remove_url=people_url(params, page=1, **reset), shown=shown))
    return chips


def _chip_text(name: str, value: Any, params: ListQuery, owners: dict[str, str]) -> tuple[str, Any, str]:
    yes, no = gettext("yes"), gettext("no")
    if name == "kind":
        label = gettext("Did") if params.activity == ActivityMode.did else gettext("Did not")
        group = ACTIVITY_GROUPS.get(value)
        what = gettext(group or value.replace("_", " ").capitalize())
        return label, gettext("%(what)s in the last %(days)d days") % {"what": what, "days": params.days}, "text"
    if name in ("may_contact", "may_feature"):
        return (gettext("May contact") if name == "may_contact" else gettext("May feature")), (yes if value else no), "text"
    if name == "team":
        return gettext("Team member"), (yes if value == TeamFilter.yes else no), "text"
    if name == "owner":
        return gettext("Owner"), (gettext("nobody") if value == "none" else owners.get(value, f"#{value}")), "text"
    if name in ("status", "role", "platform"):
        return FILTER_LABELS[name](), value, "label"
    if name == "level":
        return FILTER_LABELS[name](), Level(value).label, "text"
    if name in ("reach_min", "reach_max", "followers_min", "followers_max", "score_min", "score_max"):
        return FILTER_LABELS[name](), value, "number"
    return FILTER_LABELS[name](), str(value), "text"


FILTER_LABELS = {
    "status": lambda: gettext("Status"),
    "role": lambda: gettext("Role"),
    "topic": lambda: gettext("Topic"),
    "tag": lambda: gettext("Tag"),
    "platform": lambda: gettext("Platform"),
    "followers_min": lambda: gettext("Followers at least"),
    "followers_max": lambda: gettext("Followers at most"),
    "reach_min": lambda: gettext("Reach at least"),
    "reach_max": lambda: gettext("Reach at most"),
    "level": lambda: gettext("Level"),
    "score_min": lambda: gettext("Score at least"),
    "score_max": lambda: gettext("Score at most"),
    "language": lambda: gettext("Language"),
    "location": lambda: gettext("Location"),
}


def list_query(raw: dict[str, str], page_size: int, cols: list[str] | None = None) -> ListQuery:
    """The page's parameters, read forgivingly: a bad value falls back to its default. The columns
    come as one comma list (links, saved views) or as one `cols` per ticked box (the filter form)."""
    raw = dict(raw)
    if cols and len(cols) > 1:
        raw["cols"] = ",".join(cols)
    if raw.get("cols") and tuple(c.strip() for c in raw["cols"].split(",")) == DEFAULT_COLUMNS:
        del raw["cols"]  # the default set needs no parameter
    raw.pop("per_page", None)  # the page size is a setting here
    raw["order"] = raw.pop("dir", "")  # the page's URLs say dir=
    params = forgiving(ListQuery, raw)
    return params.model_copy(update={"per_page": page_size})


@router.get("/people")
def people_list(request: Request, db: DB, user: CurrentUser) -> Response:
    query = request.query_params
    params = list_query(dict(query), get_settings(request).page_size, query.getlist("cols"))
    page = people_page(params, session=db)
    params = page.params
    owner_names = {str(u.id): u.name for u in page.owners}
    context = {
        "listing": page.listing, "params": params, "people_url": people_url,
        "statuses": list(ProfileStatus), "roles": list(ProfileRole), "platforms": list(Platform),
        "kinds": [k.value for k in InteractionKind], "activity_groups": ACTIVITY_GROUPS, "owners": page.owners,
        "owner_names": owner_names, "chips": _chips(params, owner_names),
        "clear_url": people_url(params, page=1, **dict.fromkeys(params.filters(), "")), "columns": params.columns,
        "all_columns": COLUMNS, "default_columns": DEFAULT_COLUMNS, "sort_of_column": SORT_OF_COLUMN,
        "levels": list(Level), "decimal": decimal,
    }
    return render(request, "profiles/list.html", context, block="results")


@router.get("/search")
def global_search(request: Request, db: DB, user: CurrentUser) -> Response:
    """The header's search box: the top matches as a dropdown fragment (htmx), or as a page."""
    q = request.query_params.get("q", "")[:200]
    matches = quick_matches(q, session=db)
    context = {"q": q, "matches": matches, "more_url": "/people?" + urlencode({"q": q}) if q.strip() else "/people"}
    return render(request, "profiles/_list_search.html", context, block="matches")
