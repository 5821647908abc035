"""graph_partition: Louvain communities computed by a job, so that large graphs never compute them
on a request; indexes that make the "has anything changed" checks (graph version, score inputs)
and the leaderboard read an index instead of scanning a million rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = (('relationship', 'created_at'), ('relationship', 'updated_at'), ('interaction', 'updated_at'),
           ('identity', 'updated_at'), ('profile', 'updated_at'))


def upgrade() -> None:
    op.create_table(
        'graph_partition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('communities', sa.JSON(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('computed_at', crm.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for table, column in INDEXED:
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)
    op.create_index('ix_score_snapshot_run_score', 'score_snapshot', ['run_id', 'score'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_score_snapshot_run_score', table_name='score_snapshot')
    for table, column in INDEXED:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    op.drop_table('graph_partition')
