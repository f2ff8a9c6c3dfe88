"""Everything the service loads once at start: model, snapshot, account index, database."""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from features.dataset import Dataset
from models.pipeline import DecisionPipeline
from serving.account_view import AccountDirectory
from serving.auth import PrincipalCache
from serving.decision_log import DecisionLog
from serving.feedback_index import FeedbackIndex
from serving.settings import Settings
from serving.store.db import open_database, open_log_sessions
from serving.suggestions import SuggestionService


@dataclass(frozen=True)
class ModelInfo:
    """What ``GET /v1/model`` and ``GET /health`` tell about the served model."""

    version: str
    trained_at: str
    trained_as_of: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """The served model and data, loaded and scored once."""

    model: ModelInfo
    suggestions: SuggestionService
    directory: AccountDirectory
    as_of: pd.Timestamp
    data_dir: Path | None
    #: Order lines before ``as_of`` with their owner and outreach credit
    #: (``features.attribution.attribute_orders``), computed once at start.
    attributed: pd.DataFrame | None = None
    #: Guardrail of each offer: the largest discount in percent any suggestion may carry.
    max_discount: dict[str, float] = field(default_factory=dict)
    currency: str = "EUR"
    #: offer_id -> product category; days after a touch in which an order counts as converted.
    offer_category: dict[str, str] = field(default_factory=dict)
    attribution_window_days: int = 30


@dataclass(frozen=True)
class Runtime:
    """The loaded snapshot plus the database session factory and settings.

    Immutable: a new champion is served by swapping in a whole new runtime (:meth:`with_snapshot`).
    """

    settings: Settings
    snapshot: Snapshot
    sessions: sessionmaker[Session]
    decision_log: DecisionLog
    principals: PrincipalCache
    feedback: FeedbackIndex

    def with_snapshot(self, snapshot: Snapshot) -> Runtime:
        """This runtime serving ``snapshot`` (same database, decision log and token cache)."""
        return replace(self, snapshot=snapshot)

    def close(self) -> None:
        """Finish pending decision-log writes and release the database connections."""
        self.feedback.close()
        self.decision_log.close()
        self.sessions.kw["bind"].dispose()


def serving_as_of(dataset: Dataset, as_of: str | None = None) -> pd.Timestamp:
    """``as_of`` when given, else the day after the latest event (today when there are none)."""
    if as_of:
        ts = pd.Timestamp(as_of)
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
    latest = dataset.latest_time()
    return latest.normalize() + pd.Timedelta(days=1) if latest is not None else pd.Timestamp.now().normalize()


def build_snapshot_state(dataset: Dataset, pipeline: DecisionPipeline, version: str, *,
                         as_of: pd.Timestamp, candidates: int = 20, explain_depth: int = 3,
                         explore: float = 0.0, explore_seed: int | None = None) -> Snapshot:
    """Score ``dataset`` at ``as_of`` with ``pipeline`` once and index its accounts."""
    service = SuggestionService.build(dataset, as_of, pipeline, model_version=version, candidates=candidates,
                                      explain_depth=explain_depth, explore=explore, seed=explore_seed)
    directory = AccountDirectory(dataset, as_of, service.accounts)
    metrics = {k: float(v) for k, v in (pipeline.metrics or {}).items()
               if isinstance(v, (int, float)) and math.isfinite(float(v))}
    info = ModelInfo(version=version, trained_at=str(pipeline.trained_at or ""),
                     trained_as_of=str(pipeline.as_of or ""), metrics=metrics)
    return Snapshot(model=info, suggestions=service, directory=directory, as_of=pd.Timestamp(as_of),
                    data_dir=dataset.source, attributed=attributed_lines(dataset, as_of),
                    max_discount=offer_guardrails(dataset), currency=dataset.policy.currency,
                    offer_category=dict(zip(dataset.offers["offer_id"].astype(str),
                                            dataset.offers["product_category"].astype(str), strict=True)),
                    attribution_window_days=dataset.policy.attribution_window_days)


def attributed_lines(dataset: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
    """The order lines before ``as_of`` credited to owner and outreach (ownership history from
    the data directory's ``account_owners`` table when it has one)."""
    from features.attribution import attribute_orders
    from features.ownership import load_account_owners

    data = dataset.before(pd.Timestamp(as_of))
    owners = load_account_owners(dataset.source, dataset.accounts) if dataset.source is not None else None
    return attribute_orders(data, owners)


def offer_guardrails(dataset: Dataset) -> dict[str, float]:
    """offer_id -> max_discount_pct (the contract's guardrail; defaults already filled in)."""
    offers = dataset.offers.dropna(subset=["max_discount_pct"])
    return dict(zip(offers["offer_id"].astype(str), offers["max_discount_pct"].astype(float), strict=True))


def settle_heap() -> None:
    """Collect garbage once, then keep every object alive now out of later full collections.

    A served snapshot holds millions of references (object arrays of ids and reasons); each full
    collection of the cyclic garbage collector would walk them all again and pause every request
    for about 0.1 s. ``gc.freeze`` moves them out of its view; reference counting still frees a
    replaced snapshot. Call after a snapshot is loaded or swapped in: frozen objects are first
    handed back, so cycles of a replaced snapshot are collected too.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def load_snapshot(settings: Settings) -> Snapshot:
    """Load the data directory and the model named by ``settings`` and score them once."""
    from features.loading import load_dataset
    from models.recommend import load_model

    if settings.data is None:
        raise ValueError("no data directory: pass --data DIR or set SYMBIOSE_DATA")
    data = Path(settings.data)
    if not data.is_dir():
        raise FileNotFoundError(f"--data {data}: no such directory")
    dataset = load_dataset(data)
    pipeline, version = load_model(settings.model)
    return build_snapshot_state(dataset, pipeline, version, as_of=serving_as_of(dataset, settings.as_of),
                                candidates=settings.candidates, explain_depth=settings.explain_depth,
                                explore=settings.explore, explore_seed=settings.explore_seed)


def open_runtime(settings: Settings, snapshot: Snapshot | None = None) -> Runtime:
    """The runtime for ``settings``: a given snapshot (or one loaded now) and the migrated database."""
    snapshot = snapshot or load_snapshot(settings)
    url = settings.resolved_database_url()
    sessions = open_database(url, sqlite_synchronous=settings.sqlite_synchronous)
    feedback = FeedbackIndex(sessions, suppress_days=settings.suppress_days,
                             refresh_seconds=settings.feedback_refresh_seconds)
    return Runtime(settings=settings, snapshot=snapshot, sessions=sessions,
                   decision_log=DecisionLog(open_log_sessions(url)),
                   principals=PrincipalCache(settings.auth_cache_seconds), feedback=feedback)
