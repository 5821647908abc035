"""Follower counts read the way the reader writes numbers (English and Spanish pages)."""

from __future__ import annotations

import pytest

from crm.i18n import current_locale
from crm.profiles.counts import BadCount, parse_count

BOTH = [
    ("12500", 12500), ("0", 0), ("12 500", 12500), ("12\u00a0500", 12500), ("12\u202f500", 12500),
    ("12,4K", 12400), ("12.4K", 12400), ("1.2M", 1_200_000), ("1,2M", 1_200_000), ("3 k", 3000), ("3K", 3000),
    ("250k", 250_000), ("1m", 1_000_000), ("12 mil", 12000), ("1.25K", 1250), (" 42 ", 42),
]


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize(("typed", "count"), BOTH)
def test_plain_spaced_and_short_forms_read_the_same_in_both_languages(locale: str, typed: str, count: int):
    assert parse_count(typed, locale) == count


@pytest.mark.parametrize(("typed", "en", "es"), [
    ("12,500", 12500, None),          # English grouping; a decimal comma in Spanish
    ("12.500", None, 12500),          # Spanish grouping; a decimal point in English
    ("1,000,000", 1_000_000, 1_000_000),  # nor two commas
    ("1.000.000", 1_000_000, 1_000_000),  # two dots cannot be a decimal point anywhere
    ("12.5", None, None),             # a count is a whole number
    ("12,5", None, None),
    ("1,234K", None, 1234),           # 1,234 thousands to an English reader: ambiguous, so refused
    ("1.234K", 1234, None),
])
def test_grouping_and_decimal_signs_follow_the_locale(typed: str, en: int | None, es: int | None):
    for locale, expected in (("en", en), ("es", es)):
        if expected is None:
            with pytest.raises(BadCount):
                parse_count(typed, locale)
        else:
            assert parse_count(typed, locale) == expected, locale


@pytest.mark.parametrize("typed", ["", "abc", "12,50,0", "1,2,3", "K", "12KK", "1.2.3M", "9" * 50, "9" * 5000])
def test_bad_input_is_refused_with_a_message(typed: str):
    for locale in ("en", "es"):
        with pytest.raises(BadCount) as caught:
            parse_count(typed, locale)
        assert str(caught.value)


def test_the_ambiguity_message_says_how_to_write_it():
    with pytest.raises(BadCount) as caught:
        parse_count("12,500", "es")
    assert "12500" in str(caught.value) and "12.500" in str(caught.value)
    with pytest.raises(BadCount) as caught:
        parse_count("12.500", "en")
    assert "12500" in str(caught.value) and "12,500" in str(caught.value)


def test_a_sign_is_kept_for_the_schema_to_judge():
    assert parse_count("-5") == -5 and parse_count("+5") == 5


def test_messages_follow_the_page_language():
    token = current_locale.set("es")
    try:
        with pytest.raises(BadCount) as caught:
            parse_count("abc", "es")
    finally:
        current_locale.reset(token)
    assert "12.500" in str(caught.value)
