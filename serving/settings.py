"""Service settings: one ``Settings`` class read from ``SYMBIOSE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the HTTP service is configured by (environment prefix ``SYMBIOSE_``).

    ``database_url`` may carry a password, so it has no literal default: when unset, the
    embedded SQLite database ``<SYMBIOSE_HOME>/symbiose.db`` is used.
    """

    model_config = SettingsConfigDict(env_prefix="SYMBIOSE_", extra="ignore")

    data: Path | None = Field(None, description="data directory whose latest snapshot is served")
    model: str | None = Field(None, description="model URI; default: the champion, else the latest version")
    as_of: str | None = Field(None, description="serving as-of time; default: the day after the latest event")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the feedback/decision database")
    suppress_days: int = Field(14, ge=0, le=3650, description="days a dismissed or done suggestion stays hidden")
    candidates: int = Field(20, ge=1, le=50, description="ranked suggestions precomputed per account")
    explain_depth: int = Field(3, ge=0, le=50, description="candidates per account given history reasons at start")
    sqlite_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL|EXTRA)$",
                                    description="SQLite synchronous mode (FULL: committed = on disk)")
    auth_cache_seconds: float = Field(5.0, ge=0, le=300,
                                      description="how long a checked token is trusted without a lookup")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ``SYMBIOSE_HOME``."""
        if self.database_url:
            return self.database_url
        from models.registry import home

        return f"sqlite:///{home() / 'symbiose.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
