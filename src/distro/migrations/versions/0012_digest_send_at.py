"""digest edit: an edition the editor scheduled by hand (send_at)

Revision ID: 0012
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0003"  # adds a column to its digestedit table
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("digestedit", sa.Column("send_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digestedit", schema=None) as batch_op:
        batch_op.drop_column("send_at")
