"""Turn errors into friendly pages for people and JSON bodies for the API."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm.deps import LoginRequired, optional_user
from crm.errors import DomainError
from crm.i18n import current_locale, gettext, pick_locale
from crm.security import PasswordCheckBusy
from crm.templating import render

log = logging.getLogger("crm.errors")

TITLES = {
    400: "That request did not make sense",
    401: "Please sign in",
    403: "You cannot do that",
    404: "Nothing here",
    405: "Not allowed",
    409: "That clashes with something",
    422: "Please check what you entered",
    429: "Slow down",
    503: "Busy for a moment",
    500: "Something went wrong on our side",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") and not request.url.path.startswith("/api/docs")


def error_response(request: Request, status: int, message: str, errors: Any = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"detail": message}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    headers = {}
    if request.headers.get("hx-request") == "true":
        # An error page is a whole page: whatever element asked, it replaces <main>, not the element.
        headers = {"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"}
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return error_response(request, exc.status_code, exc.message, exc.field_errors or None)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": gettext("Sign in or send an API token.")}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            # htmx follows redirects inside fetch; ask it to navigate the whole page instead.
            return Response(status_code=204, headers={"HX-Redirect": f"/login?next={quote(target)}"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PasswordCheckBusy)
    async def password_check_busy(request: Request, exc: PasswordCheckBusy) -> Response:
        return error_response(request, 503, gettext("Many people are signing in right now. Try again in a moment."))

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite answers "database is locked" after its busy timeout when a long write (an all-or-nothing
        # import) holds the lock: a 503 to retry, not a 500. Anything else is a real server error.
        if "database is locked" not in str(exc.orig):
            raise exc
        log.warning("database busy on %s %s", request.method, request.url.path)
        return error_response(request, 503, gettext("The database is busy with a long change. Try again in a moment."))

    @app.exception_handler(IntegrityError)
    @app.exception_handler(StaleDataError)
    async def integrity_error(request: Request, exc: Exception) -> Response:
        # Two requests raced to create the same thing (services check first, but only the
        # database's unique constraints hold under concurrency): say so, never a 500.
        log.info("lost a race on %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, 409, gettext("That was changed or created by someone else at the same moment. "
                                                    "Reload and try again."))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return error_response(request, 422, gettext("The request has invalid fields."), errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and message == "Not Found":
            message = gettext("There is no page at this address.")
        if not hasattr(request.state, "user") and not wants_json(request):
            # No route ran (an address that matches none): find who is signed in, so the page keeps its menu.
            try:
                await run_in_threadpool(optional_user, request)
            except DomainError:  # e.g. a bad bearer token on an unknown /api/docs… address: no menu, no 500
                request.state.user = None
        response = error_response(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Starlette calls this from outside our middleware, after it reset the locale: set it again.
        token = current_locale.set(pick_locale(request.headers.get("accept-language", "")))
        try:
            return error_response(request, 500, gettext("The error has been logged. Please try again in a moment."))
        finally:
            current_locale.reset(token)
