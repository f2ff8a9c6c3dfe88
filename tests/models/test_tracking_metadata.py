"""What an MLflow training run says about itself: the whole training's duration, the data's
absolute path, the evaluation's verdict, a model version description, and the steps reported
while it runs."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from mlflow.tracking import MlflowClient

import models.tracking as tracking
from models.registry import configure_tracking


def test_run_names_the_data_by_absolute_path_and_carries_the_verdict(trained_run, small_data_dir) -> None:
    configure_tracking()
    client = MlflowClient()
    run = client.get_run(trained_run.run_id)
    tags = run.data.tags
    assert tags["data_dir"] == str(Path(small_data_dir).resolve()) and Path(tags["data_dir"]).is_absolute()
    assert tags["verdict"] == trained_run.evaluation.verdict()
    name, number = trained_run.model_version.rsplit("/", 1)
    description = client.get_model_version(name, number).description
    assert description == tags["mlflow.note.content"]
    assert description.startswith(f"Learner {trained_run.result.pipeline.learner}, trained as of ")
    assert tags["data_dir"] in description and f"Verdict: {tags['verdict']}" in description
    artifacts = {a.path for a in client.list_artifacts(trained_run.run_id, "evaluation")}
    assert "evaluation/verdict.txt" in artifacts


def test_version_description_names_the_selection() -> None:
    selection = cast(Any, SimpleNamespace(chosen="t", reason="t had the highest incremental margin"))
    text = tracking.version_description("t", tracking.pd.Timestamp("2025-07-01"), "/data/shop",
                                        {"accounts": 400}, "the policy beats doing nothing", selection)
    assert text.splitlines() == [
        "Learner t, trained as of 2025-07-01 on /data/shop (accounts 400).",
        "Verdict: the policy beats doing nothing",
        "Selection: t — t had the highest incremental margin"]


def test_run_spans_the_whole_training_and_reports_its_steps(trained_run, small_dataset, as_of, monkeypatch) -> None:
    """Training is replaced by a slow stand-in returning the fixture's result: the run must
    start before it, as the old run (started after training and evaluation) did not."""
    slow = 2.0

    def slow_training(*_args: object, **_kw: object):
        time.sleep(slow)
        return trained_run.result

    monkeypatch.setattr(tracking, "train_pipeline", slow_training)
    steps: list[tuple[int, str]] = []
    started = time.time()
    run = tracking.train_and_log(small_dataset, as_of, register=False, on_step=lambda i, t: steps.append((i, t)))
    finished = time.time()
    assert steps == list(enumerate(tracking.TRAIN_STEPS))
    configure_tracking()
    info = MlflowClient().get_run(run.run_id).info
    duration = (info.end_time - info.start_time) / 1000
    assert duration >= slow
    assert started - 1 <= info.start_time / 1000 <= started + 1 and info.end_time / 1000 <= finished + 1
    metrics = MlflowClient().get_run(run.run_id).data.metrics
    assert abs(metrics["run_seconds"] - duration) < 1.5
