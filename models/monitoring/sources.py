"""Where the training reference of a model comes from.

In order: the model's training data (the MLflow run's ``data_dir`` tag) cut at the model's as-of
time, when that directory can still be read; else the reference distribution the training run
logged (``monitoring/reference.json``); else the monitored data itself cut at the model's as-of
time (the same snapshot when the monitored directory holds the training history).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.dataset import Dataset
from features.errors import SymbioseError
from models.monitoring.reference import (
    REFERENCE_ARTIFACT,
    ReferenceDistribution,
    feature_kinds,
    profile,
    reference_distribution,
)
from models.pipeline import DecisionPipeline


class MonitoringError(SymbioseError, ValueError):
    """The model cannot be monitored as asked; the message says what is missing."""


@dataclass(frozen=True)
class ModelRun:
    """What the model's MLflow run records for monitoring."""

    run_id: str | None
    data_dir: Path | None


def model_run(run_id: str | None) -> ModelRun:
    """The run's ``data_dir`` tag (None when the run or the tag is missing)."""
    if run_id is None:
        return ModelRun(None, None)
    try:
        tag = MlflowClient().get_run(run_id).data.tags.get("data_dir")
    except MlflowException:
        return ModelRun(run_id, None)
    return ModelRun(run_id, Path(tag) if tag else None)


def logged_reference(run_id: str | None) -> ReferenceDistribution | None:
    """The reference distribution logged by the training run, if it logged one."""
    if run_id is None:
        return None
    try:
        import mlflow

        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{REFERENCE_ARTIFACT}")
    except (MlflowException, OSError):
        return None
    return ReferenceDistribution.from_json(text)


def training_as_of(pipeline: DecisionPipeline) -> pd.Timestamp:
    """The model's as-of time (its training snapshot's time)."""
    if not pipeline.as_of:
        raise MonitoringError("the model records no as-of time; its training data is unknown")
    return pd.Timestamp(pipeline.as_of)


def resolve_reference(pipeline: DecisionPipeline, run: ModelRun, dataset: Dataset,
                      load: Callable[[Path], Dataset]) -> tuple[ReferenceDistribution, str]:
    """(reference distribution, where it came from in words) for ``pipeline``; ``dataset`` is the
    monitored data, ``load`` reads another data directory."""
    as_of = training_as_of(pipeline)
    kinds = feature_kinds(pipeline)
    same = run.data_dir is not None and dataset.source is not None and \
        Path(run.data_dir).resolve() == Path(dataset.source).resolve()
    if run.data_dir is not None and (same or Path(run.data_dir).is_dir()):
        training = dataset if same else load(Path(run.data_dir))
        return (reference_distribution(profile(training, as_of, pipeline), kinds),
                f"the training data {run.data_dir} before {as_of:%Y-%m-%d}")
    logged = logged_reference(run.run_id)
    if logged is not None:
        return logged, f"the distribution logged by the training run {run.run_id}"
    earliest = dataset.orders["ordered_at"].min() if len(dataset.orders) else None
    if earliest is None or not earliest < as_of:
        raise MonitoringError(
            f"no reference for the model's training snapshot: its training data "
            f"{run.data_dir or '(not recorded)'} cannot be read, its run logged no {REFERENCE_ARTIFACT}, "
            f"and the monitored data has no order before the model's as-of time {as_of:%Y-%m-%d}")
    return (reference_distribution(profile(dataset, as_of, pipeline), kinds),
            f"the monitored data before {as_of:%Y-%m-%d} (the training data is not reachable)")
