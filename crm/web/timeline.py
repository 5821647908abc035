"""HTML routes: timeline (being built)."""

from fastapi import APIRouter

router = APIRouter()
