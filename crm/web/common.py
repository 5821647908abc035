"""Small helpers shared by the HTML routes: reading forms, redirects with flashes, error mapping."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.errors import DomainError
from crm.i18n import gettext
from crm.middleware import add_flash

# Characters a path-and-query keeps as they are; anything else (spaces, non-ASCII) is %-encoded.
URL_SAFE = "/?&=#%:+,;@!$'()*~[]"


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def redirect(request: Request, url: str, *, flash: str | None = None, kind: str = "success") -> Response:
    """After a successful change: 303 for plain forms, HX-Redirect for htmx (fetch would follow a 303).
    The URL is percent-encoded, so nothing in it can break out of the header."""
    url = quote(url, safe=URL_SAFE)
    response: Response
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash:
        add_flash(response, request.state, flash, kind)
    return response


def safe_next(target: str | None, default: str = "/") -> str:
    """Only on-site paths: no scheme, no host, no protocol-relative //evil.example."""
    if not target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def input_errors(exc: ValidationError | DomainError) -> dict[str, str]:
    """What a form shows after a refused save: pydantic's per-field errors, or a service's
    (its field errors, else its message for the whole form)."""
    if isinstance(exc, ValidationError):
        return field_errors(exc)
    return exc.field_errors or {"__all__": exc.message}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic errors -> {"identities.0.handle": "message"} for the templates."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        parts = [str(part) for part in error.get("loc", ())]
        if len(parts) > 1 and parts[-1].isdigit():
            parts.pop()  # "roles.3" is reported against the roles field as a whole
        name = ".".join(parts)
        message = _friendly(error)
        errors.setdefault(name or "__all__", message)
    return errors


def _friendly(error: Any) -> str:
    """pydantic's wording is for developers; say it the way a form should."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return gettext("This field is required.")
    if kind == "string_too_short":
        return gettext("Use at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return gettext("Use at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind in ("int_parsing", "int_type"):
        return gettext("Enter a whole number, like 12500.")
    if kind in ("greater_than_equal", "less_than_equal"):
        return gettext("That number is out of range.")
    if kind == "enum":
        return gettext("Choose one of the options.")
    if kind in ("date_from_datetime_parsing", "date_parsing"):
        return gettext("Enter a date like 2026-03-31.")
    if kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        return gettext("Enter a valid e-mail address.")
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


def checkbox(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
