"""Graph views (HTML and the JSON the pages draw from): a person's ego network and the community explorer."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from crm.deps import DB, CurrentUser, IdPath
from crm.graph import service as graph
from crm.graph.models import EGO_DEFAULT_LIMIT, EGO_MAX_LIMIT, EXPLORER_DEFAULT_LIMIT, EgoGraph, ExplorerGraph
from crm.profiles.models import ProfileRole
from crm.templating import render

router = APIRouter()

Hops = Annotated[int, Query(ge=1, le=2, description="1 or 2")]


def _role(value: str) -> ProfileRole | None:
    """An unknown role in the address is ignored (the filter shows "all roles"), not an error page."""
    try:
        return ProfileRole(value) if value else None
    except ValueError:
        return None


@router.get("/people/{profile_id}/graph.json")
def ego_json(
    db: DB, user: CurrentUser, profile_id: IdPath, hops: Hops = 1,
    limit: Annotated[int, Query(ge=2, le=EGO_MAX_LIMIT)] = EGO_DEFAULT_LIMIT,
) -> EgoGraph:
    return graph.ego_network(profile_id, session=db, hops=hops, limit=limit)


@router.get("/people/{profile_id}/network")
def ego_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath, hops: Hops = 1) -> Response:
    """The ego network with its text alternative; the profile page's panel loads the block."""
    ego = graph.ego_network(profile_id, session=db, hops=hops)
    return render(request, "graph/ego.html", {"ego": ego}, block="ego_network")


@router.get("/graph.json")
def explorer_json(db: DB, user: CurrentUser, role: str = "", topic: str = "", find: str = "") -> ExplorerGraph:
    return graph.explore(session=db, role=_role(role), topic=topic[:200], find=find[:200])


@router.get("/graph")
def explorer_page(request: Request, db: DB, user: CurrentUser, role: str = "", topic: str = "", find: str = "") -> Response:
    explorer = graph.explore(session=db, role=_role(role), topic=topic[:200], find=find[:200],
                             limit=EXPLORER_DEFAULT_LIMIT)
    query = {k: v for k, v in (("role", explorer.role or ""), ("topic", explorer.topic), ("find", explorer.find)) if v}
    context = {
        "explorer": explorer,
        "roles": list(ProfileRole),
        "topics": graph.common_topics(session=db),
        "json_url": "/graph.json" + ("?" + urlencode(query) if query else ""),
        "section": "people",
    }
    return render(request, "graph/explorer.html", context, block="explorer")
