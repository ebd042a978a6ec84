"""WebSub callback secrets and awaited verifications, webhook replay memory, articles' source versions

Revision ID: 0015
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0004"  # alters its websubsubscription table
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing subscriptions keep a NULL nonce: their old /websub/<id> callback works until the next renewal.
    with op.batch_alter_table("websubsubscription") as batch:
        batch.add_column(sa.Column("callback_nonce", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("awaiting", sa.String(length=20), nullable=True))
    with op.batch_alter_table("article") as batch:
        batch.add_column(sa.Column("source_modified_at", sa.DateTime(), nullable=True))
    op.create_table(
        "seenwebhooksignature",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_seenwebhooksignature_expires_at", "seenwebhooksignature", ["expires_at"])
    # A request sent before this revision (pending, or a renewal not verified yet) may still be verified.
    op.execute(
        "UPDATE websubsubscription SET awaiting = 'subscribe' "
        "WHERE state = 'pending' OR (state = 'active' AND requested_at > verified_at)"
    )


def downgrade() -> None:
    op.drop_index("ix_seenwebhooksignature_expires_at", table_name="seenwebhooksignature")
    op.drop_table("seenwebhooksignature")
    with op.batch_alter_table("article") as batch:
        batch.drop_column("source_modified_at")
    with op.batch_alter_table("websubsubscription") as batch:
        batch.drop_column("awaiting")
        batch.drop_column("callback_nonce")
