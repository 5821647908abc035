"""JSON routes: weights (issue 8)."""

from fastapi import APIRouter

router = APIRouter()
