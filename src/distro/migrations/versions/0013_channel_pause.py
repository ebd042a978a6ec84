"""delivery engine: a channel or account paused by its provider until a reset time, for every worker

Revision ID: 0013
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0002"  # beside the delivery engine's tables
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channelpause",
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channelpause")
