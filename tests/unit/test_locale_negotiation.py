"""The page language follows the browser's Accept-Language, weights (q=) included."""

from __future__ import annotations

import pytest

from crm.i18n import pick_locale


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("es", "es"),
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("en;q=0.1, es;q=0.9", "es"),  # the weight counts, not the order
        ("es;q=0", "en"),  # q=0 means "not this one"
        ("es;q=0, en;q=0.5", "en"),
        ("fr-FR, fr;q=0.9, es;q=0.5", "es"),  # the best language we have
        ("ES-mx", "es"),
        ("de, *;q=0.1", "en"),
        ("es;q=abc, en;q=0.2", "en"),  # a weight that is not a number does not count
        ("es;q=2", "en"),  # nor one out of range
        (";;,,", "en"),
    ],
)
def test_pick_locale_honours_weights(header: str, expected: str) -> None:
    assert pick_locale(header) == expected
