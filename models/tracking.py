"""One ``symbiose train`` = one MLflow run: parameters, data summary, metrics, the pyfunc model."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from features.dataset import Dataset, restrict_accounts
from features.snapshot import build_snapshot
from models.evaluation.html import write_html, write_report
from models.evaluation.report import EvaluationReport, evaluate_holdout
from models.evaluation.run_log import log_written_evaluation
from models.monitoring.reference import log_training_reference, training_reference
from models.pyfunc import log_and_register
from models.registry import configure_tracking, ensure_experiment, register_challenger
from models.training import TrainingConfig, TrainingResult, train_pipeline
from models.validation_policy import policy_value_metrics

#: Bootstrap resamples of the evaluation logged with every training run.
TRAINING_BOOTSTRAP = 200


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


def train_and_log(dataset: Dataset, as_of: pd.Timestamp | None = None, *,
                  config: TrainingConfig | None = None, register: bool = True,
                  example_accounts: int = 5) -> TrainRun:
    """Train, evaluate and log everything in one MLflow run; register the model unless told not to.

    A registered version gets the alias ``challenger``, and ``champion`` too when there is none yet.

    All computation happens before the run starts, so a failure leaves no run and no model version.
    """
    result = train_pipeline(dataset, as_of, config)
    pipeline = result.pipeline
    as_of_ts = pd.Timestamp(pipeline.as_of)
    evaluation = evaluate_holdout(pipeline, dataset.before(as_of_ts), result.validation,
                                  n_boot=TRAINING_BOOTSTRAP, seed=int(str(result.params.get("random_state", 0))))
    report_dir = tempfile.TemporaryDirectory(prefix="symbiose-evaluation-")  # removed when collected
    write_report(evaluation, Path(report_dir.name))
    policy_metrics = policy_value_metrics(evaluation)
    result.metrics.update(policy_metrics)
    pipeline.metrics = dict(result.metrics)
    example = build_snapshot(_first_accounts(dataset, example_accounts), as_of_ts, pipeline.specs,
                             pipeline.categories)
    reference = training_reference(dataset, pipeline)  # what `symbiose monitor` compares with

    configure_tracking()
    experiment_id = ensure_experiment()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train as of {as_of_ts:%Y-%m-%d}") as run:
        mlflow.log_params({k: _param(v) for k, v in result.params.items()})
        mlflow.log_params({f"data_{k}": v for k, v in result.data_summary.items()})
        if dataset.source is not None:
            mlflow.set_tag("data_dir", str(dataset.source))
        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items() if pd.notna(v)})
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
        if version:
            mlflow.set_tag("model_version", version)
    champion = False
    if version:  # the registry URI, which `recommend --model` and the service accept
        model_uri = f"models:/{version}"
        champion = register_challenger(int(version.rsplit("/", 1)[1]))
    return TrainRun(run.info.run_id, model_uri, version, result, champion, evaluation)


def _first_accounts(dataset: Dataset, n: int) -> Dataset:
    """``dataset`` with its first ``n`` accounts only (the model's input example): their snapshot
    rows are those of the whole data set, at a fraction of the cost."""
    return restrict_accounts(dataset, dataset.accounts["account_id"].iloc[:n])


def _param(value: object) -> object:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
