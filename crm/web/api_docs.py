"""A readable API reference rendered from the OpenAPI schema (no CDN, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from crm.deps import CurrentUser
from crm.templating import render

router = APIRouter()


@router.get("/api/v1/openapi.json")
def openapi_document(request: Request, user: CurrentUser) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/api/docs")
def api_docs(request: Request, user: CurrentUser) -> Response:
    schema = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, **op}
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
    ]
    return render(request, "pages/api_docs.html", {"schema": schema, "operations": operations})
