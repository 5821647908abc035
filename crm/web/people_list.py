"""HTML routes: people_list (being built)."""

from fastapi import APIRouter

router = APIRouter()
