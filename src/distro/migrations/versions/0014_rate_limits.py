"""rate limits shared by every web process: one row per allowed event, keyed by a SHA-256 of the key

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0001"  # a table of its own
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratelimitevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ratelimitevent_key_at", "ratelimitevent", ["key_hash", "at"])
    op.create_index("ix_ratelimitevent_expires_at", "ratelimitevent", ["expires_at"])


def downgrade() -> None:
    op.drop_table("ratelimitevent")
