"""scores: weight sets, score runs and snapshots, and the current scores stored on each profile

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 22:40:00

The profile's score columns are added in place (no table rebuild, so the search index's triggers on
profile stay) with their indexes, so the people list sorts 100,000 people by score through an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from crm.db import UTCDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROFILE_COLUMNS = (
    ('score', sa.Float(), '0', True),
    ('score_rank', sa.Integer(), None, True),
    ('level', sa.SmallInteger(), '4', True),
    ('advocacy', sa.Float(), '0', True),
    ('influence', sa.Float(), '0', True),
    ('level_below_runs', sa.Integer(), '0', False),
)


def upgrade() -> None:
    op.create_table(
        'weight_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('weights', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('activated_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('activated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['activated_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version'),
    )
    op.create_index('uq_weight_set_active', 'weight_set', ['active'], unique=True,
                    sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
    op.create_table(
        'score_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('weight_set_id', sa.Integer(), nullable=True),
        sa.Column('weight_version', sa.Integer(), nullable=False),
        sa.Column('as_of', UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('profiles', sa.Integer(), nullable=False),
        sa.Column('edges', sa.Integer(), nullable=False),
        sa.Column('interactions', sa.Integer(), nullable=False),
        sa.Column('iterations', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['weight_set_id'], ['weight_set.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_score_run_as_of', 'score_run', ['as_of'], unique=False)
    op.create_index('ix_score_run_status', 'score_run', ['status'], unique=False)
    op.create_table(
        'score_snapshot',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('reach', sa.Float(), nullable=False),
        sa.Column('reach_pct', sa.Float(), nullable=False),
        sa.Column('advocacy', sa.Float(), nullable=False),
        sa.Column('advocacy_pct', sa.Float(), nullable=False),
        sa.Column('influence', sa.Float(), nullable=False),
        sa.Column('influence_pct', sa.Float(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('level_below_runs', sa.Integer(), nullable=False),
        sa.Column('advocacy_30', sa.Float(), nullable=False),
        sa.Column('advocacy_90', sa.Float(), nullable=False),
        sa.Column('advocacy_365', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['score_run.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'profile_id'),
    )
    op.create_index('ix_score_snapshot_profile_run', 'score_snapshot', ['profile_id', 'run_id'], unique=False)
    for name, type_, default, indexed in PROFILE_COLUMNS:
        op.add_column('profile', sa.Column(name, type_, nullable=default is None,
                                           server_default=default))
        if indexed:
            op.create_index(f'ix_profile_{name}', 'profile', [name], unique=False)
    op.add_column('profile', sa.Column('scored_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('profile', 'scored_at')
    for name, _type, _default, indexed in reversed(PROFILE_COLUMNS):
        if indexed:
            op.drop_index(f'ix_profile_{name}', table_name='profile')
        op.drop_column('profile', name)  # in place (SQLite >= 3.35), so the search triggers stay
    op.drop_index('ix_score_snapshot_profile_run', table_name='score_snapshot')
    op.drop_table('score_snapshot')
    op.drop_index('ix_score_run_status', table_name='score_run')
    op.drop_index('ix_score_run_as_of', table_name='score_run')
    op.drop_table('score_run')
    op.drop_index('uq_weight_set_active', table_name='weight_set')
    op.drop_table('weight_set')
