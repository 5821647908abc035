"""JSON API: relationships (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["relationships"])
