"""HTML routes: identities (being built)."""

from fastapi import APIRouter

router = APIRouter()
