"""Logging an evaluation to the MLflow run that trained the model: metrics, plots, HTML report."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.evaluation.html import write_report
from models.evaluation.plots import PLOT_FILES
from models.evaluation.report import EvaluationReport

METRIC_PREFIX = "eval_"
ARTIFACT_DIR = "evaluation"
REPORT_TAG = "evaluation_report"


def log_evaluation(report: EvaluationReport, run_id: str, directory: Path | None = None) -> str:
    """Log ``report`` to run ``run_id``: metrics prefixed ``eval_`` (NaN ones skipped), the PNGs and
    ``report.html`` under ``evaluation/``, and the tag ``evaluation_report`` with the report's
    artifact path. ``directory``: where the files are written first (default: a temporary one).
    Returns the artifact path of the HTML report."""
    if directory is None:
        with tempfile.TemporaryDirectory() as tmp:
            write_report(report, Path(tmp))
            return log_written_evaluation(report, run_id, Path(tmp))
    write_report(report, directory)
    return log_written_evaluation(report, run_id, directory)


def log_written_evaluation(report: EvaluationReport, run_id: str, directory: Path) -> str:
    """Like :func:`log_evaluation` for a report already written into ``directory``
    (``models.evaluation.html.write_report``), so nothing is computed while a run is open."""
    client = MlflowClient()
    now = int(time.time() * 1000)
    metrics = [Metric(METRIC_PREFIX + key, float(value), now, 0)
               for key, value in report.metrics().items() if not math.isnan(float(value))]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    for path in [*(directory / name for name in PLOT_FILES.values()), directory / "report.html"]:
        if path.exists():
            client.log_artifact(run_id, str(path), ARTIFACT_DIR)
    artifact = f"{ARTIFACT_DIR}/report.html"
    client.set_tag(run_id, REPORT_TAG, artifact)
    return artifact


def model_run_id(model_uri: str) -> str | None:
    """The id of the run that logged the model at ``model_uri`` (``models:/NAME/VERSION``,
    ``models:/<logged model id>`` or ``runs:/RUN/...``), or None when it cannot be found."""
    client = MlflowClient()
    try:
        if model_uri.startswith("runs:/"):
            return model_uri.removeprefix("runs:/").split("/", 1)[0]
        if model_uri.startswith("models:/"):
            rest = model_uri.removeprefix("models:/")
            name, _, version = rest.partition("/")
            if version.isdigit():
                return client.get_model_version(name, version).run_id
            return client.get_logged_model(rest).source_run_id
    except (MlflowException, AttributeError):
        return None
    return None
