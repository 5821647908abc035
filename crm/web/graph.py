"""HTML routes: graph (being built)."""

from fastapi import APIRouter

router = APIRouter()
