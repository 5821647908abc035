"""JSON API: views (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["views"])
