"""job queue: import keys, and procrastinate's queue on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:40:00

On PostgreSQL, procrastinate's own tables, types and functions (version 3.10) are created in a
schema of their own, "procrastinate", so they stay apart from the application's tables (which the
models describe); crm.jobs.queue connects with that schema first in its search_path. On SQLite
there is no such queue: the in-process worker reads queued Job rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_SCHEMA = "procrastinate"


def upgrade() -> None:
    op.create_table('import_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_id', name='uq_import_key_source_external')
    )
    with op.batch_alter_table('import_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_key_profile_id'), ['profile_id'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        previous = bind.exec_driver_sql("SELECT current_setting('search_path')").scalar_one()
        bind.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {QUEUE_SCHEMA}")
        bind.exec_driver_sql(f"SET LOCAL search_path TO {QUEUE_SCHEMA}")
        cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())  # no parameters: its "%" signs stay as they are
        cursor.close()
        bind.exec_driver_sql("SELECT set_config('search_path', %(p)s, true)", {"p": previous})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"DROP SCHEMA IF EXISTS {QUEUE_SCHEMA} CASCADE")
    with op.batch_alter_table('import_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_key_profile_id'))
    op.drop_table('import_key')
