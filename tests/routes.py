"""Every route of the app with its full path, however routers are nested."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI
from starlette.routing import Route

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def all_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, full path) for every HTTP route. FastAPI 0.16x keeps included routers nested and
    resolves prefixes lazily, so walk them through its own resolution helper, not app.routes."""
    try:
        from fastapi.routing import _iter_routes_with_context as walk  # type: ignore[attr-defined]
    except ImportError:  # older FastAPI flattens routers on include

        def walk(routes):  # type: ignore[no-untyped-def]
            return ((route, None) for route in routes)

    seen = set()
    for route, context in walk(app.routes):
        if not isinstance(route, Route):
            continue
        path = context.path if context is not None and context.path else route.path
        for method in sorted(route.methods or ()):
            if method != "HEAD" and (method, path) not in seen:
                seen.add((method, path))
                yield method, path


def mutating_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [(m, p) for m, p in all_routes(app) if m in MUTATING]


def concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)
