"""The public experiments converted to the data contract: loadable and exactly per the mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.public.convert import (
    DEFAULT_DATA_DIR,
    HILLSTROM_CSV,
    STARBUCKS_CSV,
    hillstrom_experiment,
    hillstrom_to_contract,
    starbucks_to_contract,
    write_scoring_dir,
)
from features.loading import load_dataset
from features.outcomes import label_touches

SLICE = 200


def _slice(name: str, tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    source = DEFAULT_DATA_DIR / name
    if not source.is_file():
        pytest.skip(f"public data not available: {source} is absent (it lives beside the repository, "
                    "in ../shared/data/public/)")
    raw = pd.read_csv(source, nrows=SLICE)
    path = tmp_path / name
    raw.to_csv(path, index=False)
    return raw, path


def test_hillstrom_slice_matches_the_mapping(tmp_path: Path) -> None:
    raw, csv = _slice(HILLSTROM_CSV, tmp_path)
    ds = load_dataset(hillstrom_to_contract(csv, tmp_path / "h"))

    assert len(ds.accounts) == SLICE
    assert set(ds.accounts["account_id"]) == {f"H{i}" for i in raw["customer_id"]}
    assert ds.accounts["consent_email"].all()
    assert {"recency", "history_segment", "history", "mens", "womens", "newbie",
            "purchase_channel"} <= set(ds.accounts.columns)
    assert ds.policy.attribution_window_days == 14
    assert list(ds.policy.channels) == ["email"] and ds.policy.channels["email"].cost == 0.0
    assert set(ds.offers["offer_id"]) == {"mens", "womens"}
    assert (ds.offers["margin_rate"] == 1.0).all()

    touches = ds.touches.set_index("account_id")
    assert len(touches) == SLICE
    assert np.allclose(touches["propensity"], 1 / 3)
    assert (touches["touched_at"] == pd.Timestamp("2008-03-01")).all()
    by_segment = raw.set_index("H" + raw["customer_id"].astype(str))["segment"]
    expected_offer = by_segment.map({"Mens E-Mail": "mens", "Womens E-Mail": "womens"})
    assert (touches["channel"] == np.where(by_segment[touches.index] == "No E-Mail", "none", "email")).all()
    assert touches["offer_id"].fillna("-").equals(expected_offer[touches.index].fillna("-"))

    assert len(ds.orders) == int(raw["conversion"].sum())
    assert (ds.orders["ordered_at"] == pd.Timestamp("2008-03-08")).all()
    assert ds.orders["net_amount"].sum() == pytest.approx(raw["spend"].sum())
    assert len(ds.web_events) == int(raw["visit"].sum())
    assert (ds.web_events["occurred_at"] == pd.Timestamp("2008-03-04")).all()

    labels = label_touches(ds, pd.Timestamp("2008-03-20"))
    assert labels["complete"].all()
    assert labels["margin"].sum() == pytest.approx(raw["spend"].sum())  # margin = spend
    assert int(labels["converted"].sum()) == int(raw["conversion"].sum())


def test_starbucks_slice_matches_the_mapping(tmp_path: Path) -> None:
    raw, csv = _slice(STARBUCKS_CSV, tmp_path)
    ds = load_dataset(starbucks_to_contract(csv, tmp_path / "s"))

    assert len(ds.accounts) == SLICE
    assert (ds.accounts["region"] == "all").all()
    assert {f"V{i}" for i in range(1, 8)} <= set(ds.accounts.columns)
    assert ds.policy.attribution_window_days == 30
    assert ds.policy.channels["email"].cost == pytest.approx(0.15)
    assert ds.offers["offer_id"].tolist() == ["promo"]

    touches = ds.touches
    assert np.allclose(touches["propensity"], 0.5)
    assert (touches["touched_at"] == pd.Timestamp("2020-01-01")).all()
    assert int((touches["channel"] == "email").sum()) == int((raw["Promotion"] == "Yes").sum())
    assert touches.loc[touches["channel"] == "email", "offer_id"].eq("promo").all()

    assert len(ds.orders) == int(raw["purchase"].sum())
    assert (ds.orders["net_amount"] == 10.0).all()
    assert (ds.orders["ordered_at"] == pd.Timestamp("2020-01-08")).all()
    labels = label_touches(ds, pd.Timestamp("2020-02-15"))
    assert labels["margin"].sum() == pytest.approx(10.0 * raw["purchase"].sum())


def test_scoring_directory_has_accounts_and_no_history(tmp_path: Path) -> None:
    _, csv = _slice(HILLSTROM_CSV, tmp_path)
    exp = hillstrom_experiment(csv)
    part = exp.restricted(exp.accounts["account_id"].iloc[:50])
    ds = load_dataset(write_scoring_dir(part, tmp_path / "score"))
    assert len(ds.accounts) == 50 and len(part.outcomes) == 50
    assert ds.touches.empty and ds.orders.empty and ds.web_events.empty
    assert set(ds.offers["offer_id"]) == {"mens", "womens"}


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        hillstrom_experiment(tmp_path / "absent.csv")
