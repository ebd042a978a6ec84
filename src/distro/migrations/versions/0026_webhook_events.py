"""webhookevent: outgoing webhook payloads, one per event, sent by "webhook" outbox rows

Revision ID: 0026
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0001"  # a table of its own
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhookevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=120), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index("ix_webhookevent_email", "webhookevent", ["email"])


def downgrade() -> None:
    op.drop_table("webhookevent")
