"""HTML routes: imports (being built)."""

from fastapi import APIRouter

router = APIRouter()
