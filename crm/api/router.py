"""JSON routes under /api/v1."""

from fastapi import APIRouter

from crm.api import profiles

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(profiles.router)
