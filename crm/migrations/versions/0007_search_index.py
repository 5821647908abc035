"""search index: FTS5 trigram table over profile.search_text on SQLite (kept by triggers), a pg_trgm
GIN index on it on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:40:00

The objects are not in the models (crm.profiles.search.not_search_index keeps autogenerate and the
drift test away from them). On SQLite, a later migration that rebuilds `profile` in batch mode drops
its triggers: it must create them again (`create_sqlite_triggers`) and rebuild the index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "profile_fts"
TRIGGERS = {
    "profile_fts_after_insert": f"""
        CREATE TRIGGER profile_fts_after_insert AFTER INSERT ON profile BEGIN
          INSERT INTO {FTS} (rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    "profile_fts_after_delete": f"""
        CREATE TRIGGER profile_fts_after_delete AFTER DELETE ON profile BEGIN
          INSERT INTO {FTS} ({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END""",
    "profile_fts_after_update": f"""
        CREATE TRIGGER profile_fts_after_update AFTER UPDATE OF search_text ON profile BEGIN
          INSERT INTO {FTS} ({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
          INSERT INTO {FTS} (rowid, search_text) VALUES (new.id, new.search_text);
        END""",
}


def create_sqlite_triggers() -> None:
    for sql in TRIGGERS.values():
        op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External content: the index stores only trigrams; the text stays in profile.search_text.
        op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_text, content='profile', content_rowid='id', "
                   "tokenize='trigram')")
        create_sqlite_triggers()
        op.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_profile_search_text_trgm ON profile USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_profile_search_text_trgm")
