"""Display-only account columns (contract v1.1): loaded and checked, written by the generator,
and never model features: features and scores are the same with, without or with other values."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.dataset import DISPLAY_ACCOUNT_COLUMNS, write_dataset
from features.loading import load_dataset
from features.validation import ContractError


def test_generator_writes_display_columns(small_dataset) -> None:
    accounts = small_dataset.accounts
    assert small_dataset.display_account_columns == DISPLAY_ACCOUNT_COLUMNS
    assert accounts["name"].notna().all() and accounts["name"].str.len().min() > 3
    assert accounts["contact_phone"].str.fullmatch(r"\+49 30 \d{7}").all()
    assert accounts["contact_email"].str.fullmatch(r"[a-z]+@[a-z-]+\.example").all()
    assert (accounts["crm_url"] == "https://crm.example/accounts/" + accounts["account_id"]).all()
    assert not set(DISPLAY_ACCOUNT_COLUMNS) & set(small_dataset.extra_account_columns)
    assert small_dataset.extra_account_columns == ["segment", "credit_limit_eur"]


def test_generated_values_besides_display_columns_do_not_depend_on_them() -> None:
    from features.sample_data import generate_dataset

    first, _ = generate_dataset(120, seed=3)
    second, _ = generate_dataset(120, seed=3)
    pd.testing.assert_frame_equal(first.accounts, second.accounts)
    pd.testing.assert_frame_equal(first.orders, second.orders)
    other, _ = generate_dataset(120, seed=4)
    assert not first.accounts["name"].equals(other.accounts["name"])


def test_loading_checks_display_columns(small_dataset, tmp_path: Path) -> None:
    written = write_dataset(small_dataset, tmp_path / "ok", fmt="csv")
    again = load_dataset(written)
    assert again.accounts["contact_email"].tolist() == small_dataset.accounts["contact_email"].tolist()
    accounts = small_dataset.accounts.copy()
    accounts.loc[3, "crm_url"] = "javascript:alert(1)"
    bad = write_dataset(replace(small_dataset, accounts=accounts), tmp_path / "bad", fmt="csv")
    with pytest.raises(ContractError) as raised:
        load_dataset(bad)
    message = str(raised.value)
    assert "crm_url" in message and "https://" in message and "javascript:alert(1)" in message
    without = write_dataset(replace(small_dataset, accounts=small_dataset.accounts.drop(
        columns=DISPLAY_ACCOUNT_COLUMNS)), tmp_path / "without", fmt="csv")
    assert load_dataset(without).display_account_columns == []


def test_display_columns_change_neither_features_nor_scores(small_dataset, trained_run, as_of) -> None:
    from features.definitions import feature_specs
    from models.recommend import score_dataset

    rng = np.random.default_rng(0)
    scrambled = small_dataset.accounts.copy()
    for column in DISPLAY_ACCOUNT_COLUMNS:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    variants = {
        "given": small_dataset,
        "without": replace(small_dataset, accounts=small_dataset.accounts.drop(columns=DISPLAY_ACCOUNT_COLUMNS)),
        "scrambled": replace(small_dataset, accounts=scrambled),
    }
    names = {k: [s.name for s in feature_specs(d)] for k, d in variants.items()}
    assert names["given"] == names["without"] == names["scrambled"]
    assert not [n for n in names["given"] if any(c in n for c in DISPLAY_ACCOUNT_COLUMNS)]
    pipeline = trained_run.result.pipeline
    scores = {k: score_dataset(d, as_of, pipeline, top_k=5, explain=False) for k, d in variants.items()}
    for key in ("without", "scrambled"):
        pd.testing.assert_frame_equal(scores["given"], scores[key])
