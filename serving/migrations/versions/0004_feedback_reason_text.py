"""Feedback keeps its reason as the client wrote it, beside the reason code it maps to.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("reason_text", sa.String(1000)))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("reason_text")
