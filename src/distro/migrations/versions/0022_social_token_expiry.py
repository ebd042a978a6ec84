"""social accounts: when the refresh token ends (LinkedIn's last a year and cannot be extended)

Revision ID: 0022
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0005"  # adds a column to its socialaccount table (0005 created it; nothing altered it since)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("socialaccount", sa.Column("refresh_expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("socialaccount", schema=None) as batch_op:
        batch_op.drop_column("refresh_expires_at")
