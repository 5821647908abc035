"""Jinja2 environment (autoescape everywhere, gettext) and the render helper for full pages and htmx blocks."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_compact_decimal, format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from crm.audit.actions import label_of, short_label_of
from crm.i18n import current_locale, gettext, ngettext, pgettext
from crm.profiles.identity_urls import display_handle
from crm.resources import share_dir
from crm.web.numbers import decimal, signed


@lru_cache(maxsize=8)
def _locale_object(tag: str) -> Locale:
    return Locale.parse(tag)


def _babel_locale() -> Locale:
    """Babel parses a locale string on every call; formatting 50 rows did that hundreds of times."""
    return _locale_object(current_locale.get())


def _number(value: int | float | None) -> str:
    return "" if value is None else format_decimal(value, locale=_babel_locale())


def _compact(value: int | float | None) -> str:
    if value is None:
        return ""
    return format_compact_decimal(value, locale=_babel_locale(), fraction_digits=1)


def _percent(ratio: float | None) -> str:
    """0.25 -> "25%" (English), "25 %" (Spanish)."""
    return "" if ratio is None else format_percent(ratio, locale=_babel_locale())


def _percent_precise(ratio: float | None) -> str:
    """0.0097 -> "0.97%" (English), "0,97 %" (Spanish): engagement rates need their decimals."""
    if ratio is None:
        return ""
    return format_percent(round(ratio, 4), locale=_babel_locale(), decimal_quantization=False)


def _language_name(code: str | None) -> str:
    """A language code as its name in the page's language: "en" -> "English", or "inglés" on a Spanish page."""
    if not code:
        return ""
    try:
        return _locale_object(code.replace("-", "_")).get_display_name(_babel_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code


def _date_filters(zone: ZoneInfo) -> dict[str, Any]:
    """Stored times are UTC; people read them in the configured time zone.

    One way to write a day per locale: `date` is Babel's "medium" date ("Mar 31, 2026", "31 mar 2026")
    and `datetime` is that same date with the short time ("Mar 31, 2026, 11:30 PM"). Templates use the
    defaults; `month` is for charts and takes a Babel skeleton ("MMM" -> "Mar", "yMMMM" -> "March 2026")."""

    def date_filter(value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(zone).date()
        return format_date(value, format=fmt, locale=_babel_locale())

    def datetime_filter(value: datetime | None, fmt: str = "") -> str:
        if value is None:
            return ""
        locale = _babel_locale()
        if fmt:
            return format_datetime(value, format=fmt, tzinfo=zone, locale=locale)
        local = value.astimezone(zone)
        pattern = str(locale.datetime_formats["medium"])  # how the locale joins a date and a time: "{1}, {0}"
        return pattern.format(format_time(local, format="short", locale=locale),
                              format_date(local.date(), format="medium", locale=locale))

    def month_filter(value: date, skeleton: str = "MMM") -> str:
        return format_skeleton(skeleton, value, locale=_babel_locale())

    return {"date": date_filter, "datetime": datetime_filter, "month": month_filter}


_PROPER_NAMES = {"github": "GitHub", "youtube": "YouTube", "tiktok": "TikTok", "linkedin": "LinkedIn", "x": "X"}


def _label(value: str) -> str:
    """enum value -> words: employee_advocate -> Employee advocate; brands keep their spelling."""
    if not value:
        return ""
    return _PROPER_NAMES.get(value) or gettext(value.replace("_", " ").capitalize())


def _shown_target(target: str, channel: str) -> str:
    from crm.listening.notify import shown_target

    return shown_target(channel, target)


def build_templates(time_zone: str = "UTC") -> Jinja2Blocks:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(share_dir("templates"))),
        autoescape=True,  # every template, whatever its name
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext)  # type: ignore[attr-defined]
    env.filters.update(
        number=_number, compact=_compact, percent=_percent, percent_precise=_percent_precise, language=_language_name,
        label=_label, action=label_of, short_action=short_label_of, handle=display_handle,
        decimal=decimal, signed=signed, shown_target=_shown_target,
        **_date_filters(ZoneInfo(time_zone)),
        label_pair=lambda value: (value, _label(value)),
        owner_pair=lambda user: (user.id, f"{user.name} ({user.email})"),
    )
    return Jinja2Blocks(env=env)


def is_fragment_request(request: Request) -> bool:
    """htmx asked for part of a page (not a boosted navigation, not a whole-body swap)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-request-type", "partial") != "full"
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    templates: Jinja2Blocks = request.app.state.templates
    ctx = {"request": request, **_page_globals(request), **(context or {})}
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    if block and is_fragment_request(request):
        ctx["is_fragment"] = True
        return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=all_headers,
                                          block_name=block)  # type: ignore[return-value]
    request.state.flashes_shown = True
    return templates.TemplateResponse(request, name, ctx, status_code=status_code,
                                      headers=all_headers)  # type: ignore[return-value]


def _page_globals(request: Request) -> dict[str, Any]:
    state = request.state
    return {
        "current_user": getattr(state, "user", None),
        "csrf_token": getattr(state, "csrf_token", ""),
        "flashes": getattr(state, "flashes", []),
        "locale": current_locale.get(),
    }
