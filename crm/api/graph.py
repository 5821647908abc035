"""JSON API: graph views (a person's ego network, the communities). The same service as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crm.api.common import error_responses
from crm.deps import DB, CurrentUser, IdPath
from crm.graph import service as graph
from crm.graph.models import EGO_DEFAULT_LIMIT, EGO_MAX_LIMIT, EXPLORER_DEFAULT_LIMIT, EXPLORER_MAX_LIMIT, EgoGraph, ExplorerGraph
from crm.profiles.models import ProfileRole

router = APIRouter(tags=["graph"])

ERRORS = error_responses(e404="No such profile")


@router.get("/profiles/{profile_id}/graph", response_model=EgoGraph, responses=ERRORS)
def ego_network(
    db: DB, user: CurrentUser, profile_id: IdPath,
    hops: Annotated[int, Query(ge=1, le=2, description="1 or 2 hops from the person")] = 1,
    limit: Annotated[int, Query(ge=2, le=EGO_MAX_LIMIT, description="People drawn, the person included")] = EGO_DEFAULT_LIMIT,
) -> EgoGraph:
    """The person's ego network: the strongest connections first, capped at `limit` (`omitted` says how many were left out)."""
    return graph.ego_network(profile_id, session=db, hops=hops, limit=limit)


@router.get("/graph/communities", response_model=ExplorerGraph, responses=ERRORS)
def communities(
    db: DB, user: CurrentUser,
    role: ProfileRole | None = None,
    topic: Annotated[str, Query(max_length=200)] = "",
    find: Annotated[str, Query(max_length=200, description="A name to find, highlight and always include")] = "",
    limit: Annotated[int, Query(ge=10, le=EXPLORER_MAX_LIMIT)] = EXPLORER_DEFAULT_LIMIT,
) -> ExplorerGraph:
    """Louvain communities (seed 42) of the whole graph, computed once per graph version: the largest
    communities' most connected members, filtered by role and topic, at most `limit` of them."""
    return graph.explore(session=db, role=role, topic=topic, find=find, limit=limit)
