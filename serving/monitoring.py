"""Monitoring from the service's side: the decision log and feedback read from its database as
frames, a pass over the served model (``models.monitoring``), and a short-lived cache of the last
pass for ``GET /v1/model/health``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.dataset import Dataset
from models.monitoring.report import MonitorReport
from models.monitoring.thresholds import MonitorThresholds
from serving.store.db import Database
from serving.store.tables import Decision, Feedback

#: How long the service answers health checks from its last pass.
HEALTH_CACHE_SECONDS = 300.0
DECISION_COLUMNS = ("suggestion_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
                    "model_version", "as_of")


def read_decisions(session: Session) -> pd.DataFrame:
    """Every suggestion the decision log holds, once (a suggestion id fixes its model version,
    as-of time, account and action, so repeated showings collapse)."""
    columns = [getattr(Decision, c) for c in DECISION_COLUMNS]
    rows = session.execute(select(*columns).distinct()).all()
    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[us]")
    return frame.drop_duplicates("suggestion_id").reset_index(drop=True)


def read_feedback(session: Session) -> pd.DataFrame:
    """(id, suggestion_id, status) of every stored feedback, by id: the order that decides each
    suggestion's final status (``models.feedback_state``)."""
    rows = session.execute(select(Feedback.id, Feedback.suggestion_id, Feedback.status).order_by(Feedback.id)).all()
    return pd.DataFrame(rows, columns=["id", "suggestion_id", "status"])


def monitor_served(dataset: Dataset, model_uri: str, version: str, database: Database, *,
                   thresholds: MonitorThresholds | None = None, as_of: pd.Timestamp | None = None,
                   load: Callable[[Path], Dataset] | None = None) -> MonitorReport:
    """One monitoring pass of the model at ``model_uri`` over ``dataset`` and ``database``'s log."""
    from features.loading import load_dataset
    from models.evaluation.run_log import model_run_id
    from models.monitoring.monitor import monitor_pipeline
    from models.monitoring.sources import model_run
    from models.recommend import load_model

    pipeline, _ = load_model(model_uri)
    with database() as session:
        decisions, feedback = read_decisions(session), read_feedback(session)
    return monitor_pipeline(dataset, pipeline, model_version=version, run=model_run(model_run_id(model_uri)),
                            decisions=decisions, feedback=feedback, load=load or load_dataset,
                            thresholds=thresholds, as_of=as_of)


def report_json(report: MonitorReport) -> dict[str, Any]:
    """The checks of ``report`` as plain data (NaN values as None)."""
    def number(value: float) -> float | None:
        return None if pd.isna(value) else float(value)

    return {"model_version": report.model_version, "verdict": report.verdict,
            "model_as_of": report.model_as_of.to_pydatetime(), "data_as_of": report.data_as_of.to_pydatetime(),
            "computed_at": report.computed_at.to_pydatetime(), "reference": report.reference_source,
            "checks": [{"name": c.name, "value": number(c.value), "threshold": number(c.threshold),
                        "verdict": c.verdict, "detail": c.detail} for c in report.checks]}


@dataclass
class _Entry:
    key: tuple[str, ...]
    made: float
    report: MonitorReport


class HealthCache:
    """The last pass per served snapshot, answered for ``seconds``; one pass runs at a time (a
    request arriving meanwhile waits for it instead of starting its own)."""

    def __init__(self, seconds: float = HEALTH_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entry: _Entry | None = None
        self.passes = 0

    def get(self, key: tuple[str, ...], compute: Callable[[], MonitorReport]) -> MonitorReport:
        with self._lock:
            entry = self._entry
            if entry is not None and entry.key == key and self._clock() - entry.made < self.seconds:
                return entry.report
            report = compute()
            self.passes += 1
            self._entry = _Entry(key, self._clock(), report)
            return report
