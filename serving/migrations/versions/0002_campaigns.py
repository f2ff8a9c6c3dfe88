"""Marketing campaigns and their members.

Revision ID: 0002
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
    )
    op.create_table(
        "campaign_members",
        sa.Column("member_id", sa.String(32), primary_key=True),
        sa.Column("campaign_id", sa.String(32), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100)),
        sa.Column("rep_id", sa.String(100)),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("offer_id", sa.String(200), nullable=False),
        sa.Column("discount_pct", sa.Float(), nullable=False),
        sa.Column("category", sa.String(200)),
        sa.Column("p_convert", sa.Float(), nullable=False),
        sa.Column("p_convert_baseline", sa.Float(), nullable=False),
        sa.Column("expected_incremental_margin", sa.Float(), nullable=False),
        sa.Column("executed_by", sa.String(20), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("stratum", sa.String(300), nullable=False),
        sa.UniqueConstraint("campaign_id", "account_id", name="uq_campaign_members_account"),
    )
    op.create_index("ix_campaign_members_account", "campaign_members", ["account_id"])
    op.create_index("ix_campaign_members_rep", "campaign_members", ["rep_id"])


def downgrade() -> None:
    op.drop_table("campaign_members")
    op.drop_table("campaigns")
