"""One ``symbiose train`` = one MLflow run: parameters, data summary, metrics, the pyfunc model.

The run spans the whole training (its start is when training began, its end when the model was
registered), names the data by its absolute path, carries the evaluation's verdict and the
learner selection, and the registered version gets a description saying what it was trained on.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from features.dataset import Dataset, restrict_accounts
from features.extra_touches import ReportedTouches, add_touches
from features.snapshot import build_snapshot
from models.evaluation.html import write_html, write_report
from models.evaluation.report import EvaluationReport, evaluate_holdout
from models.evaluation.run_log import log_written_evaluation
from models.monitoring.reference import log_training_reference, training_reference
from models.pyfunc import log_and_register
from models.registry import configure_tracking, ensure_experiment, register_challenger
from models.selection import Selection
from models.training import TrainingConfig, TrainingResult, train_pipeline
from models.training_config import ConfigError
from models.validation_policy import policy_value_metrics

#: Bootstrap resamples of the evaluation logged with every training run.
TRAINING_BOOTSTRAP = 200
#: What :func:`train_and_log` reports to its ``on_step`` callback, in order.
TRAIN_STEPS = ("building features and training the model", "evaluating on the validation period",
               "preparing the input example and the monitoring reference",
               "logging the run to MLflow and registering the model")


@dataclass(frozen=True)
class TrainRun:
    run_id: str
    model_uri: str
    model_version: str | None
    result: TrainingResult
    #: True when the new version also became ``champion`` (there was none before).
    champion: bool = False
    #: The evaluation on the validation period, logged under ``evaluation/`` of the run.
    evaluation: EvaluationReport | None = None
    #: Counts of the touches reported outside the export (``feedback_*`` metrics; empty without).
    feedback: dict[str, float] = field(default_factory=dict)


def train_and_log(dataset: Dataset, as_of: pd.Timestamp | None = None, *,
                  config: TrainingConfig | None = None, register: bool = True,
                  example_accounts: int = 5, on_step: Callable[[int, str], None] | None = None,
                  reported: ReportedTouches | None = None) -> TrainRun:
    """Train, evaluate and log everything in one MLflow run; register the model unless told not to.

    A registered version gets the alias ``challenger``, and ``champion`` too when there is none yet.
    ``on_step(i, text)`` is told when each of :data:`TRAIN_STEPS` starts. ``reported``: touches
    reported outside the export (the service's feedback, read where ``config.feedback_db`` says),
    added to the data set's touches where the export has none of that account and channel on
    that day and before the as-of time (the export's when none is given;
    ``features.extra_touches``); their counts are logged as ``feedback_*`` metrics.

    All computation happens before the run is written, so a failure leaves no run and no model
    version; the run's start time is still the moment training began.
    """
    step = on_step or (lambda _i, _text: None)
    started_ms = int(time.time() * 1000)
    if config is not None and config.feedback_db is not None and reported is None:
        raise ConfigError("feedback_db is set but no feedback touches were given: read them with "
                          "serving.feedback_touches.read_feedback_touches(feedback_db, dataset) and pass "
                          "them as reported=... (symbiose train --feedback-db does both)")
    feedback_metrics: dict[str, float] = {}
    if reported is not None:
        # The as-of time is the export's: reported touches after its last event have no orders yet.
        as_of = dataset.default_as_of() if as_of is None else as_of
        merged = add_touches(dataset, reported.touches, before=as_of)
        dataset = merged.dataset
        feedback_metrics = {k: float(v) for k, v in merged.counts("feedback_touches").items()}
        feedback_metrics["feedback_attempts_not_reached"] = float(reported.attempts)
    step(0, TRAIN_STEPS[0])
    result = train_pipeline(dataset, as_of, config)
    step(1, TRAIN_STEPS[1])
    pipeline = result.pipeline
    as_of_ts = pd.Timestamp(pipeline.as_of)
    evaluation = evaluate_holdout(pipeline, dataset.before(as_of_ts), result.validation,
                                  n_boot=TRAINING_BOOTSTRAP, seed=int(str(result.params.get("random_state", 0))))
    report_dir = tempfile.TemporaryDirectory(prefix="symbiose-evaluation-")  # removed when collected
    write_report(evaluation, Path(report_dir.name))
    policy_metrics = policy_value_metrics(evaluation)
    result.metrics.update(policy_metrics)
    pipeline.metrics = dict(result.metrics)
    step(2, TRAIN_STEPS[2])
    example = build_snapshot(_first_accounts(dataset, example_accounts), as_of_ts, pipeline.specs,
                             pipeline.categories)
    reference = training_reference(dataset, pipeline)  # what `symbiose monitor` compares with

    step(3, TRAIN_STEPS[3])
    configure_tracking()
    experiment_id = ensure_experiment()
    data_dir = None if dataset.source is None else str(Path(dataset.source).resolve())
    verdict = evaluation.verdict()
    created = MlflowClient().create_run(experiment_id, start_time=started_ms,
                                        run_name=f"train as of {as_of_ts:%Y-%m-%d}")
    with mlflow.start_run(run_id=created.info.run_id) as run:
        mlflow.log_params({k: _param(v) for k, v in result.params.items()})
        mlflow.log_params({f"data_{k}": v for k, v in result.data_summary.items()})
        if data_dir is not None:
            mlflow.set_tag("data_dir", data_dir)
        mlflow.set_tag("verdict", verdict)
        mlflow.log_text(verdict + "\n", "evaluation/verdict.txt")
        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items() if pd.notna(v)})
        if feedback_metrics:
            mlflow.log_metrics({k: float(v) for k, v in feedback_metrics.items()})
        mlflow.log_dict({"features": [s.__dict__ for s in pipeline.specs]}, "features.json")
        mlflow.log_text(json.dumps(pipeline.policy, indent=2), "policy.json")
        log_training_reference(reference)
        mlflow.set_tags({"learner": pipeline.learner, "policy_mode": pipeline.policy_mode})
        if result.selection is not None:
            mlflow.log_text(result.selection.text(), "selection/selection.txt")
            mlflow.log_table(result.selection.table.astype({"error": str}), "selection/selection.json")
            mlflow.set_tag("learner_selection", result.selection.chosen)
        model_uri, version = log_and_register(pipeline, example, register=register)
        evaluation.model_version = version or pipeline.model_version
        write_html(evaluation, Path(report_dir.name))  # with the registered version's name
        log_written_evaluation(evaluation, run.info.run_id, Path(report_dir.name))
        description = version_description(pipeline.learner, as_of_ts, data_dir, result.data_summary,
                                          verdict, result.selection)
        mlflow.set_tag("mlflow.note.content", description)
        if version:
            mlflow.set_tag("model_version", version)
            name, number = version.rsplit("/", 1)
            MlflowClient().update_model_version(name, number, description=description)
        mlflow.log_metric("run_seconds", time.time() - started_ms / 1000)  # training to registration
    champion = False
    if version:  # the registry URI, which `recommend --model` and the service accept
        model_uri = f"models:/{version}"
        champion = register_challenger(int(version.rsplit("/", 1)[1]))
    return TrainRun(run.info.run_id, model_uri, version, result, champion, evaluation, feedback_metrics)


def version_description(learner: str, as_of: pd.Timestamp, data_dir: str | None,
                        data_summary: Mapping[str, object], verdict: str, selection: Selection | None) -> str:
    """What a model version is, in a few lines: learner, as-of, data, the evaluation's verdict and,
    when learners were compared, which one was chosen and why."""
    counts = ", ".join(f"{k} {v}" for k, v in data_summary.items())
    lines = [f"Learner {learner}, trained as of {as_of:%Y-%m-%d} on {data_dir or 'data given in memory'}"
             + (f" ({counts})" if counts else "") + ".", f"Verdict: {verdict}"]
    if selection is not None:
        lines.append(f"Selection: {selection.chosen} — {selection.reason}")
    return "\n".join(lines)


def _first_accounts(dataset: Dataset, n: int) -> Dataset:
    """``dataset`` with its first ``n`` accounts only (the model's input example): their snapshot
    rows are those of the whole data set, at a fraction of the cost."""
    return restrict_accounts(dataset, dataset.accounts["account_id"].iloc[:n])


def _param(value: object) -> object:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
