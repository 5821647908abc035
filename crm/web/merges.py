"""HTML routes: merges (being built)."""

from fastapi import APIRouter

router = APIRouter()
