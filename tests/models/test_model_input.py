"""The pyfunc scores with the catalog it is given: the same suggestions as ``score_dataset`` for
the same data and as-of, from snapshot rows or from one packed row per account."""

from __future__ import annotations

from dataclasses import replace

import mlflow
import pandas as pd
import pytest

from features.snapshot import build_snapshot
from features.validation import ContractError
from models.model_input import (
    PACKED_OUTPUT,
    decision_context,
    offers_param,
    pack_snapshot,
    policy_param,
    snapshot_categories,
)
from models.recommend import score_dataset
from models.registry import configure_tracking
from tests.recommendation_frames import assert_same_recommendations


@pytest.fixture(scope="module")
def model(trained_run):
    configure_tracking()
    return mlflow.pyfunc.load_model(trained_run.model_uri)


def _inputs(dataset, as_of, pipeline) -> tuple[pd.DataFrame, dict]:
    """Snapshot rows and parameters of ``dataset`` at ``as_of``, as an outside caller makes them."""
    data = dataset.before(as_of)
    categories = snapshot_categories(decision_context(data)["actions"], pipeline)
    snapshot = build_snapshot(data, as_of, pipeline.specs, categories)
    # The signature declares counts as double (they may be missing elsewhere).
    snapshot = snapshot.astype({c: "float64" for c in snapshot.select_dtypes(include=["integer"]).columns})
    return snapshot, {"offers": offers_param(data.offers), "policy": policy_param(data.policy), "top_k": 3}


def test_pyfunc_with_the_data_catalog_equals_score_dataset(model, small_dataset, as_of) -> None:
    pipeline = model.unwrap_python_model().pipeline
    snapshot, params = _inputs(small_dataset, as_of, pipeline)
    assert_same_recommendations(model.predict(snapshot, params=params),
                                score_dataset(small_dataset, as_of, pipeline, top_k=3))


def test_a_deactivated_offer_changes_the_pyfunc_as_it_changes_score_dataset(model, small_dataset, as_of) -> None:
    pipeline = model.unwrap_python_model().pipeline
    before = score_dataset(small_dataset, as_of, pipeline, top_k=3)
    first = before.loc[before["rank"] == 1, "offer_id"].dropna().value_counts().index[0]
    offers = small_dataset.offers.assign(active=small_dataset.offers["active"] & (small_dataset.offers["offer_id"] != first))
    changed = replace(small_dataset, offers=offers)
    expected = score_dataset(changed, as_of, pipeline, top_k=3)
    assert first not in set(expected["offer_id"].dropna())
    snapshot, params = _inputs(changed, as_of, pipeline)
    got = model.predict(snapshot, params=params)
    assert first not in set(got["offer_id"].dropna())
    assert_same_recommendations(got, expected)
    # Without the parameters the model keeps its training-time catalog, which still has the offer.
    unchanged, _ = _inputs(small_dataset, as_of, pipeline)
    assert first in set(model.predict(unchanged, params={"top_k": 3})["offer_id"].dropna())


def test_packed_rows_give_one_row_per_account_with_the_same_suggestions(model, small_dataset, as_of) -> None:
    pipeline = model.unwrap_python_model().pipeline
    snapshot, params = _inputs(small_dataset, as_of, pipeline)
    snapshot = snapshot[snapshot["account_id"].isin(snapshot["account_id"].unique()[:40])]
    packed = pack_snapshot(snapshot)
    out = model.predict(packed, params=params)
    assert len(out) == len(packed) and list(out.columns) == [PACKED_OUTPUT]
    flat = pd.DataFrame.from_records([r for recs in out[PACKED_OUTPUT] for r in recs])
    expected = model.predict(snapshot.reset_index(drop=True), params=params)
    assert_same_recommendations(flat[expected.columns], expected)
    assert all({r["account_id"] for r in recs} == {a} for a, recs in zip(packed["account_id"], out[PACKED_OUTPUT], strict=True))


def test_bad_catalog_parameters_say_what_was_expected(model, small_dataset, as_of) -> None:
    pipeline = model.unwrap_python_model().pipeline
    snapshot, params = _inputs(small_dataset, as_of, pipeline)
    one = snapshot[snapshot["account_id"] == snapshot["account_id"].iloc[0]]
    with pytest.raises(ContractError, match=r"offers\.margin_rate.*between 0 and 1"):
        model.predict(one, params={**params, "offers": params["offers"].replace('"margin_rate": 0.', '"margin_rate": 7.', 1)})
    with pytest.raises(ValueError, match="parameter offers: expected JSON text"):
        model.predict(one, params={**params, "offers": "[{"})
    with pytest.raises(ValueError, match="give the parameter offers too"):
        model.predict(one, params={"policy": params["policy"]})
    with pytest.raises(ValueError, match="model input lacks columns"):
        model.predict(one.drop(columns=[pipeline.design.account_columns[0]]), params=params)
