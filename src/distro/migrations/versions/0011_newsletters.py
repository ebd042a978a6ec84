"""several newsletters: each digest names its newsletter; subscribers and sign-ups choose newsletters

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"  # adds columns to its signup table
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "digest", sa.Column("newsletter", sa.String(length=40), nullable=False, server_default="weekly")
    )
    # Existing digests are weekly ("<prefix>-2026-W48"): their prefix is the slug without its last 9 chars.
    op.execute(
        "UPDATE digest SET newsletter = substr(slug, 1, length(slug) - 9) "
        "WHERE slug LIKE '%-____-W__' AND length(slug) <= 49"
    )
    op.create_index("ix_digest_newsletter", "digest", ["newsletter"])
    op.add_column("subscriber", sa.Column("newsletters", sa.JSON(), nullable=True))
    op.add_column("signup", sa.Column("newsletters", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("signup", "newsletters")
    op.drop_column("subscriber", "newsletters")
    op.drop_index("ix_digest_newsletter", "digest")
    op.drop_column("digest", "newsletter")
