from __future__ import annotations

import pytest

from crm.security import csrf_token_for, csrf_token_valid, hash_password, token_digest, verify_password
from crm.settings import Settings
from crm.web.common import safe_next


def test_missing_secret_is_generated_once_and_kept(tmp_path):
    first = Settings(_env_file=None, data_dir=tmp_path).effective_secret_key  # type: ignore[call-arg]
    second = Settings(_env_file=None, data_dir=tmp_path).effective_secret_key  # type: ignore[call-arg]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None, data_dir=tmp_path / "other").effective_secret_key != first  # type: ignore[call-arg]


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_PAGE_SIZE", "7")
    monkeypatch.setenv("CRM_ALLOWED_HOSTS", '["crm.example.org"]')
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.page_size == 7 and settings.allowed_hosts == ["crm.example.org"]
    assert settings.effective_database_url.startswith("sqlite:///") and settings.is_sqlite


def test_passwords_are_argon2id():
    hashed = hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    assert verify_password("a long passphrase", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "not-a-hash")


def test_csrf_tokens_are_bound_to_the_cookie_and_secret():
    token = csrf_token_for("secret", "cookie-value")
    assert csrf_token_valid("secret", "cookie-value", token)
    assert not csrf_token_valid("secret", "other-cookie", token)
    assert not csrf_token_valid("other-secret", "cookie-value", token)
    assert not csrf_token_valid("secret", "", token)
    assert not csrf_token_valid("secret", "cookie-value", None)


def test_tokens_are_stored_as_digests():
    assert token_digest("abc") != "abc" and len(token_digest("abc")) == 64


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/people", "/people"), ("/people?q=a", "/people?q=a"), ("https://evil.example", "/"), ("//evil.example", "/"),
     ("/\\evil", "/"), ("evil", "/"), ("", "/"), (None, "/")],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_time_zone_is_validated_and_used_for_display(tmp_path):
    from datetime import UTC, datetime

    from crm.templating import build_templates

    with pytest.raises(ValueError, match="unknown time zone"):
        Settings(_env_file=None, data_dir=tmp_path, time_zone="Mars/Olympus")  # type: ignore[call-arg]
    late_evening_utc = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    madrid = build_templates("Europe/Madrid").env
    utc = build_templates("UTC").env
    assert madrid.from_string("{{ t|date('short') }}").render(t=late_evening_utc) == "4/1/26"
    assert utc.from_string("{{ t|date('short') }}").render(t=late_evening_utc) == "3/31/26"
    assert "1:30" in madrid.from_string("{{ t|datetime('short') }}").render(t=late_evening_utc)
