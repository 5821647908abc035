"""Counts typed by a person, read the way the reader writes numbers.

"12.500" is twelve thousand five hundred to a Spanish reader and twelve and a half to an English
one, so the reader's locale decides how the grouping and decimal signs are read: "12.500" (es),
"12,500" (en), "12 500" (both). A K or M suffix works in both, with either sign as the decimal
point ("12,4K", "1.2M", "3 k"), as does Spanish "mil" ("12 mil"). Input that could mean two
different numbers is refused with a message saying how to write it, never guessed.

Pure functions; the JSON API keeps plain numbers and does not use this.
"""

from __future__ import annotations

import re
from decimal import Decimal

from crm.i18n import gettext

_SIGNS = {"en": (",", "."), "es": (".", ",")}  # locale -> (grouping, decimal)
_MULTIPLIERS = {"k": 1_000, "mil": 1_000, "m": 1_000_000, "mm": 1_000_000}
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009_']")
_SUFFIXED = re.compile(r"^(\d+(?:[.,]\d+)?)(k|mil|mm|m)$", re.IGNORECASE)
_MAX_LENGTH = 40


class BadCount(ValueError):
    """A count that cannot be read; the message is meant for the person who typed it."""


def parse_count(text: str, locale: str = "en") -> int:
    """The whole number a person typed, read in `locale` ("en" or "es")."""
    grouping, decimal = _SIGNS.get(locale, _SIGNS["en"])
    raw = text.strip()
    compact = _SPACES.sub("", raw)
    if not compact:
        raise BadCount(gettext("Enter a number."))
    if len(compact) > _MAX_LENGTH:
        raise BadCount(gettext("That number is out of range."))
    sign = 1
    if compact[0] in "-+":
        sign = -1 if compact[0] == "-" else 1
        compact = compact[1:]
    suffixed = _SUFFIXED.match(compact)
    if suffixed:
        digits = suffixed.group(1)
        if re.fullmatch(rf"\d{{1,3}}{re.escape(grouping)}\d{{3}}", digits):
            # "1,234K" to an English reader is 1,234 thousands, not 1.234 thousand.
            raise BadCount(gettext("“%(typed)s” could be read two ways: write it as %(plain)s.") % {
                "typed": raw, "plain": digits.replace(grouping, "") + suffixed.group(2)})
        number = Decimal(digits.replace(",", "."))
        return sign * int((number * _MULTIPLIERS[suffixed.group(2).lower()]).to_integral_value())
    if compact.isdigit():
        return sign * int(compact)
    other = "." if grouping == "," else ","
    if re.fullmatch(rf"\d{{1,3}}(?:{re.escape(grouping)}\d{{3}})+", compact):
        return sign * int(compact.replace(grouping, ""))
    if re.fullmatch(rf"\d{{1,3}}(?:{re.escape(other)}\d{{3}}){{2,}}", compact):
        return sign * int(compact.replace(other, ""))  # "1.000.000" has no decimal point in any locale
    if re.fullmatch(rf"\d{{1,3}}(?:{re.escape(other)}\d{{3}})+", compact):
        # "12,500" to a Spanish reader, "12.500" to an English one: a decimal here, a grouping there.
        raise BadCount(gettext("“%(typed)s” could be read two ways: write it as %(plain)s or %(grouped)s.") % {
            "typed": raw, "plain": compact.replace(other, ""), "grouped": compact.replace(other, grouping)})
    if re.fullmatch(rf"\d+{re.escape(decimal)}\d+", compact) or re.fullmatch(rf"\d+{re.escape(other)}\d+", compact):
        raise BadCount(gettext("Enter a whole number, or a short form such as 12.4K or 1.2M."))
    raise BadCount(gettext("Enter a number such as %(example)s, 12K or 1.2M.") % {"example": _example(grouping)})


def _example(grouping: str) -> str:
    return f"12{grouping}500"
