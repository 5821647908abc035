"""JSON routes: ranking (issue 8)."""

from fastapi import APIRouter

router = APIRouter()
