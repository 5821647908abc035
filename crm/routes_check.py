"""Every route declares who may call it; the app refuses to start when one does not.

`walk_routes` lists every endpoint of the app with its full path, however routers are nested,
and refuses what it does not understand: a new kind of route or mount must be reviewed (and
taught here) before it can serve anything. Tests use the same walker, so they see what the app sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, _iter_routes_with_context  # private, hence the pinned FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

from crm.deps import Access, declared_access

# Mounts that may exist, each a read-only file server (StaticFiles answers only GET and HEAD).
READ_ONLY_MOUNTS = {"/static": StaticFiles}


class UnreviewedRoute(RuntimeError):
    """A route the security checks do not understand, or one that does not say who may call it."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    access: Access
    route: Any


def _nested(app: FastAPI) -> Iterator[tuple[BaseRoute, str, Any]]:
    """(route, full path, dependant). FastAPI 0.165 keeps included routers nested and resolves
    prefixes lazily, so walk them with its own resolution helper rather than app.routes alone;
    pyproject.toml pins FastAPI below 0.166 so that a change there is seen before it lands."""
    for route, context in _iter_routes_with_context(app.routes):
        path = context.path if context is not None and context.path else getattr(route, "path", "")
        # The context's dependant includes the dependencies of the routers it was included through.
        dependant = context.dependant if context is not None and context.dependant else getattr(route, "dependant", None)
        yield route, path, dependant


def walk_routes(app: FastAPI) -> Iterator[Endpoint]:
    for route, path, dependant in _nested(app):
        if isinstance(route, APIRoute):
            access = declared_access(dependant)
            if access is None:
                raise UnreviewedRoute(f"{sorted(route.methods or ())} {path} does not declare who may call it")
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield Endpoint(method, path, access, route)
        elif isinstance(route, Mount) and type(route.app) is READ_ONLY_MOUNTS.get(route.path):
            yield Endpoint("GET", route.path, Access.public, route)
        else:
            raise UnreviewedRoute(f"{type(route).__name__} at {path or '?'} is not a kind of route the checks understand")


def check_routes(app: FastAPI) -> None:
    """Run when the app is built: fail loudly rather than serve a route nobody reviewed."""
    for endpoint in walk_routes(app):
        if isinstance(endpoint.route, APIRoute):
            endpoint.route.access = endpoint.access  # type: ignore[attr-defined]  # read by the write guard
