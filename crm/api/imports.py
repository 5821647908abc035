"""JSON API: imports (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["imports"])
