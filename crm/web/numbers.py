"""Scores as pages write them: a fixed number of decimals ("97.2", "97,2" in Spanish; "97.0", not "97")
and changes with their sign ("+25.1", "−8.6"), in the reader's locale. Passed to templates in the
context (the `number` filter drops trailing zeros, which makes a column of scores ragged)."""

from __future__ import annotations

from babel.numbers import format_decimal

from crm.i18n import current_locale

MINUS = "\u2212"  # a real minus sign: as wide as the plus


def decimal(value: float | int | None, digits: int = 1) -> str:
    """97.1572 -> "97.2"; None -> ""."""
    if value is None:
        return ""
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return format_decimal(round(float(value), digits), format=pattern, locale=current_locale.get())


def signed(value: float | int | None, digits: int = 1) -> str:
    """25.08 -> "+25.1", -8.62 -> "−8.6", a change that rounds to nothing -> "0.0"."""
    if value is None:
        return ""
    rounded = round(float(value), digits)
    text = decimal(abs(rounded), digits)
    if rounded > 0:
        return "+" + text
    if rounded < 0:
        return MINUS + text
    return text
