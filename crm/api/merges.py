"""JSON API: merges (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["merges"])
