"""sources: back catalogue flag, first-poll marker, WebSub subscriptions

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source", sa.Column("seeded_at", sa.DateTime(), nullable=True))
    op.add_column("article", sa.Column("backlog", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "websubsubscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=2000), nullable=False),
        sa.Column("hub", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic"),
    )
    op.create_index("ix_websubsubscription_source_name", "websubsubscription", ["source_name"])


def downgrade() -> None:
    op.drop_index("ix_websubsubscription_source_name", table_name="websubsubscription")
    op.drop_table("websubsubscription")
    op.drop_column("article", "backlog")
    op.drop_column("source", "seeded_at")
