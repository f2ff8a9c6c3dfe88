"""Table definitions (SQLAlchemy 2 declarative). The Alembic migrations create the same schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
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
    note: Mapped[str | None] = mapped_column(String(1000))
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
