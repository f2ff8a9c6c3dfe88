"""Service settings: one ``Settings`` class read from ``SYMBIOSE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from models.registry import RegistrySettings


class Settings(RegistrySettings):
    """Everything Symbiose is configured by (environment prefix ``SYMBIOSE_``; the MLflow URIs
    and ``SYMBIOSE_HOME`` come from :class:`models.registry.RegistrySettings`). Read once per
    process by the service (:func:`get_settings`) and once per command by the CLI.

    ``database_url`` may carry a password, so it has no literal default: when unset, the
    embedded SQLite database ``<SYMBIOSE_HOME>/symbiose.db`` is used.
    """

    model_config = SettingsConfigDict(env_prefix="SYMBIOSE_", extra="ignore", populate_by_name=True)

    data: Path | None = Field(None, description="data directory whose latest snapshot is served")
    model: str | None = Field(None, description="model URI; default: the champion, else the latest version")
    as_of: str | None = Field(None, description="serving as-of time; default: the day after the latest event")
    scores: Path | None = Field(None, description=(
        "recommendations file written by `symbiose recommend` to serve instead of scoring at start; "
        "used only when its sidecar shows the same model, data and as-of"))
    database_url: str | None = Field(None, description="SQLAlchemy URL of the feedback/decision database")
    suppress_days: int = Field(14, ge=0, le=3650, description="days a dismissed or done suggestion stays hidden")
    minor_value: float = Field(5.0, ge=0, le=1e9, description=(
        "expected incremental margin (in the data's currency) below which a suggestion is marked minor on "
        "account pages and left out of a rep's day list"))
    candidates: int = Field(20, ge=1, le=50, description="ranked suggestions precomputed per account")
    rep_day_days: int = Field(14, ge=0, le=90, description=(
        "days ahead a rep's day looks: a call or visit that a contact cap or the quiet days after an order "
        "block today but allow within these days is listed with the day it becomes possible (0: only "
        "what is possible today)"))
    explain_depth: int = Field(3, ge=0, le=50, description="candidates per account given history reasons at start")
    sqlite_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL|EXTRA)$",
                                    description="SQLite synchronous mode (FULL: committed = on disk)")
    auth_cache_seconds: float = Field(5.0, ge=0, le=300,
                                      description="how long a checked token is trusted without a lookup")
    explore: float = Field(0.0, ge=0, le=1, description="share of accounts whose first suggestion is a random "
                           "eligible action or a `none` holdout, with exact propensities in the decision log")
    explore_seed: int | None = Field(None, description="random seed of the exploration draw (default: fresh)")
    malloc_arena_max: int = Field(2, ge=0, le=1024, description=(
        "glibc malloc arenas of `symbiose serve` and `demo`, set at start (0: glibc's default, 8 per core); "
        "fewer arenas keep a reload's freed memory reusable instead of growing the process"))
    malloc_mmap_threshold: int = Field(0, ge=0, le=32 * 1024 * 1024, description=(
        "bytes from which glibc maps a block on its own, unmapped when freed (0: glibc's sliding default)"))
    arrow_system_allocator: bool = Field(True, description=(
        "`symbiose serve` and `demo` make Arrow (Parquet reads, pandas' text columns) allocate from the C "
        "library's heap, where freed memory is given back, instead of Arrow's own pool"))
    feedback_refresh_seconds: float = Field(
        1.0, ge=0, le=3600, description="how often feedback stored by other processes is read into memory "
                                        "(0 = only at start; this process's own feedback counts at once)")
    session_secret: str | None = Field(None, min_length=16, description=(
        "key signing the rep pages' session cookies; when unset a random key is made per process "
        "(sessions then end when the service restarts)"))
    session_max_age: int = Field(8 * 3600, ge=60, le=30 * 24 * 3600,
                                 description="seconds a web sign-in stays valid")
    session_cookie_secure: bool = Field(False, description="send session cookies over HTTPS only")
    model_poll_seconds: float = Field(
        30.0, ge=0, le=86400,
        description="how often to check for a new champion and reload it (0 = never; only without --model)")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=1024**3, description=(
        "largest request body accepted; larger ones answer 413 before they are read or parsed"))
    max_header_bytes: int = Field(32 * 1024, ge=1024, le=1024**2, description=(
        "largest total size of a request's headers; larger ones answer 431"))
    access_log: bool = Field(True, description=(
        "log one JSON line per request to standard error (method, route, status, duration, role, request id)"))
    metrics_token: str | None = Field(
        None, min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="bearer token a Prometheus scraper sends to GET /metrics (at least 16 printable "
                    "characters, no spaces); when unset, /metrics answers 404")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ``SYMBIOSE_HOME``."""
        if self.database_url:
            return self.database_url
        home = self.home.resolve()
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'symbiose.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
