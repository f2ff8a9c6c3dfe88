"""The registered model: one MLflow run with the promised metrics, and a pyfunc that runs the whole pipeline."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from features.snapshot import build_snapshot
from models.pipeline import OUTPUT_COLUMNS
from models.registry import MODEL_NAME, configure_tracking, resolve_model_uri


def test_run_has_parameters_data_summary_and_metrics(trained_run) -> None:
    configure_tracking()
    run = MlflowClient().get_run(trained_run.run_id)
    metrics = run.data.metrics
    for key in ("valid_auc", "valid_log_loss", "valid_calibration_error", "valid_policy_value",
                "valid_policy_value_none", "valid_policy_value_logging", "training_seconds"):
        assert key in metrics, f"metric {key} missing from the run"
    assert 0.5 < metrics["valid_auc"] <= 1.0
    assert 0 <= metrics["valid_calibration_error"] < 0.1
    params = run.data.params
    assert "as_of" in params and "data_accounts" in params and "data_examples_train" in params
    assert run.data.tags.get("model_version") == trained_run.model_version


def test_registered_version_is_resolved_as_latest(trained_run) -> None:
    configure_tracking()
    uri, version = resolve_model_uri(None)
    assert version.startswith(f"{MODEL_NAME}/")
    assert uri == f"models:/{version}"
    mv = MlflowClient().get_model_version(MODEL_NAME, version.split("/")[1])
    assert mv.run_id is not None


def test_pyfunc_runs_the_whole_pipeline_with_its_signature(trained_run, small_dataset, as_of) -> None:
    configure_tracking()
    model = mlflow.pyfunc.load_model(trained_run.model_uri)
    assert model.metadata.signature is not None
    pipeline = trained_run.result.pipeline
    snap = build_snapshot(small_dataset.before(as_of), as_of, pipeline.specs, pipeline.categories)
    some = snap["account_id"].drop_duplicates().iloc[:7]
    batch = snap[snap["account_id"].isin(some)].reset_index(drop=True)
    out = model.predict(batch, params={"top_k": 2})
    assert list(out.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert set(out["account_id"]) == set(some)
    assert out.groupby("account_id")["rank"].max().le(2).all()
    assert (out["model_version"] == trained_run.model_version).all()
    # One account per request, as a scoring server would receive it.
    single = snap[snap["account_id"] == some.iloc[0]].reset_index(drop=True)
    one = model.predict(single)
    assert set(one["account_id"]) == {some.iloc[0]}
    assert isinstance(one, pd.DataFrame)




def test_action_calibrated_pipeline_round_trips_through_pyfunc(trained_run, small_dataset, as_of) -> None:
    """The trained pipeline with a per-action calibrator (fitted on its own scored pairs and
    synthetic outcomes) pickles into a pyfunc model that decides exactly as in memory."""
    import copy

    import numpy as np

    from models.calibration import ActionCalibrator
    from models.design import action_frame
    from models.pipeline import split_snapshot
    from models.pyfunc import load_pipeline, log_and_register
    from models.registry import ensure_experiment

    pipeline = copy.deepcopy(trained_run.result.pipeline)
    snap = build_snapshot(small_dataset.before(as_of), as_of, pipeline.specs, pipeline.categories)
    acts = pipeline.actions
    encoded = pipeline.design.encode(snap.iloc[:300])
    rows = np.repeat(np.arange(len(encoded)), len(acts))
    act = action_frame(*(np.tile(acts[c].to_numpy(), len(encoded)) for c in
                         ("channel", "offer_id", "discount_pct", "executed_by")))
    X = pipeline.design.with_actions(encoded[rows], act)
    clf = pipeline.classifier
    raw = clf._raw(X)
    rng = np.random.default_rng(0)
    y = (rng.random(len(raw)) < 1 / (1 + np.exp(-(raw + 0.5 * act["action_is_contact"].to_numpy())))).astype(float)
    clf.action_calibrator_ = ActionCalibrator().fit(raw, y, X, list(clf.feature_names_in_))
    assert not np.allclose(clf.predict_proba(X), trained_run.result.pipeline.classifier.predict_proba(X))

    batch = snap[snap["account_id"].isin(snap["account_id"].drop_duplicates().iloc[:5])].reset_index(drop=True)
    configure_tracking()
    with mlflow.start_run(experiment_id=ensure_experiment()):
        uri, _ = log_and_register(pipeline, batch, register=False)
    loaded = load_pipeline(uri)
    assert loaded.classifier.action_calibrator_ is not None
    assert np.array_equal(loaded.classifier.predict_proba(X), clf.predict_proba(X))
    expected = pipeline.recommend(*split_snapshot(batch), top_k=3)
    pd.testing.assert_frame_equal(mlflow.pyfunc.load_model(uri).predict(batch), expected)
