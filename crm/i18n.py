"""Translations: the request's locale (a context variable set by the middleware) and gettext.

Services, routes and templates all translate through here, so a flash message, an error and a page
heading come out in the same language. Markers that pybabel extracts: gettext(), ngettext(), N_().
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locale"
SUPPORTED_LOCALES = ("en", "es")
current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("current_locale", default="en")

_CATALOGUES = {
    locale: _gettext.translation("messages", localedir=LOCALES_DIR, languages=[locale], fallback=True)
    for locale in SUPPORTED_LOCALES
}


def gettext(message: str) -> str:
    return _CATALOGUES[current_locale.get()].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _CATALOGUES[current_locale.get()].ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (that happens where it is shown)."""
    return message


def pick_locale(accept_language: str) -> str:
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in SUPPORTED_LOCALES:
            return tag
    return "en"
