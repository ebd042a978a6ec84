"""address changes approved from the current address: signup.approved_at

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0011"  # adds a column to its signup table
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signup", sa.Column("approved_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("signup", "approved_at")
