"""HTML routes: views (being built)."""

from fastapi import APIRouter

router = APIRouter()
