"""editor desk: per-client sign-in failures (a lockout that a stranger cannot turn on the editor)

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0010"  # beside the editors' tables
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signinclient",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("address_hash", "client_hash"),
    )
    op.create_index("ix_signinclient_last_attempt_at", "signinclient", ["last_attempt_at"])


def downgrade() -> None:
    op.drop_table("signinclient")
