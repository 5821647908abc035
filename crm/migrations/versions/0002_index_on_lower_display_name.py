"""index on lower(display_name)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:30:51.933386
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Written by hand: autogenerate cannot compare expression indexes on SQLite.
    op.create_index("ix_profile_display_name_lower", "profile", [sa.text("lower(display_name)")])


def downgrade() -> None:
    op.drop_index("ix_profile_display_name_lower", table_name="profile")

