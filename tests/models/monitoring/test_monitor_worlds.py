"""Monitoring on generated worlds: the session's model over a later period of its world, without
drift (no check crosses a threshold) and with drift (the online share of revenue rises and phone
touches stop converting after the model's as-of time)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from features.loading import load_dataset
from models.monitoring.calibration import closed_outcomes
from models.monitoring.html import write_monitor_report
from models.monitoring.monitor import monitor_pipeline
from models.monitoring.reference import REFERENCE_ARTIFACT, ReferenceDistribution
from models.monitoring.run_log import log_monitoring
from models.monitoring.sources import ModelRun, MonitoringError, logged_reference, resolve_reference
from models.monitoring.thresholds import MonitorThresholds
from tests.monitoring_worlds import later_worlds, surge_orders  # noqa: F401 (fixture)

NO_FEEDBACK = pd.DataFrame(columns=["suggestion_id", "status"])


@pytest.fixture(scope="module")
def reports(later_worlds, trained_run, small_data_dir):  # noqa: F811
    pipeline = trained_run.result.pipeline
    run = ModelRun(trained_run.run_id, small_data_dir)

    def check(world, decisions):
        return monitor_pipeline(world, pipeline, model_version=later_worlds.model_version, run=run,
                                decisions=decisions, feedback=NO_FEEDBACK, load=load_dataset)

    return (check(later_worlds.stable, later_worlds.stable_decisions),
            check(later_worlds.drifted, later_worlds.drifted_decisions))


def _verdicts(report) -> dict[str, str]:
    return {c.name: c.verdict for c in report.checks}


def test_a_stable_world_crosses_no_threshold(reports):
    stable, _ = reports
    verdicts = _verdicts(stable)
    assert not stable.drift, [c for c in stable.checks if c.verdict == "drift"]
    assert verdicts["calibration: (all)"] == "ok" and verdicts["calibration: phone"] == "ok"
    assert stable.decisions_closed > 500
    features = stable.stability[stable.stability["group"] == "feature"]
    windowed = features[~features["lifetime"]]
    assert windowed["psi"].max() < 0.2
    assert set(stable.stability[stable.stability["group"] == "prediction"]["verdict"]) == {"ok"}
    assert "training data" in stable.reference_source


def test_a_drifted_world_is_caught_by_stability_and_calibration(reports):
    _, drifted = reports
    verdicts = _verdicts(drifted)
    assert drifted.drift and drifted.verdict == "drift"
    assert verdicts["feature stability"] == "drift"
    top = drifted.stability[drifted.stability["verdict"] == "drift"]["column"].tolist()
    assert "online_share_90d" in top
    assert verdicts["calibration: phone"] == "drift"
    assert verdicts["calibration: email"] != "drift" and verdicts["calibration: visit"] != "drift"
    phone = drifted.calibration.set_index("channel").loc["phone"]
    assert phone["predicted"] > phone["high"]
    by_offer = drifted.calibration_by_offer
    assert (by_offer[by_offer["channel"] == "phone"]["verdict"] == "drift").any()
    metrics = drifted.metrics()
    assert metrics["monitor/psi_max"] > 0.2 and metrics["monitor/checks_drift"] >= 2


def test_a_demand_surge_moves_the_predictions(later_worlds, trained_run, small_data_dir):  # noqa: F811
    surged = surge_orders(later_worlds.stable, later_worlds.model_as_of, copies=4)
    report = monitor_pipeline(surged, trained_run.result.pipeline, model_version=later_worlds.model_version,
                              run=ModelRun(None, small_data_dir), decisions=later_worlds.stable_decisions.iloc[:0],
                              feedback=NO_FEEDBACK, load=load_dataset)
    verdicts = _verdicts(report)
    assert verdicts["prediction stability: rank1_p_convert"] == "drift"
    assert report.metrics()["monitor/psi_rank1_p_convert"] > 0.3
    assert verdicts["calibration"] == "not enough data"


def test_only_carried_out_suggestions_with_a_closed_window_count(later_worlds):  # noqa: F811
    world, decisions = later_worlds.stable, later_worlds.stable_decisions
    as_of = world.default_as_of()
    t = MonitorThresholds(acted_within_days=14)
    closed = closed_outcomes(decisions, world, as_of, t)
    window = pd.Timedelta(days=world.policy.attribution_window_days)
    assert len(closed) and (closed["touched_at"] + window < as_of).all()
    assert closed["touch_id"].is_unique and closed["suggestion_id"].is_unique
    assert (closed["suggestion_id"] == "s-" + closed["touch_id"]).mean() > 0.95
    # Shown more than 14 days before its touch, or after it: that touch does not carry it out
    # (a repeated touch of the same action may).
    for shift in (-15, 1):
        moved = closed_outcomes(decisions.assign(as_of=decisions["as_of"] + pd.Timedelta(days=shift)),
                                world, as_of, t)
        assert len(moved) < 0.1 * len(closed)
        assert not (moved["suggestion_id"] == "s-" + moved["touch_id"]).any()
    # Another action than the touch's: not carried out.
    other = decisions.assign(discount_pct=decisions["discount_pct"] + 1.0)
    assert closed_outcomes(other, world, as_of, t).empty
    # Shown twice (two as-of times): the touch answers for the later showing only.
    again = decisions.assign(suggestion_id=decisions["suggestion_id"] + "-early",
                             as_of=decisions["as_of"] - pd.Timedelta(days=2))
    both = closed_outcomes(pd.concat([decisions, again], ignore_index=True), world, as_of, t)
    assert len(both) == len(closed) and not both["suggestion_id"].str.endswith("-early").any()


def test_another_model_versions_decisions_are_not_judged(later_worlds, trained_run):  # noqa: F811
    other = later_worlds.drifted_decisions.assign(model_version="symbiose-nba/999")
    ref = resolve_reference(trained_run.result.pipeline, ModelRun(None, None), later_worlds.stable, load_dataset)
    report = monitor_pipeline(later_worlds.drifted, trained_run.result.pipeline,
                              model_version=later_worlds.model_version, run=ModelRun(None, None),
                              decisions=other, feedback=NO_FEEDBACK, load=load_dataset, reference=ref)
    assert report.decisions_logged == 0
    assert _verdicts(report)["calibration"] == "not enough data"
    assert report.feedback.set_index("model_version").loc["symbiose-nba/999", "shown"] == len(other)


def test_reference_sources_in_order(trained_run, small_data_dir, small_dataset, later_worlds, tmp_path):  # noqa: F811
    pipeline = trained_run.result.pipeline
    logged = logged_reference(trained_run.run_id)
    assert isinstance(logged, ReferenceDistribution)
    assert logged.as_of == pd.Timestamp(pipeline.as_of) and "online_share_90d" in logged.features
    assert set(logged.predictions) == {"rank1_expected_incremental_margin", "rank1_p_convert", "rank1_channel"}
    loads: list[Path] = []

    def load(path: Path):
        loads.append(path)
        return small_dataset

    _, source = resolve_reference(pipeline, ModelRun(trained_run.run_id, small_data_dir), later_worlds.stable, load)
    assert loads == [small_data_dir] and str(small_data_dir) in source
    gone = ModelRun(trained_run.run_id, tmp_path / "moved")
    ref, source = resolve_reference(pipeline, gone, later_worlds.stable, load)
    assert "logged by the training run" in source and ref.to_dict() == logged.to_dict()
    _, source = resolve_reference(pipeline, ModelRun(None, tmp_path / "moved"), later_worlds.stable, load)
    assert "monitored data" in source and len(loads) == 1
    recent = replace(later_worlds.stable, orders=later_worlds.stable.orders[
        later_worlds.stable.orders["ordered_at"] >= pd.Timestamp(pipeline.as_of)])
    with pytest.raises(MonitoringError, match="no order before the model's as-of time"):
        resolve_reference(pipeline, ModelRun(None, None), recent, load)


def test_report_files_and_mlflow_metrics_keep_their_history(reports, symbiose_home, tmp_path):
    _, drifted = reports
    html = write_monitor_report(drifted, tmp_path / "report")
    text = html.read_text(encoding="utf-8")
    assert html.name == "monitor.html" and "online_share_90d" in text and "calibration: phone" in text
    assert (tmp_path / "report" / "psi.png").stat().st_size > 1000
    assert (tmp_path / "report" / "calibration.png").stat().st_size > 1000
    from models.registry import configure_tracking, ensure_experiment

    configure_tracking()
    with mlflow.start_run(experiment_id=ensure_experiment(), run_name="monitoring test") as run:
        pass
    first = log_monitoring(drifted, run.info.run_id, tmp_path / "report")
    later = replace(drifted, computed_at=drifted.computed_at + pd.Timedelta(hours=1))
    second = log_monitoring(later, run.info.run_id)
    client = MlflowClient()
    history = client.get_metric_history(run.info.run_id, "monitor/psi_max")
    assert len(history) == 2 and history[0].step != history[1].step
    assert first != second and first.startswith("monitoring/")
    names = {a.path.rsplit("/", 1)[-1] for a in client.list_artifacts(run.info.run_id, first)}
    assert {"monitor.html", "psi.png", "calibration.png"} <= names
    assert client.get_run(run.info.run_id).data.tags["monitor_verdict"] == "drift"
    assert REFERENCE_ARTIFACT.startswith("monitoring/")
