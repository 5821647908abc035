"""Every route of the app with its full path and declared access, however routers are nested.
The walker is the app's own (crm.routes_check), which refuses route kinds it does not understand."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI

from crm.routes_check import Endpoint, walk_routes

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def endpoints(app: FastAPI) -> list[Endpoint]:
    return list(walk_routes(app))


def all_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, full path) for every endpoint, mounts included (as GET)."""
    for endpoint in walk_routes(app):
        yield endpoint.method, endpoint.path


def mutating_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [(m, p) for m, p in all_routes(app) if m in MUTATING]


def concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)
