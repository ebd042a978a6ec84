"""clicks counted honestly: an edition's tracked links, the hits on them and on the open pixel

Revision ID: 0020
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0001"  # tables of their own
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digestlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("edition", "position"),
    )
    op.create_index("ix_digestlink_edition", "digestlink", ["edition"])
    op.create_table(
        "linkclick",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("clicked_at", sa.DateTime(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["link_id"], ["digestlink.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_linkclick_link_id", "linkclick", ["link_id"])
    op.create_index("ix_linkclick_article_id", "linkclick", ["article_id"])
    op.create_index("ix_linkclick_subscriber_id", "linkclick", ["subscriber_id"])
    op.create_index("ix_linkclick_visitor_at", "linkclick", ["visitor", "clicked_at"])
    op.create_table(
        "openhit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_openhit_edition", "openhit", ["edition"])
    op.create_index("ix_openhit_subscriber_id", "openhit", ["subscriber_id"])


def downgrade() -> None:
    op.drop_table("openhit")
    op.drop_table("linkclick")
    op.drop_table("digestlink")
