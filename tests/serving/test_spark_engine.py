"""``symbiose recommend --engine spark`` on Spark's local[2]: the same recommendations file as the
pandas engine, from CSV and Parquet data, and the same contract errors for broken input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from features.dataset import write_dataset
from serving.cli import model as model_commands
from tests.recommendation_frames import assert_same_recommendations
from tests.serving.cli_helpers import command_app, invoke

APP = command_app(model_commands.register)


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for this module; the command reuses it."""
    from serving.spark_engine import spark_session

    with spark_session("local[2]") as session:
        yield session


def _recommend(data: Path, out: Path, model_uri: str, as_of, *extra: object) -> tuple[int, str, str]:
    return invoke(APP, ["recommend", "--data", data, "--out", out, "--as-of", str(as_of), "--model", model_uri, *extra])


@pytest.fixture(scope="module")
def pandas_file(trained_run, small_data_dir, as_of, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("pandas-engine") / "recs.parquet"
    code, _, err = _recommend(small_data_dir, out, trained_run.model_uri, as_of.date())
    assert code == 0, err
    # The pandas engine's file also carries the reasons as data (reason_codes) for a service that
    # serves it; the Spark engine writes the contract's columns only.
    return pd.read_parquet(out).drop(columns=["reason_codes"])


def test_spark_engine_writes_the_pandas_engines_file_from_csv_and_parquet(spark, trained_run, small_data_dir,
                                                                           small_dataset, as_of, pandas_file,
                                                                           tmp_path) -> None:
    out = tmp_path / "spark.parquet"
    code, stdout, err = _recommend(small_data_dir, out, trained_run.model_uri, as_of.date(), "--engine", "spark",
                                   "--master", "local[2]")
    assert code == 0, err
    assert "suggestions for 400 accounts" in stdout
    got = pd.read_parquet(out)
    assert_same_recommendations(got, pandas_file)
    assert got["account_id"].tolist() == pandas_file["account_id"].tolist()  # the same order too
    first = got[got["rank"] == 1].set_index("account_id")
    expected_first = pandas_file[pandas_file["rank"] == 1].set_index("account_id")
    assert (first["channel"] + "|" + first["offer_id"].fillna("")).equals(
        expected_first["channel"] + "|" + expected_first["offer_id"].fillna(""))

    parquet_dir = write_dataset(small_dataset, tmp_path / "parquet-data", fmt="parquet")
    out = tmp_path / "spark-from-parquet.parquet"
    code, _, err = _recommend(parquet_dir, out, trained_run.model_uri, as_of.date(), "--engine", "spark")
    assert code == 0, err
    assert_same_recommendations(pd.read_parquet(out), pandas_file)


def _whole(text: str) -> str:
    return re.sub(r"(\d)\.0\b", r"\1", text)


def _broken(small_data_dir: Path, tmp_path: Path, name: str, change) -> Path:
    data = tmp_path / name
    shutil.copytree(small_data_dir, data)
    orders = pd.read_csv(data / "orders.csv", dtype=str, keep_default_na=False)
    change(orders).to_csv(data / "orders.csv", index=False)
    return data


@pytest.mark.parametrize("name, change", [
    ("missing-column", lambda o: o.drop(columns=["net_amount"])),
    ("bad-rows", lambda o: o.assign(net_amount=o["net_amount"].where(o.index % 997 != 5, "-3"),
                                    channel=o["channel"].where(o.index != 1200, "fax"))),
    ("unknown-account", lambda o: o.assign(account_id=o["account_id"].where(o.index != 77, "NOBODY"))),
])
def test_broken_data_gives_the_pandas_engines_contract_error(spark, trained_run, small_data_dir, as_of, tmp_path,
                                                             name, change) -> None:
    data = _broken(small_data_dir, tmp_path, name, change)
    code, _, pandas_err = _recommend(data, tmp_path / "a.parquet", trained_run.model_uri, as_of.date())
    assert code == 1 and "does not match the contract" in pandas_err
    code, _, spark_err = _recommend(data, tmp_path / "b.parquet", trained_run.model_uri, as_of.date(),
                                    "--engine", "spark")
    assert code == 1
    # The same problems, rows and wording; a whole number may show as 3 or 3.0.
    assert _whole(spark_err) == _whole(pandas_err), f"spark:\n{spark_err}\npandas:\n{pandas_err}"
    assert not (tmp_path / "b.parquet").exists()


def test_bad_options_are_refused_before_spark_runs(trained_run, small_data_dir, tmp_path) -> None:
    code, _, err = _recommend(small_data_dir, tmp_path / "x.parquet", trained_run.model_uri, "yesterday-ish",
                              "--engine", "spark")
    assert code == 1 and "--as-of 'yesterday-ish': expected an ISO 8601 date" in err
    code, _, err = _recommend(small_data_dir, tmp_path / "x.csv", trained_run.model_uri, "2025-07-01",
                              "--engine", "spark")
    assert code == 1 and "--engine spark writes Parquet" in err
    code, _, err = _recommend(small_data_dir, tmp_path / "x.parquet", trained_run.model_uri, "2025-07-01",
                              "--engine", "dask")
    assert code == 1 and "--engine dask: expected pandas or spark" in err
