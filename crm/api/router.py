"""JSON routes under /api/v1."""

from fastapi import APIRouter

from crm.api import (
    exports,
    graph,
    imports,
    interactions,
    merges,
    profiles,
    ranking,
    relationships,
    relevance,
    views,
    weights,
)

api_router = APIRouter(prefix="/api/v1")
for module in (views, exports, merges, imports, interactions, relationships, graph, ranking, relevance, weights,
               profiles):
    api_router.include_router(module.router)
