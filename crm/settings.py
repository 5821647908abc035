"""Settings, read from the environment (prefix CRM_) or a .env file.

Every field here is documented in README.md; tests/unit/test_docs.py checks that.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32


class InsecureSecret(RuntimeError):
    pass


def _write_once(path: Path, content: str) -> None:
    """Write `path` atomically with mode 600, unless another process got there first: the content
    is written to a private temporary file and hard-linked into place, which fails if it exists."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mkstemp creates it 600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another worker wrote it first: use theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


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
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per account from one client address in the window before 429.")
    login_account_max_failures: int = Field(
        default=50, ge=1, description="Failed logins per account from all addresses together in the window before 429.")
    login_ip_max_failures: int = Field(
        default=20, ge=1, description="Failed logins per client address, whatever the account, in the window before 429.")
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60, description="The window for the three login limits.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (set true behind HTTPS).")
    log_level: str = Field(default="info", description="Log level for the server.")
    page_size: int = Field(default=25, ge=5, le=500, description="Rows per page in lists.")
    time_zone: str = Field(default="UTC", description="IANA time zone in which pages show dates and times.")
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024,
        description="Largest request body (forms, JSON) in bytes; larger ones get 413 before they are read.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="Largest body for file imports, in bytes.")
    job_worker: bool = Field(
        default=True,
        description="On SQLite, run queued jobs (imports) in a thread of `crm serve`; on PostgreSQL `crm worker` runs them.")
    job_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle SQLite worker looks for queued jobs.")
    job_stale_seconds: int = Field(
        default=60, ge=5, description="A running job whose worker sent no heartbeat for this long is queued again and resumed.")
    rank_check_seconds: float = Field(
        default=60, ge=1, le=24 * 3600,
        description="How often the job worker checks whether scores need recomputing (data or weights changed, or the schedule).")
    rank_every_hours: float = Field(
        default=24, ge=0, le=24 * 365,
        description="Recompute scores at least this often even without changes (decay moves them); 0 turns the schedule off.")
    rank_after_changes: bool = Field(
        default=True, description="Recompute scores (as a job) soon after people, identities, interactions or weights change.")
    public_url: str = Field(
        default="", max_length=300, description="The address people open Altavoz at, for links in e-mails and webhooks "
        "(e.g. https://crm.example.com); empty: links are left out.")
    smtp_host: str = Field(default="", description="SMTP server for alert and report e-mails; empty: e-mail is off.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str = Field(default="", description="SMTP user name; empty: no login.")
    smtp_password: str = Field(default="", description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS before sending.")
    smtp_from: str = Field(default="altavoz@localhost", description="The From address of e-mails Altavoz sends.")
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=120, description="How long to wait for the SMTP server.")
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="How long an outbound webhook call may take before it counts as failed.")
    webhook_allow_private: bool = Field(
        default=False, description="Allow alert webhooks to private, loopback and link-local addresses "
        "(off: a rule cannot be pointed at services inside your network).")
    delivery_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts at an alert e-mail or webhook before it is marked undelivered.")
    delivery_backoff_seconds: float = Field(
        default=60, ge=0, le=24 * 3600, description="Wait before the second attempt; it doubles after each failure.")

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters "
                             "(try: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return value

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
        self._make_data_dir()
        path = self.data_dir / "altavoz.db"
        # Created readable by its owner only, before SQLite creates it with the umask's permissions
        # (its -wal and -shm files take the database file's).
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return f"sqlite:///{path.resolve()}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured secret, or one generated on first use and kept in the data dir (mode 600).
        A key file that is empty or short is refused: with it, anyone could forge CSRF tokens."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self._make_data_dir()
            _write_once(path, secrets.token_urlsafe(48))
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_LENGTH:
            raise InsecureSecret(
                f"{path} holds a key of {len(key)} characters; Altavoz needs at least {MIN_SECRET_LENGTH}. "
                "Delete the file to have a new one generated (everyone will have to sign in again), or set CRM_SECRET_KEY."
            )
        return key

    def _make_data_dir(self) -> None:
        if not self.data_dir.exists():
            self.data_dir.mkdir(parents=True, mode=0o700)

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
