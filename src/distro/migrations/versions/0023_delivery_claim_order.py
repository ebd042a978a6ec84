"""delivery: the claim index ends with id, so a claim reads its batch in send order from the index

The claim orders by (next_attempt_at, id) within one channel and status; with id in the index PostgreSQL
walks it and stops after the batch instead of sorting every queued row (SQLite's indexes end with the
rowid already, so there it changes nothing but keeps both databases alike). Issue 17.

Revision ID: 0023
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0001"  # the delivery table's indexes were made there and not altered since
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_claim")
        batch_op.create_index(
            "ix_delivery_claim", ["channel", "status", "next_attempt_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_claim")
        batch_op.create_index("ix_delivery_claim", ["channel", "status", "next_attempt_at"], unique=False)
