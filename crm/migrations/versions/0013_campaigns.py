"""campaigns: campaigns with KPIs, members (the pipeline), tasks and picked quotes; interactions
linked to a campaign (outreach and deliverables). The interaction column is added in place: no
rebuild of a table that may hold millions of rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('objective', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('brief', sa.Text(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('budget', sa.Float(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('target_reach', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_status'), ['status'], unique=False)

    op.create_table('campaign_kpi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('actual', sa.Float(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_kpi', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_kpi_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('fee', sa.Float(), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('next_step', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('next_step_on', sa.Date(), nullable=True),
    sa.Column('thanked_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('stage_changed_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'profile_id', name='uq_campaign_member')
    )
    with op.batch_alter_table('campaign_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_member_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_member_profile_id'), ['profile_id'], unique=False)

    op.create_table('campaign_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('goal', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('done_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_task_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_task_done_at'), ['done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_task_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_task_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_task_profile_id'), ['profile_id'], unique=False)

    op.create_table('campaign_quote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_quote_campaign_id'), ['campaign_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':  # SQLite adds a column with a reference, but no constraint later
        op.execute('ALTER TABLE interaction ADD COLUMN campaign_id INTEGER REFERENCES "campaign" ("id") ON DELETE SET NULL')
    else:
        op.add_column('interaction', sa.Column('campaign_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_interaction_campaign_id', 'interaction', 'campaign', ['campaign_id'], ['id'],
                              ondelete='SET NULL')
    op.create_index('ix_interaction_campaign_id', 'interaction', ['campaign_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_interaction_campaign_id', table_name='interaction')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_interaction_campaign_id', 'interaction', type_='foreignkey')
    op.drop_column('interaction', 'campaign_id')  # SQLite 3.35+ drops a plain column in place

    with op.batch_alter_table('campaign_quote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_quote_campaign_id'))

    op.drop_table('campaign_quote')
    with op.batch_alter_table('campaign_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_task_profile_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_task_owner_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_task_due_on'))
        batch_op.drop_index(batch_op.f('ix_campaign_task_done_at'))
        batch_op.drop_index(batch_op.f('ix_campaign_task_campaign_id'))

    op.drop_table('campaign_task')
    with op.batch_alter_table('campaign_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_member_profile_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_member_campaign_id'))

    op.drop_table('campaign_member')
    with op.batch_alter_table('campaign_kpi', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_kpi_campaign_id'))

    op.drop_table('campaign_kpi')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_status'))
        batch_op.drop_index(batch_op.f('ix_campaign_owner_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_name'))

    op.drop_table('campaign')
