"""unsubscribes counted per edition (aggregate: no subscriber, no address)

Revision ID: 0021
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0001"  # a table of its own
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unsubscribeevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("newsletter", sa.String(length=40), nullable=True),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unsubscribeevent_edition", "unsubscribeevent", ["edition"])


def downgrade() -> None:
    op.drop_table("unsubscribeevent")
