"""Feedback keeps a rep action's outcome and the end of a snooze.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("outcome", sa.String(20)))
        batch.add_column(sa.Column("snooze_until", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("snooze_until")
        batch.drop_column("outcome")
