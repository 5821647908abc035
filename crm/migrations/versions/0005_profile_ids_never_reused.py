"""profile ids are never reused on SQLite (AUTOINCREMENT), so the audit log keeps pointing at the right person;
API tokens without an expiry get one

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:25:00

PostgreSQL sequences never hand out an id twice; SQLite without AUTOINCREMENT gives the highest
deleted id to the next row. The table is rebuilt (batch mode) with its rows, indexes and keys;
crm.db.upgrade turns foreign keys off meanwhile so that the rebuild cascades nothing.
"""

import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import crm.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFLECT = {"resolve_fks": False}  # see 0003: reflecting the referenced tables only warns
_LOWER_NAME = "ix_profile_display_name_lower"


def _rebuild_profile(autoincrement: bool) -> None:
    # SQLite cannot reflect the expression index, so the rebuild would drop it silently (and warn):
    # take it off first and put it back after.
    op.drop_index(_LOWER_NAME, table_name="profile")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table('profile', recreate='always', table_kwargs={"sqlite_autoincrement": autoincrement},
                                  reflect_kwargs=_REFLECT):
            pass
    op.create_index(_LOWER_NAME, "profile", [sa.text("lower(display_name)")])


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild_profile(True)
    # Tokens now always expire; those made without an expiry by earlier versions get 90 days.
    tokens = sa.table("api_token", sa.column("expires_at", crm.db.UTCDateTime()))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=90)))


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild_profile(False)
