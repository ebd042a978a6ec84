"""editor: a role (admin, editor, viewer); every editor from before becomes an admin

Before roles every signed-in editor could do everything, so existing accounts keep that as "admin"; the
server default only fills those rows (new accounts get their role from the model or the command).

Revision ID: 0028
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0010"  # the editor table was made there and not altered since
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("editor", sa.Column("role", sa.String(length=20), nullable=False, server_default="admin"))


def downgrade() -> None:
    with op.batch_alter_table("editor") as batch:
        batch.drop_column("role")
