"""Recommendations for a data directory at an as-of time with a registered (or given) model."""

from __future__ import annotations

import pandas as pd
from mlflow.exceptions import MlflowException

from features.actions import action_space
from features.dataset import Dataset
from features.snapshot import build_snapshot
from models.pipeline import DecisionPipeline, split_snapshot
from models.pyfunc import load_pipeline
from models.registry import ModelNotFoundError, configure_tracking, resolve_model_uri


def load_model(model: str | None = None) -> tuple[DecisionPipeline, str]:
    """(pipeline, version string) for a model URI, or the champion / latest registered version."""
    configure_tracking()
    uri, version = resolve_model_uri(model)
    try:
        return load_pipeline(uri), version
    except (MlflowException, OSError) as exc:
        message = exc.message if isinstance(exc, MlflowException) else str(exc)
        raise ModelNotFoundError(f"--model {uri}: cannot load it ({message})") from exc


def recommend_dataset(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
                      top_k: int = 3, model_version: str | None = None,
                      rank_by: str = "incremental_margin", explore_epsilon: float = 0.0,
                      seed: int | None = None) -> pd.DataFrame:
    """Suggestions for every account of ``dataset`` with the data directory's current offers and policy."""
    as_of = pd.Timestamp(as_of)
    data = dataset.before(as_of)
    actions = action_space(data)
    categories = sorted(set(actions["category"].astype(str))) or pipeline.categories
    snapshot = build_snapshot(data, as_of, pipeline.specs, categories)
    frame, state = split_snapshot(snapshot)
    recs = pipeline.recommend(frame, state, top_k=top_k, actions=actions, policy=data.policy,
                              offers=data.offers, category_margin=data.category_margin_rates(),
                              model_version=model_version, rank_by=rank_by,
                              explore_epsilon=explore_epsilon, seed=seed)
    return recs
