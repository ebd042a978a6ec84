"""socialpost: posts an editor writes (an announcement, a repost of an older story), with no article

``article_id`` becomes nullable; ``custom_key`` is the idempotency key of a written post (unique, so a
double-submitted form or a retried command stores one), ``story_id`` the article a repost links to.

On SQLite the table is rebuilt (a column cannot be made nullable in place) inside the migration's
transaction, where foreign keys are enforced: dropping the old table would fail while delivery rows point
at it, so their ``social_post_id`` is parked in a temporary table during the rebuild and put back after.

Revision ID: 0031
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0001"  # socialpost was created in 0001 and not altered since
branch_labels = None
depends_on = None


def _park_links() -> None:
    op.execute(
        "CREATE TEMPORARY TABLE _socialpost_links AS "
        "SELECT id, social_post_id FROM delivery WHERE social_post_id IS NOT NULL"
    )
    op.execute("UPDATE delivery SET social_post_id = NULL WHERE social_post_id IS NOT NULL")


def _restore_links() -> None:
    op.execute(
        "UPDATE delivery SET social_post_id = "
        "(SELECT l.social_post_id FROM _socialpost_links l WHERE l.id = delivery.id) "
        "WHERE id IN (SELECT id FROM _socialpost_links)"
    )
    op.execute("DROP TABLE _socialpost_links")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _park_links()
    with op.batch_alter_table("socialpost", schema=None) as batch_op:
        batch_op.alter_column("article_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("custom_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_socialpost_story_id_article", "article", ["story_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_socialpost_custom_key"), ["custom_key"], unique=True)
    if sqlite:
        _restore_links()


def downgrade() -> None:
    written = "SELECT id FROM socialpost WHERE article_id IS NULL"
    op.execute(
        "DELETE FROM deliveryattempt WHERE delivery_id IN "
        f"(SELECT id FROM delivery WHERE social_post_id IN ({written}))"
    )
    op.execute(f"DELETE FROM delivery WHERE social_post_id IN ({written})")
    op.execute("DELETE FROM socialpost WHERE article_id IS NULL")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _park_links()
    with op.batch_alter_table("socialpost", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_socialpost_custom_key"))
        batch_op.drop_constraint("fk_socialpost_story_id_article", type_="foreignkey")
        batch_op.drop_column("story_id")
        batch_op.drop_column("custom_key")
        batch_op.alter_column("article_id", existing_type=sa.Integer(), nullable=False)
    if sqlite:
        _restore_links()
