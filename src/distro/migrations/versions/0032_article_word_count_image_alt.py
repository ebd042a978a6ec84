"""article: the whole article's word count (reading time) and the lead picture's description (alt text)

Revision ID: 0032
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0015"  # adds columns to its article table (0015 last altered it)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("article", sa.Column("word_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("article", sa.Column("image_alt", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("image_alt")
        batch_op.drop_column("word_count")
