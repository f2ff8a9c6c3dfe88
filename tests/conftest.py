"""Shared fixtures: a small generated data directory and one trained, registered model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

SMALL_ACCOUNTS = 400
SMALL_SEED = 3


@pytest.fixture(scope="session")
def symbiose_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An isolated embedded MLflow store for the whole test session."""
    home = tmp_path_factory.mktemp("symbiose-home")
    old = {k: os.environ.get(k) for k in ("SYMBIOSE_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    os.environ["SYMBIOSE_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    yield home
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated data directory (400 accounts) with its truth file beside it."""
    from features.sample_data import generate

    root = tmp_path_factory.mktemp("small")
    generate(root / "data", n_accounts=SMALL_ACCOUNTS, seed=SMALL_SEED, truth_path=root / "truth.parquet")
    return root / "data"


@pytest.fixture(scope="session")
def small_dataset(small_data_dir: Path):
    from features.loading import load_dataset

    return load_dataset(small_data_dir)


@pytest.fixture(scope="session")
def as_of() -> pd.Timestamp:
    from features.sample_data import DEFAULT_AS_OF

    return pd.Timestamp(DEFAULT_AS_OF)


@pytest.fixture(scope="session")
def trained_run(symbiose_home: Path, small_dataset, as_of: pd.Timestamp):
    """One MLflow run with a registered model version, trained on the small data set.

    The learner is fixed to the pooled S-learner so that suggestion, page and campaign tests see a
    personalised policy; the automatic choice is tested on its own (tests/models/test_selection.py).
    """
    from models.tracking import train_and_log
    from models.training_config import TrainingConfig

    return train_and_log(small_dataset, as_of, config=TrainingConfig(learner="s"))
