"""Shared fixtures: a fresh database per test on SQLite and on a throw-away PostgreSQL,
the app and a client, and signed-in clients for each role.

With CRM_TEST_REQUIRE_ALL=1 (CI), a test that cannot get PostgreSQL or Chromium fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel
from starlette.testclient import TestClient

import crm.models  # noqa: F401  (every table, for TRUNCATE)
from crm.app import create_app
from crm.db import make_engine, upgrade
from crm.settings import Settings
from tests.factories import PASSWORD, make_user, sign_in
from tests.local_smtp import smtp  # noqa: F401  (a real SMTP server for the tests that send e-mail)
from tests.pg_server import PostgresServer, PostgresUnavailable, start_postgres

REQUIRE_ALL = os.environ.get("CRM_TEST_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where everything must run."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (CRM_TEST_REQUIRE_ALL=1, so this is a failure)", pytrace=False)
    pytest.skip(reason)


# ---- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test copies the file, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        yield None
        _ = exc
        return
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE altavoz_template"))
    admin.dispose()
    engine = make_engine(server.url_for("altavoz_template"))
    upgrade(engine)
    engine.dispose()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres: PostgresServer | None) -> Iterator[str | None]:
    """One database per test process (xdist worker), copied from the migrated template once;
    each test then starts from it emptied (TRUNCATE is ~20x faster than CREATE DATABASE)."""
    if postgres is None:
        yield None
        return
    name = f"t_{os.getpid()}"
    admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE altavoz_template'))
    try:
        yield postgres.url_for(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        conn.execute(text(f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for each test, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    url: str | None = request.getfixturevalue("postgres_database")
    if url is None:
        unavailable("PostgreSQL server binaries are not installed")
        return
    _empty_postgres(url)
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# ---- the app -----------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        page_size=10,
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _signed_in(client: TestClient, engine: Engine, role: str, name: str) -> TestClient:
    email = f"{role}@example.com"
    make_user(engine, email, role=role, name=name)
    sign_in(client, email, PASSWORD)
    return client


@pytest.fixture
def admin_client(client: TestClient, engine: Engine) -> TestClient:
    return _signed_in(client, engine, "admin", "Ada Admin")


@pytest.fixture
def manager_client(client: TestClient, engine: Engine) -> TestClient:
    return _signed_in(client, engine, "manager", "Mona Manager")


@pytest.fixture
def viewer_client(client: TestClient, engine: Engine) -> TestClient:
    return _signed_in(client, engine, "viewer", "Vic Viewer")
