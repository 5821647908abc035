"""The database layer: pragmas, transaction modes, UTC round-trips and migration state."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

import crm.models  # noqa: F401
from crm.accounts.models import User
from crm.db import SchemaOutOfDate, ensure_schema_current, make_engine, schema_status, upgrade, write_bind
from crm.profiles.search import not_search_index


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_sqlite_writers_begin_immediate(tmp_path):
    """A write session holds the write lock from its first statement, so a second writer waits
    rather than failing later with 'database is locked' on lock upgrade."""
    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    events: list[str] = []
    with Session(write_bind(engine)) as first:
        first.exec(select(User)).all()  # only a read, yet the write lock is already held
        def second_writer() -> None:
            with Session(write_bind(engine)) as second:
                second.exec(select(User)).all()
                events.append("second got the lock")
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=0.5)
        events.append("first still holds it")
        first.commit()
    thread.join(timeout=10)
    assert events == ["first still holds it", "second got the lock"]


def test_datetimes_come_back_aware_utc(engine):
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with Session(write_bind(engine)) as session:
        session.add(User(email="t@example.com", name="T", password_hash="x", last_login_at=moment))
        session.commit()
    with Session(engine) as session:
        user = session.exec(select(User)).one()
        assert user.last_login_at == moment
        assert user.last_login_at.tzinfo is not None and user.last_login_at.utcoffset() == timedelta(0)
        assert user.created_at.tzinfo == UTC


def test_naive_datetimes_are_refused(engine):
    with Session(write_bind(engine)) as session:
        session.add(User(email="n@example.com", name="N", password_hash="x", last_login_at=datetime(2026, 1, 1)))  # noqa: DTZ001
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
def test_migrations_match_the_models(engine):
    """A model change without a migration fails here, including a column whose type or length differs."""
    with engine.connect() as conn:
        # The search index (FTS5 table / pg_trgm index of migration 0007) is outside the models, as in env.py.
        opts = {"compare_type": True, "include_object": not_search_index}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
        diff = _without_inline_references_sqlalchemy_cannot_read(conn, diff)
    assert diff == []


def _without_inline_references_sqlalchemy_cannot_read(conn, diff):
    """A column added in place on SQLite (ALTER TABLE ... ADD COLUMN x REFERENCES t ON DELETE ...) has its
    ON DELETE in PRAGMA foreign_key_list, but SQLAlchemy reads options only from table-level FOREIGN KEY
    clauses, so autogenerate sees "remove fk, add fk". Drop such a pair when the pragma agrees with the model."""
    if conn.dialect.name != "sqlite":
        return diff
    added = {(d[1].table.name, tuple(d[1].column_keys)): d[1] for d in diff if d[0] == "add_fk"}
    agreed = set()
    for table, columns in added:
        pragma = {row[3]: row[6] for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})")}
        model = added[(table, columns)]
        if len(columns) == 1 and pragma.get(columns[0]) == (model.ondelete or "NO ACTION"):
            agreed.add((table, columns))
    return [d for d in diff if not (d[0] in ("add_fk", "remove_fk") and (d[1].table.name, tuple(
        d[1].column_keys if d[0] == "add_fk" else [c.name for c in d[1].columns])) in agreed)]


def test_schema_status_and_clear_message_when_behind(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    current, head = schema_status(engine)
    assert current is None and head
    with pytest.raises(SchemaOutOfDate, match="crm db upgrade"):
        ensure_schema_current(engine)
    upgrade(engine)
    ensure_schema_current(engine)


def test_app_refuses_to_start_on_an_old_schema(tmp_path):
    from starlette.testclient import TestClient

    from crm.app import create_app
    from crm.settings import Settings

    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'old.db'}", data_dir=tmp_path, secret_key="k" * 40)  # type: ignore[call-arg]
    with pytest.raises(SchemaOutOfDate), TestClient(create_app(settings)):
        pass


def test_foreign_keys_are_enforced(engine):
    from crm.profiles.models import Identity

    with Session(write_bind(engine)) as session:
        session.add(Identity(profile_id=987654, platform="x", handle="h", handle_key="h"))
        with pytest.raises(Exception, match="(?i)foreign key"):
            session.commit()


def test_postgres_and_sqlite_both_answer(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_people_sorted_by_name_use_the_sort_name_index(engine):
    with engine.connect() as conn:
        indexes = {index["name"] for index in inspect(conn).get_indexes("profile")}
    assert "ix_profile_sort_name" in indexes
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM profile ORDER BY sort_name, id LIMIT 50").all()
        assert "ix_profile_sort_name" in " ".join(str(row) for row in plan)


def test_a_deleted_persons_id_is_never_given_to_someone_new(engine):
    """On SQLite the next row took the highest deleted id, and the new person inherited the old
    one's history in the audit log."""
    from crm.audit.service import SYSTEM
    from crm.db import session_scope
    from crm.profiles import service as profiles
    from tests.factories import make_profile

    first, last = make_profile(engine, "First"), make_profile(engine, "Last")
    with session_scope(engine, write=True) as session:
        profiles.delete_profile(last.id, session=session, actor=SYSTEM)
    newcomer = make_profile(engine, "Newcomer")
    assert newcomer.id > last.id > first.id


def test_rebuilding_the_profile_table_keeps_everything_that_points_at_it(tmp_path):
    """Migration 0005 rebuilds `profile` on SQLite; with foreign keys on, dropping the old table would
    have cascaded to every identity, interaction and relationship."""
    from alembic import command

    from crm.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.exec_driver_sql("INSERT INTO profile (id, display_name, roles, is_team_member, bio, topics, language, location, "
                             "status, may_contact, may_feature, consent_basis, created_at, updated_at) VALUES "
                             "(7, 'Ana', '[]', 0, '', '[]', 'es', '', 'active', 1, 0, '', '2026-01-01', '2026-01-01')")
        conn.exec_driver_sql("INSERT INTO identity (profile_id, platform, handle, handle_key, url, followers, following, posts, "
                             "verified, created_at, updated_at) VALUES (7, 'x', 'ana', 'ana', '', 5, 0, 0, 0, '2026-01-01', "
                             "'2026-01-01')")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM identity WHERE profile_id = 7").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        indexes = {row[1] for row in conn.exec_driver_sql("PRAGMA index_list(profile)")}
    assert "ix_profile_display_name_lower" in indexes
    engine.dispose()
