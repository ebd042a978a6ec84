"""bounces and complaints as they came back: one bounceevent row per report and address

Revision ID: 0018
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0001"  # a table of its own
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounceevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("report_key", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_key"),
    )
    op.create_index("ix_bounceevent_email_at", "bounceevent", ["email", "created_at"])
    op.create_index("ix_bounceevent_delivery_id", "bounceevent", ["delivery_id"])
    op.create_index("ix_bounceevent_subscriber_id", "bounceevent", ["subscriber_id"])


def downgrade() -> None:
    op.drop_table("bounceevent")
