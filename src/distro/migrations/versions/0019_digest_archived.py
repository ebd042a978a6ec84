"""web archive: an editor can keep one edition out of it (digest.archived)

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0011"  # adds a column to its digest table (0011 last altered it)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("digest", sa.Column("archived", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("archived")
