"""JSON API: graph (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["graph"])
