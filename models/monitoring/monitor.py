"""One monitoring pass of a model over a data set and its decision log (given as frames)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.dataset import Dataset
from models.monitoring.calibration import closed_outcomes
from models.monitoring.feedback import feedback_shares
from models.monitoring.reference import ReferenceDistribution, lifetime_features, profile
from models.monitoring.report import MonitorReport, build_report
from models.monitoring.sources import ModelRun, resolve_reference, training_as_of
from models.monitoring.thresholds import MonitorThresholds
from models.pipeline import DecisionPipeline


def monitor_pipeline(dataset: Dataset, pipeline: DecisionPipeline, *, model_version: str, run: ModelRun,
                     decisions: pd.DataFrame, feedback: pd.DataFrame, load: Callable[[Path], Dataset],
                     thresholds: MonitorThresholds | None = None, as_of: pd.Timestamp | None = None,
                     reference: tuple[ReferenceDistribution, str] | None = None) -> MonitorReport:
    """Check ``pipeline`` against ``dataset`` at ``as_of`` (default: its latest as-of time).

    ``decisions``: the decision log (``models.monitoring.calibration.DECISION_COLUMNS``), of
    every model version; only ``model_version``'s suggestions are judged for calibration, the
    feedback shares cover all versions. ``feedback``: ``suggestion_id``, ``status`` in the order
    stored, or with their ``id`` (``models.feedback_state``). The training reference is
    ``reference`` when given, else found by ``models.monitoring.sources``.
    """
    started = time.perf_counter()
    t = thresholds or MonitorThresholds()
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of)
    model_as_of = training_as_of(pipeline)
    ref, source = reference or resolve_reference(pipeline, run, dataset, load)
    current = profile(dataset, as_of, pipeline)
    own = decisions[decisions["model_version"].astype(str) == model_version]
    outcomes = closed_outcomes(own, dataset, as_of, t)
    report = build_report(model_version=model_version, model_as_of=model_as_of, reference=ref,
                          reference_source=source, current=current, outcomes=outcomes,
                          feedback=feedback_shares(decisions, feedback), decisions_logged=int(len(own)),
                          thresholds=t, lifetime=lifetime_features(pipeline))
    report.seconds = time.perf_counter() - started
    return report
