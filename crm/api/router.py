"""JSON routes under /api/v1."""

from fastapi import APIRouter

from crm.api import exports, graph, imports, interactions, merges, profiles, relationships, views

api_router = APIRouter(prefix="/api/v1")
for module in (views, exports, merges, imports, interactions, relationships, graph, profiles):
    api_router.include_router(module.router)
