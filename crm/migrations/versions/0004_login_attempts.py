"""login attempts: reserved before each password check, so the limits hold under concurrency

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'login_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_attempt_email_time', 'login_attempt', ['email', 'created_at'], unique=False)
    op.create_index('ix_login_attempt_ip_time', 'login_attempt', ['ip', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempt_ip_time', table_name='login_attempt')
    op.drop_index('ix_login_attempt_email_time', table_name='login_attempt')
    op.drop_table('login_attempt')
