"""What the model saw and what it sees now: feature and prediction distributions at one as-of time.

A profile is the scoring snapshot of every account (``features.snapshot``: one row per account ×
category with the model's declared features) and the model's first suggestion per account
(``models.recommend.score_dataset``: its expected incremental margin, ``p_convert`` and channel).
The training profile (at the model's as-of time) becomes a :class:`ReferenceDistribution` of
quantile bins per column, which a training run logs (``monitoring/reference.json``) so monitoring
works even when the training data is no longer at hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.dataset import Dataset, restrict_accounts
from features.snapshot import build_snapshot
from models.monitoring.psi import DEFAULT_BINS, ColumnReference, Kind, column_reference
from models.pipeline import DecisionPipeline
from models.recommend import score_dataset

#: Accounts a profile is computed on at most (a seeded sample beyond; quantile bins need far fewer).
MAX_ACCOUNTS = 5_000
#: The predicted values compared, from each account's first suggestion.
PREDICTIONS: dict[str, Kind] = {"rank1_expected_incremental_margin": "numeric", "rank1_p_convert": "numeric",
                                "rank1_channel": "categorical"}
#: Where a training run keeps its reference distribution.
REFERENCE_ARTIFACT = "monitoring/reference.json"
FORMAT = "symbiose.monitoring_reference"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Profile:
    """Features (account × category rows) and predictions (one row per account) at ``as_of``."""

    as_of: pd.Timestamp
    features: pd.DataFrame
    predictions: pd.DataFrame
    accounts: int


def feature_kinds(pipeline: DecisionPipeline) -> dict[str, Kind]:
    """The model's features that the scoring snapshot holds, with their kind."""
    return {s.name: s.dtype for s in pipeline.specs if s.scope in ("account", "category")}


def lifetime_features(pipeline: DecisionPipeline) -> set[str]:
    """Features computed from the whole history without a window (tenure, lifetime counts and
    rates, days since the last event): they shift as history accumulates."""
    return {s.name for s in pipeline.specs
            if s.scope in ("account", "category") and s.window_days is None and s.kind != "attribute"}


def sample_accounts(dataset: Dataset, max_accounts: int | None, seed: int = 0) -> Dataset:
    """``dataset`` cut to a seeded sample of ``max_accounts`` accounts (all when fewer or None).

    The sample depends only on the account ids and ``seed``, so two data sets that share accounts
    share their sample."""
    ids = dataset.accounts["account_id"].astype(str)
    if max_accounts is None or len(ids) <= max_accounts:
        return dataset
    order = np.argsort(pd.util.hash_array(ids.to_numpy(dtype=object), hash_key=f"{seed:016d}"), kind="stable")
    return restrict_accounts(dataset, ids.iloc[order[:max_accounts]])


def profile(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
            max_accounts: int | None = MAX_ACCOUNTS) -> Profile:
    """The features and first suggestions of (a sample of) the accounts of ``dataset`` at ``as_of``."""
    as_of = pd.Timestamp(as_of)
    data = sample_accounts(dataset, max_accounts).before(as_of)
    kinds = feature_kinds(pipeline)
    snapshot = build_snapshot(data, as_of, pipeline.specs, pipeline.categories)
    features = snapshot[[c for c in kinds if c in snapshot.columns]]
    recs = score_dataset(data, as_of, pipeline, top_k=1, explain=False)
    first = recs[recs["rank"] == 1]
    predictions = pd.DataFrame({
        "rank1_expected_incremental_margin": first["expected_incremental_margin"].to_numpy(dtype=np.float64),
        "rank1_p_convert": first["p_convert"].to_numpy(dtype=np.float64),
        "rank1_channel": first["channel"].astype(str).to_numpy(dtype=object),
    })
    return Profile(as_of, features, predictions, int(len(data.accounts)))


@dataclass(frozen=True)
class ReferenceDistribution:
    """Quantile bins (or levels) of every feature and prediction of the training profile."""

    as_of: pd.Timestamp
    features: dict[str, ColumnReference] = field(default_factory=dict)
    predictions: dict[str, ColumnReference] = field(default_factory=dict)
    accounts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "as_of": self.as_of.isoformat(),
                "accounts": self.accounts,
                "features": [c.to_dict() for c in self.features.values()],
                "predictions": [c.to_dict() for c in self.predictions.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceDistribution:
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"reference distribution: expected format {FORMAT!r} version {FORMAT_VERSION}, "
                             f"got {data.get('format')!r} version {data.get('version')!r}")
        return cls(as_of=pd.Timestamp(data["as_of"]), accounts=int(data.get("accounts", 0)),
                   features={c["name"]: ColumnReference.from_dict(c) for c in data["features"]},
                   predictions={c["name"]: ColumnReference.from_dict(c) for c in data["predictions"]})

    @classmethod
    def from_json(cls, text: str) -> ReferenceDistribution:
        return cls.from_dict(json.loads(text))


def reference_distribution(prof: Profile, kinds: dict[str, Kind], bins: int = DEFAULT_BINS
                           ) -> ReferenceDistribution:
    """Quantile bins of every column of ``prof`` (``kinds``: the features' kinds)."""
    features = {name: column_reference(name, prof.features[name], kind, bins)
                for name, kind in kinds.items() if name in prof.features.columns}
    predictions = {name: column_reference(name, prof.predictions[name], kind, bins)
                   for name, kind in PREDICTIONS.items()}
    return ReferenceDistribution(prof.as_of, features, predictions, prof.accounts)


def training_reference(dataset: Dataset, pipeline: DecisionPipeline) -> ReferenceDistribution:
    """The reference distribution of ``pipeline``'s training snapshot (data before its as-of time)."""
    if not pipeline.as_of:
        raise ValueError("the pipeline has no as_of time; its training snapshot is unknown")
    as_of = pd.Timestamp(pipeline.as_of)
    return reference_distribution(profile(dataset, as_of, pipeline), feature_kinds(pipeline))


def log_training_reference(reference: ReferenceDistribution) -> None:
    """Log ``reference`` to the active MLflow run (``monitoring/reference.json``)."""
    import mlflow

    mlflow.log_dict(reference.to_dict(), REFERENCE_ARTIFACT)
