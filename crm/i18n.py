"""Translations: the request's locale (a context variable set by the middleware) and gettext.

Services, routes and templates all translate through here, so a flash message, an error and a page
heading come out in the same language. Markers that pybabel extracts: gettext(), ngettext(), pgettext(), N_().
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
from pathlib import Path

from babel.core import negotiate_locale

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


def pgettext(context: str, message: str) -> str:
    """A word that means different things in different places ("Mentions": a list of posts, or
    "mentions someone" as a kind of connection)."""
    return _CATALOGUES[current_locale.get()].pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (that happens where it is shown)."""
    return message


def pick_locale(accept_language: str) -> str:
    """The supported locale the browser likes best (Accept-Language, q= weights included), else English."""
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        weight = _weight(params)
        if tag and weight > 0:  # q=0 means "not this one"
            ranked.append((weight, tag))
    ranked.sort(key=lambda item: -item[0])  # stable: equal weights keep the browser's order
    return negotiate_locale([tag for _, tag in ranked], SUPPORTED_LOCALES, sep="-") or "en"


def _weight(params: str) -> float:
    """The q= of one Accept-Language entry: 1 when absent, 0 (ignored) when not a number from 0 to 1."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                return 0.0
            return weight if 0 <= weight <= 1 else 0.0
    return 1.0
