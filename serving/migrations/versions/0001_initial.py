"""Users, feedback and the decision log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("rep_id", sa.String(100)),
        sa.Column("region", sa.String(100)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime()),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("suggestion_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("offer_id", sa.String(200)),
        sa.Column("discount_pct", sa.Float(), nullable=False),
        sa.Column("executed_by", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("note", sa.String(1000)),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(100)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_feedback_user_idempotency_key"),
    )
    op.create_index("ix_feedback_suggestion_id", "feedback", ["suggestion_id"])
    op.create_index("ix_feedback_account_created", "feedback", ["account_id", "created_at"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("suggestion_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("offer_id", sa.String(200)),
        sa.Column("discount_pct", sa.Float(), nullable=False),
        sa.Column("executed_by", sa.String(20)),
        sa.Column("p_convert", sa.Float(), nullable=False),
        sa.Column("p_convert_baseline", sa.Float(), nullable=False),
        sa.Column("expected_incremental_margin", sa.Float(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
    )
    op.create_index("ix_decisions_suggestion_id", "decisions", ["suggestion_id"])
    op.create_index("ix_decisions_account_id", "decisions", ["account_id"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("feedback")
    op.drop_table("users")
