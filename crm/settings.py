"""Settings, read from the environment (prefix CRM_) or a .env file.

Every field here is documented in README.md; tests/unit/test_docs.py checks that.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("./altavoz-data"), description="Where the SQLite database and the secret key live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite at DATA_DIR/altavoz.db.")
    secret_key: str = Field(default="", description="Signs CSRF tokens; empty means generate once into DATA_DIR/secret_key.")
    allowed_hosts: list[str] = Field(default=["localhost", "127.0.0.1", "testserver"], description="Host headers accepted.")
    trusted_proxies: list[str] = Field(default=[], description="Proxies whose X-Forwarded-For is believed.")
    host: str = Field(default="127.0.0.1", description="Address `crm serve` binds to.")
    port: int = Field(default=8000, description="Port `crm serve` listens on.")
    session_idle_minutes: int = Field(default=120, description="A session ends after this long without a request.")
    session_absolute_hours: int = Field(default=24 * 7, description="A session ends this long after login, whatever happens.")
    login_max_failures: int = Field(default=5, description="Failed logins per account in the window before 429.")
    login_ip_max_failures: int = Field(default=20, description="Failed logins per client address in the window before 429.")
    login_window_minutes: int = Field(default=15, description="The window for both login limits.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (set true behind HTTPS).")
    log_level: str = Field(default="info", description="Log level for the server.")
    page_size: int = Field(default=25, ge=5, le=500, description="Rows per page in lists.")
    time_zone: str = Field(default="UTC", description="IANA time zone in which pages show dates and times.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Madrid") from None
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'altavoz.db').resolve()}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured secret, or one generated on first use and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
