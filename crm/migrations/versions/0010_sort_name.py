"""profile.sort_name: the folded name the people list sorts by, so that "Álvaro" sorts with "Alvaro"

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 20:20:00

Added in place (no table rebuild, so the search index's triggers on profile stay) and filled for
everyone already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('profile', sa.Column('sort_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
    op.create_index('ix_profile_sort_name', 'profile', ['sort_name'], unique=False)
    from crm.profiles.stats import refresh_all

    refresh_all(op.get_bind(), columns=("sort_name",))


def downgrade() -> None:
    op.drop_index('ix_profile_sort_name', table_name='profile')
    op.drop_column('profile', 'sort_name')  # in place (SQLite >= 3.35), so the search triggers stay
