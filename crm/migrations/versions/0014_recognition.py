"""recognition: the points ledger (append-only), versioned point rules, held points and anti-gaming
flags, badges and awards, the rewards catalogue and redemptions, and the record of recognition

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name='ck_reward_stock'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('badge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('point_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('starts_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('point_rule_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_rule_set_starts_at'), ['starts_at'], unique=False)

    op.create_table('badge_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('awarded_by_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['awarded_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['badge_id'], ['badge.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('badge_id', 'profile_id', name='uq_badge_award')
    )
    with op.batch_alter_table('badge_award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badge_award_awarded_at'), ['awarded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_badge_award_badge_id'), ['badge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_badge_award_profile_id'), ['profile_id'], unique=False)

    op.create_table('gaming_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('related', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gaming_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gaming_flag_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gaming_flag_status'), ['status'], unique=False)

    op.create_table('recognition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('badge_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['badge_id'], ['badge.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recognition', schema=None) as batch_op:
        batch_op.create_index('ix_recognition_profile_created', ['profile_id', 'created_at'], unique=False)

    op.create_table('redemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('why_approval', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('shipping', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('tracking', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fulfilled_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_reward_id'), ['reward_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_status'), ['status'], unique=False)

    op.create_table('point_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('rule_set_id', sa.Integer(), nullable=True),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemption.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_id'], ['point_entry.id'], ),
    sa.ForeignKeyConstraint(['rule_set_id'], ['point_rule_set.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id', 'rule_set_id', 'generation', name='uq_point_entry_interaction_rules'),
    sa.UniqueConstraint('reverses_id', name='uq_point_entry_reverses')
    )
    with op.batch_alter_table('point_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_entry_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_entry_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_point_entry_profile_created', ['profile_id', 'created_at'], unique=False)

    op.create_table('point_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('flag', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('rule_set_id', sa.Integer(), nullable=True),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['point_entry.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_set_id'], ['point_rule_set.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id', 'rule_set_id', 'generation', name='uq_point_hold_interaction_rules')
    )
    with op.batch_alter_table('point_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_hold_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_hold_status'), ['status'], unique=False)

    _public_link()


def _public_link() -> None:
    op.create_table('public_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    op.create_index('ix_public_link_profile_id', 'public_link', ['profile_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_public_link_profile_id', table_name='public_link')
    op.drop_table('public_link')
    with op.batch_alter_table('point_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_hold_status'))
        batch_op.drop_index(batch_op.f('ix_point_hold_profile_id'))

    op.drop_table('point_hold')
    with op.batch_alter_table('point_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_point_entry_profile_created')
        batch_op.drop_index(batch_op.f('ix_point_entry_kind'))
        batch_op.drop_index(batch_op.f('ix_point_entry_interaction_id'))

    op.drop_table('point_entry')
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_status'))
        batch_op.drop_index(batch_op.f('ix_redemption_reward_id'))
        batch_op.drop_index(batch_op.f('ix_redemption_profile_id'))

    op.drop_table('redemption')
    with op.batch_alter_table('recognition', schema=None) as batch_op:
        batch_op.drop_index('ix_recognition_profile_created')

    op.drop_table('recognition')
    with op.batch_alter_table('gaming_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gaming_flag_status'))
        batch_op.drop_index(batch_op.f('ix_gaming_flag_profile_id'))

    op.drop_table('gaming_flag')
    with op.batch_alter_table('badge_award', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_badge_award_profile_id'))
        batch_op.drop_index(batch_op.f('ix_badge_award_badge_id'))
        batch_op.drop_index(batch_op.f('ix_badge_award_awarded_at'))

    op.drop_table('badge_award')
    with op.batch_alter_table('point_rule_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_rule_set_starts_at'))

    op.drop_table('point_rule_set')
    op.drop_table('badge')
    op.drop_table('reward')
