"""Table definitions (SQLAlchemy 2 declarative). The Alembic migrations create the same schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of all service tables."""


class User(Base):
    """A person or tool allowed to call the API; only the SHA-256 of the token is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    rep_id: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSignIn(Base):
    """A sign-in of the rep pages, deleted on sign-out (only the SHA-256 of its session id is stored)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)


class Feedback(Base):
    """What a user did with a suggestion; one row per accepted POST (idempotency key unique per user)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_feedback_user_idempotency_key"),
        Index("ix_feedback_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    account_id: Mapped[str] = mapped_column(String(200), nullable=False)
    channel: Mapped[str] = mapped_column(String(100), nullable=False)
    offer_id: Mapped[str | None] = mapped_column(String(200))
    discount_pct: Mapped[float] = mapped_column(Float, nullable=False)
    executed_by: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(String(1000))
    outcome: Mapped[str | None] = mapped_column(String(20))
    snooze_until: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Decision(Base):
    """One suggestion shown to one user at one time, with what is needed to evaluate it later."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    account_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[str] = mapped_column(String(100), nullable=False)
    offer_id: Mapped[str | None] = mapped_column(String(200))
    discount_pct: Mapped[float] = mapped_column(Float, nullable=False)
    executed_by: Mapped[str | None] = mapped_column(String(20))
    p_convert: Mapped[float] = mapped_column(Float, nullable=False)
    p_convert_baseline: Mapped[float] = mapped_column(Float, nullable=False)
    expected_incremental_margin: Mapped[float] = mapped_column(Float, nullable=False)
    propensity: Mapped[float] = mapped_column(Float, nullable=False)
    model_version: Mapped[str] = mapped_column(String(200), nullable=False)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Campaign(Base):
    """A planned marketing campaign: its parameters, summary (JSON text) and when it was planned."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    model_version: Mapped[str] = mapped_column(String(200), nullable=False)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When marketing cancelled it: its rep actions leave the reps' lists, its accounts are free again.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)


class CampaignMember(Base):
    """One account of a campaign with its planned action; ``holdout`` members are not contacted."""

    __tablename__ = "campaign_members"
    __table_args__ = (
        UniqueConstraint("campaign_id", "account_id", name="uq_campaign_members_account"),
        Index("ix_campaign_members_account", "account_id"),
        Index("ix_campaign_members_rep", "rep_id"),
    )

    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), nullable=False)
    account_id: Mapped[str] = mapped_column(String(200), nullable=False)
    region: Mapped[str | None] = mapped_column(String(100))
    rep_id: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100), nullable=False)
    offer_id: Mapped[str] = mapped_column(String(200), nullable=False)
    discount_pct: Mapped[float] = mapped_column(Float, nullable=False)
    category: Mapped[str | None] = mapped_column(String(200))
    p_convert: Mapped[float] = mapped_column(Float, nullable=False)
    p_convert_baseline: Mapped[float] = mapped_column(Float, nullable=False)
    expected_incremental_margin: Mapped[float] = mapped_column(Float, nullable=False)
    executed_by: Mapped[str] = mapped_column(String(20), nullable=False)
    cost: Mapped[float] = mapped_column(Float, nullable=False)
    holdout: Mapped[bool] = mapped_column(Boolean, nullable=False)
    propensity: Mapped[float] = mapped_column(Float, nullable=False)
    stratum: Mapped[str] = mapped_column(String(300), nullable=False)
