"""The evaluation report on the small data set: same holdout as training, keys, MLflow, HTML."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.evaluation.report import EvaluationError, evaluate_pipeline, holdout_window

REQUIRED = ("auc", "log_loss", "calibration_error", "dr_policy_value", "dr_policy_value_low",
            "dr_policy_value_high", "snips_policy_value", "ips_policy_value", "holdout_decisions")
REFERENCES = ("logging", "none", "random", "best_single")


def test_every_training_run_logs_its_evaluation(trained_run) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    run = client.get_run(trained_run.run_id)
    assert run.data.tags["evaluation_report"] == "evaluation/report.html"
    files = {Path(f.path).name for f in client.list_artifacts(trained_run.run_id, "evaluation")}
    assert {"report.html", "reliability.png", "policy_values.png", "qini.png"} <= files
    metrics = run.data.metrics
    for key in REQUIRED:
        assert f"eval_{key}" in metrics, key
    assert metrics["eval_auc"] == pytest.approx(metrics["valid_auc"])
    assert metrics["eval_snips_policy_value"] == pytest.approx(metrics["valid_policy_value"])


def test_metrics_have_the_promised_keys_and_consistent_values(trained_run) -> None:
    report = trained_run.evaluation
    m = report.metrics()
    for key in REQUIRED:
        assert math.isfinite(m[key]), key
    for ref in REFERENCES:
        for est in ("ips", "snips", "dr"):
            assert f"{est}_policy_value_{ref}" in m and f"{est}_policy_value_{ref}_low" in m
    assert any(k.startswith("qini_") for k in m)
    assert all(k.replace("_", "").isalnum() and k == k.lower() for k in m)
    assert m["dr_policy_value_low"] <= m["dr_policy_value"] <= m["dr_policy_value_high"]
    # The logging policy's value is the mean logged reward, whatever the estimator.
    assert m["ips_policy_value_logging"] == pytest.approx(m["dr_policy_value_logging"])
    assert m["snips_policy_value_logging"] == pytest.approx(m["dr_policy_value_logging"])
    assert m["holdout_decisions"] > 100 and 0 < m["policy_matches"] <= m["holdout_decisions"]
    for ref in ("none", "best_single"):  # paired incremental estimates (models.evaluation.incremental)
        gain = f"dr_policy_gain_vs_{ref}"
        assert m[f"{gain}_low"] <= m[gain] <= m[f"{gain}_high"]
        assert m[f"{gain}_high"] - m[f"{gain}_low"] > 0
    assert "picked on half" in report.best_single_action
    best = report.policy("best_single").estimates["dr"]
    assert best.n == pytest.approx(m["holdout_decisions"] / 2, abs=1)


def test_explicit_window_reproduces_the_validation_period(trained_run, small_dataset) -> None:
    pipeline = trained_run.result.pipeline
    start, end = holdout_window(pipeline, small_dataset)
    validation = trained_run.result.validation
    assert end == pd.Timestamp(pipeline.as_of) and start == validation["touched_at"].min()
    report = evaluate_pipeline(pipeline, small_dataset, holdout_from=start, holdout_to=end,
                               n_boot=20, max_decisions=150)
    m = report.metrics()
    assert m["auc"] == pytest.approx(trained_run.result.metrics["valid_auc"])
    assert m["holdout_examples"] == len(validation)
    assert m["holdout_decisions"] == 150 and report.available_decisions > 150
    assert (report.holdout_from, report.holdout_to, report.as_of) == (start, end, end)


def test_replay_chooses_what_the_pipeline_recommends(trained_run, small_dataset) -> None:
    from models.evaluation.replay import LOGGED_NONE, decision_snapshot, replay

    pipeline = trained_run.result.pipeline
    rep = replay(pipeline, small_dataset, trained_run.result.validation, max_decisions=60)
    frame, state = decision_snapshot(small_dataset, rep.decisions, pipeline.specs, pipeline.categories)
    recs = pipeline.recommend(frame, state, top_k=1, explain=False)
    first = recs[recs["rank"] == 1].set_index("account_id").reindex(rep.decisions["touch_id"])
    chosen = rep.actions.iloc[np.maximum(rep.chosen, 0)]
    expected_channel = np.where(rep.chosen == LOGGED_NONE, "none", chosen["channel"].to_numpy())
    assert (first["channel"].to_numpy() == expected_channel).all()
    acting = rep.chosen != LOGGED_NONE
    assert (first["offer_id"].to_numpy()[acting] == chosen["offer_id"].to_numpy()[acting]).all()
    assert np.allclose(first["discount_pct"].to_numpy(dtype=float)[acting],
                       chosen["discount_pct"].to_numpy(dtype=float)[acting])


def test_html_report_is_self_contained(trained_run, tmp_path: Path) -> None:
    from models.evaluation.html import write_report

    path = write_report(trained_run.evaluation, tmp_path)
    html = path.read_text()
    assert html.count("data:image/png;base64,") == 3
    assert trained_run.model_version in html and "best_single" in html and "Qini" in html
    assert {"reliability.png", "qini.png", "policy_values.png"} <= {p.name for p in tmp_path.iterdir()}


def test_bad_windows_are_refused(trained_run, small_dataset) -> None:
    pipeline = trained_run.result.pipeline
    with pytest.raises(EvaluationError, match="expected holdout_from < holdout_to <= as_of"):
        evaluate_pipeline(pipeline, small_dataset, holdout_from=pd.Timestamp("2025-05-01"),
                          holdout_to=pd.Timestamp("2025-04-01"))
    with pytest.raises(EvaluationError, match="no labelled touch in the holdout"):
        evaluate_pipeline(pipeline, small_dataset, holdout_from=pd.Timestamp("2000-01-01"),
                          holdout_to=pd.Timestamp("2000-02-01"))


def test_holdout_without_propensities_has_metrics_but_no_policy_values(trained_run, small_dataset,
                                                                       tmp_path: Path) -> None:
    from models.evaluation.html import write_report
    from models.evaluation.report import evaluate_holdout

    rows = trained_run.result.validation.assign(propensity=np.nan)
    report = evaluate_holdout(trained_run.result.pipeline, small_dataset, rows, n_boot=10)
    m = report.metrics()
    assert math.isfinite(m["auc"]) and m["holdout_decisions"] == 0
    assert all(math.isnan(m[k]) for k in ("dr_policy_value", "dr_policy_value_low", "ips_policy_value"))
    html = write_report(report, tmp_path).read_text()
    assert "policy values cannot be estimated" in html and html.count("data:image/png;base64,") == 1


def test_replay_on_its_decisions_accounts_only_gives_the_same_values(trained_run, small_dataset,
                                                                      monkeypatch) -> None:
    from models.evaluation import replay as replay_module

    pipeline, validation = trained_run.result.pipeline, trained_run.result.validation
    fast = replay_module.replay(pipeline, small_dataset, validation, max_decisions=40)
    cut = replay_module.decisions_accounts(small_dataset, fast.decisions)
    assert set(cut.accounts["account_id"]) == set(fast.decisions["account_id"])
    assert len(cut.accounts) < len(small_dataset.accounts) / 2
    monkeypatch.setattr(replay_module, "decisions_accounts", lambda dataset, dec: dataset)
    whole = replay_module.replay(pipeline, small_dataset, validation, max_decisions=40)
    pd.testing.assert_frame_equal(fast.decisions, whole.decisions)
    for name in ("value", "lift", "baseline", "chosen", "margin", "expected_none"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(whole, name), err_msg=name)


def test_decisions_of_most_accounts_keep_the_whole_data_set(small_dataset) -> None:
    from models.evaluation.replay import decisions_accounts

    ids = small_dataset.accounts["account_id"]
    most = pd.DataFrame({"account_id": ids.iloc[: len(ids) // 2 + 1]})
    assert decisions_accounts(small_dataset, most) is small_dataset
