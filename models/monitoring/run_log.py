"""Logging a monitoring pass to the MLflow run that trained the model.

Metrics (``monitor/...``) are logged with the pass's wall-clock time as timestamp and its Unix
time in seconds as step, so repeated passes add points to each metric's history instead of
replacing them; the report's files go under ``monitoring/<time of the pass>/``.
"""

from __future__ import annotations

import math
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from models.monitoring.report import MonitorReport

ARTIFACT_DIR = "monitoring"


def log_monitoring(report: MonitorReport, run_id: str, directory: Path | None = None) -> str:
    """Log ``report``'s metrics (NaN ones skipped), and the files in ``directory`` when given, to
    run ``run_id``; returns the artifact folder of this pass."""
    client = MlflowClient()
    stamp = report.computed_at
    millis = int(stamp.timestamp() * 1000)
    metrics = [Metric(key, float(value), millis, millis // 1000) for key, value in report.metrics().items()
               if not math.isnan(float(value))]
    client.log_batch(run_id, metrics=metrics)
    folder = f"{ARTIFACT_DIR}/{stamp:%Y%m%dT%H%M%S}"
    if directory is not None:
        for path in sorted(directory.iterdir()):
            if path.is_file():
                client.log_artifact(run_id, str(path), folder)
    client.set_tag(run_id, "monitor_verdict", report.verdict)
    return folder
