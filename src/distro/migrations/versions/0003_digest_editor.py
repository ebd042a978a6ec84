"""digest editor: per-week edits and per-section-choice variants

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digestedit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("intro", sa.Text(), nullable=True),
        sa.Column("pinned_article_id", sa.Integer(), nullable=True),
        sa.Column("excluded_article_ids", sa.JSON(), nullable=False),
        sa.Column("max_stories", sa.Integer(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "digestvariant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("sections_key", sa.String(length=1000), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_template", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["digest.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "sections_key"),
    )
    with op.batch_alter_table("digestvariant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digestvariant_digest_id"), ["digest_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digestvariant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digestvariant_digest_id"))
    op.drop_table("digestvariant")
    op.drop_table("digestedit")
