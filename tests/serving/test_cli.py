"""The ``symbiose`` command line on good input: generate, validate, train, recommend.

Commands run in-process (``serving.cli.main``) against the test run's own MLflow store
(``symbiose_home``). One small generated directory is trained on once per module; the
recommendations files are checked against docs/data-contract.md §3.
"""

from __future__ import annotations

import io
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from serving.cli import main

AS_OF = "2025-07-01"
MODEL_NAME = "symbiose-nba"
N_ACCOUNTS = 150
SEED = 11
#: Contract §3: the recommendations file starts with exactly these columns, in this order.
CONTRACT_COLUMNS = ["account_id", "rank", "channel", "offer_id", "discount_pct", "p_convert",
                    "p_convert_baseline", "expected_incremental_margin", "executed_by", "rep_id",
                    "reasons", "model_version"]
TEXT_COLUMNS = {"account_id": "str", "offer_id": "str", "rep_id": "str", "channel": "str",
                "executed_by": "str", "reasons": "str", "model_version": "str"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CliResult(NamedTuple):
    code: int | str | None
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """Run ``symbiose ARGS`` in-process; output without ANSI codes, whitespace collapsed
    (the console wraps long lines at its width)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main([str(a) for a in args])
    return CliResult(exited.value.code, _flat(out.getvalue()), _flat(err.getvalue()))


def _flat(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def registered_versions() -> list[int]:
    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking

    configure_tracking()
    return sorted(int(v.version) for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"))


def read_recommendations(path: Path) -> pd.DataFrame:
    """A recommendations file as written: ids as text, empty cells as nulls."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=TEXT_COLUMNS, keep_default_na=False, na_values=[""])


def check_recommendations(recs: pd.DataFrame, account_ids: pd.Series, top_k: int,
                          channels: list[str]) -> None:
    """Every rule docs/data-contract.md §3 (and §2 on ranking) states for a recommendations file."""
    assert list(recs.columns[:len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert not recs.empty
    assert set(recs["account_id"]) == set(account_ids.astype(str))

    ranks = recs.groupby("account_id")["rank"]
    assert (recs["rank"] >= 1).all()
    assert ranks.min().eq(1).all()
    assert ranks.max().eq(ranks.size()).all() and ranks.nunique().eq(ranks.size()).all()
    assert ranks.size().le(top_k).all()

    assert set(recs["channel"]) <= {*channels, "none"}
    none = recs["channel"] == "none"
    assert recs.loc[none, "offer_id"].isna().all()
    assert (recs.loc[none, "discount_pct"] == 0).all()
    assert (recs.loc[none, "expected_incremental_margin"] == 0).all()
    assert recs.loc[~none, "offer_id"].notna().all()
    assert (recs["discount_pct"].between(0, 100)).all()

    margin = recs["expected_incremental_margin"]
    assert np.isfinite(margin.to_numpy(dtype=float)).all()
    assert (margin[recs["rank"] == 1] >= 0).all()
    ordered = recs.sort_values(["account_id", "rank"])
    step = ordered.groupby("account_id")["expected_incremental_margin"].diff().dropna()
    assert (step <= 1e-9).all(), "suggestions must be ranked by expected incremental margin"

    for column in ("p_convert", "p_convert_baseline"):
        assert recs[column].notna().all()
        assert recs[column].between(0, 1).all()
    assert recs["executed_by"].dropna().isin(["rep", "marketing"]).all()
    reasons = recs["reasons"]
    assert reasons.map(lambda r: isinstance(r, str) and r.strip() != "").all()
    assert recs["model_version"].str.fullmatch(rf"{MODEL_NAME}/\d+").all()


# ---------------------------------------------------------------- fixtures


class Generated(NamedTuple):
    data_dir: Path
    truth: Path
    result: CliResult


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("cli-generate")
    data_dir = root / "data"
    result = run_cli("generate", "--out", data_dir, "--accounts", N_ACCOUNTS, "--seed", SEED)
    return Generated(data_dir, root / "data.truth.parquet", result)


class Trained(NamedTuple):
    result: CliResult
    version: str
    versions_before: list[int]
    versions_after: list[int]


@pytest.fixture(scope="module")
def cli_trained(symbiose_home: Path, generated: Generated, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """``train`` with a configuration file and ``--learner`` on top of it."""
    config = tmp_path_factory.mktemp("cli-config") / "training.yaml"
    config.write_text("learner: auto\nshrinkage_strength: 40\n", encoding="utf-8")
    before = registered_versions()
    result = run_cli("train", "--data", generated.data_dir, "--config", config, "--learner", "s")
    found = re.search(rf"model ({MODEL_NAME}/\d+)", result.stdout)
    return Trained(result, found.group(1) if found else "", before, registered_versions())


@pytest.fixture(scope="module")
def accounts(generated: Generated) -> pd.DataFrame:
    return pd.read_csv(generated.data_dir / "accounts.csv", dtype="str", keep_default_na=False)


@pytest.fixture(scope="module")
def channels(generated: Generated) -> list[str]:
    from features.policy import load_policy

    return list(load_policy(generated.data_dir / "policy.yaml").channel_names)


# ---------------------------------------------------------------- generate and validate


def test_generate_writes_data_directory_and_truth_outside_it(generated: Generated) -> None:
    assert generated.result.code == 0, generated.result.stderr
    files = {p.name for p in generated.data_dir.iterdir()}
    assert {"accounts.csv", "offers.csv", "orders.csv", "touches.csv", "policy.yaml"} <= files
    assert not [name for name in files if "truth" in name or name.startswith(".")]
    assert generated.truth.is_file()
    assert not generated.truth.resolve().is_relative_to(generated.data_dir.resolve())
    assert len(pd.read_parquet(generated.truth)) > 0
    accounts = pd.read_csv(generated.data_dir / "accounts.csv", dtype="str")
    assert len(accounts) == N_ACCOUNTS
    assert f"{N_ACCOUNTS:,} accounts" in generated.result.stdout


def test_generate_is_deterministic(tmp_path: Path, generated: Generated) -> None:
    again = tmp_path / "again"
    result = run_cli("generate", "--out", again, "--accounts", N_ACCOUNTS, "--seed", SEED)

    assert result.code == 0, result.stderr
    names = sorted(p.name for p in generated.data_dir.iterdir())
    assert sorted(p.name for p in again.iterdir()) == names
    for name in names:
        assert (again / name).read_bytes() == (generated.data_dir / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again.truth.parquet"),
                                  pd.read_parquet(generated.truth))


def test_generate_refuses_truth_inside_the_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_cli("generate", "--out", data_dir, "--accounts", 50,
                     "--truth", data_dir / "truth.parquet")

    assert result.code not in (0, None)
    assert "error:" in result.stderr and "truth" in result.stderr
    assert not (data_dir / "truth.parquet").exists()


def test_validate_accepts_generated_directory(generated: Generated) -> None:
    result = run_cli("validate", "--data", generated.data_dir)

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("ok ")
    assert f"{N_ACCOUNTS:,} accounts" in result.stdout
    assert result.stderr == ""


# ---------------------------------------------------------------- train


def test_train_prints_the_effective_configuration_and_a_verdict(cli_trained: Trained) -> None:
    out = cli_trained.result.stdout
    assert cli_trained.result.code == 0, cli_trained.result.stderr
    assert "learner=s," in out, out  # --learner wins over the file's learner: auto
    assert "shrinkage_strength=40.0" in out or "shrinkage_strength=40," in out, out
    assert re.search(r"Verdict on [\d,]+ held-out decisions: the policy ", out), out
    assert "sample_accounts=20000," in out and f"trained on all {N_ACCOUNTS:,} accounts" in out, out


def test_train_reports_each_of_its_steps(cli_trained: Trained) -> None:
    from models.tracking import TRAIN_STEPS

    out = cli_trained.result.stdout
    positions = [out.index(f"step {i + 1}/{len(TRAIN_STEPS)}: {text}") for i, text in enumerate(TRAIN_STEPS)]
    assert positions == sorted(positions), out


def test_train_on_a_sample_of_accounts_prints_and_logs_both_sizes(symbiose_home: Path, generated: Generated) -> None:
    result = run_cli("train", "--data", generated.data_dir, "--sample-accounts", 100)

    assert result.code == 0, result.stderr
    assert "sample_accounts=100," in result.stdout
    assert re.search(rf"trained on a stratified sample of 100 of {N_ACCOUNTS:,} accounts \(\d+ strata by "
                     r"region, segment, ordered, touched; seed 0\)", result.stdout), result.stdout

    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking, ensure_experiment

    configure_tracking()
    run = MlflowClient().search_runs([ensure_experiment()], "attributes.run_name LIKE 'train as of%'",
                                     order_by=["attributes.start_time DESC"], max_results=1)[0]
    params = run.data.params
    assert (params["sample_accounts"], params["accounts_sampled"], params["accounts_total"]) == \
        ("100", "100", str(N_ACCOUNTS))
    assert params["data_accounts_sampled"] == "100.0"


def test_train_rejects_a_sample_of_no_accounts(generated: Generated) -> None:
    result = run_cli("train", "--data", generated.data_dir, "--sample-accounts", 0)

    assert result.code != 0
    assert "--sample-accounts" in result.stderr, result.stderr


def test_train_auto_prints_the_selection_table(symbiose_home: Path, generated: Generated, tmp_path: Path) -> None:
    config = tmp_path / "auto.yaml"
    config.write_text("learner: auto\ncandidates: [s]\nselection_folds: 2\n", encoding="utf-8")
    result = run_cli("train", "--data", generated.data_dir, "--config", config)

    assert result.code == 0, result.stderr
    assert "learner=auto," in result.stdout
    table = result.stdout.split("held-out logged decisions", 1)[-1]
    for policy in ("none", "best_single", " s "):
        assert policy in table, result.stdout
    found = re.search(r"chosen: (none|best_single|s) ", result.stdout)
    assert found, result.stdout

    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking, ensure_experiment

    configure_tracking()
    client = MlflowClient()
    run = client.search_runs([ensure_experiment()], "attributes.run_name LIKE 'train as of%'",
                             order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert run.data.tags["learner_selection"] == found.group(1)
    assert run.data.params["learner"] == "auto" and run.data.params["calibration"] == "effect"
    assert run.data.params["candidates"] == "s"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "selection")}
    assert {"selection/selection.txt", "selection/selection.json"} <= artifacts
    text = Path(client.download_artifacts(run.info.run_id, "selection/selection.txt")).read_text(encoding="utf-8")
    assert f"chosen: {found.group(1)} " in text


@pytest.mark.parametrize(("text", "expected"), [
    ("learnr: s\n", "unknown key(s) 'learnr'; allowed: validation_share,"),
    ("learner: forest\n", "learner must be one of"),
    ("- s\n", "expected a mapping of TrainingConfig fields"),
])
def test_train_rejects_a_bad_configuration_file(tmp_path: Path, generated: Generated, text: str,
                                                expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    before = registered_versions()
    result = run_cli("train", "--data", generated.data_dir, "--config", config)

    assert result.code == 1
    assert expected in result.stderr, result.stderr
    assert registered_versions() == before


def test_train_rejects_an_unknown_learner(generated: Generated) -> None:
    result = run_cli("train", "--data", generated.data_dir, "--learner", "forest")

    assert result.code == 1
    assert "learner must be one of s, x, r, dr, t, auto" in result.stderr, result.stderr


def test_generate_rejects_an_unknown_world(tmp_path: Path) -> None:
    result = run_cli("generate", "--out", tmp_path / "data", "--accounts", 50, "--world", "moon")

    assert result.code == 1
    assert "--world 'moon': expected one of wholesaler" in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()


def test_generate_writes_the_chosen_world(tmp_path: Path) -> None:
    result = run_cli("generate", "--out", tmp_path / "data", "--accounts", 60, "--seed", 1, "--world", "thin")

    assert result.code == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "data" / "accounts.csv", dtype="str")) == 60


def test_train_registers_one_new_version_and_prints_it(cli_trained: Trained) -> None:
    assert cli_trained.result.code == 0, cli_trained.result.stderr
    assert cli_trained.version, cli_trained.result.stdout
    number = int(cli_trained.version.rsplit("/", 1)[1])
    assert cli_trained.versions_after == [*cli_trained.versions_before, number]
    assert "valid_auc" in cli_trained.result.stdout


# ---------------------------------------------------------------- recommend


def test_recommend_writes_csv_meeting_the_contract(
        tmp_path: Path, generated: Generated, cli_trained: Trained, accounts: pd.DataFrame,
        channels: list[str]) -> None:
    out = tmp_path / "out" / "recs.csv"
    result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF, "--out", out)

    assert result.code == 0, result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["recs.csv", "recs.csv.meta.json"]
    recs = read_recommendations(out)
    check_recommendations(recs, accounts["account_id"], top_k=3, channels=channels)
    assert recs["model_version"].nunique() == 1
    assert recs["model_version"].iloc[0] in result.stdout
    assert f"{N_ACCOUNTS:,} accounts" in result.stdout


def test_recommend_writes_parquet_with_a_given_model_version(
        tmp_path: Path, generated: Generated, cli_trained: Trained, accounts: pd.DataFrame,
        channels: list[str]) -> None:
    out = tmp_path / "recs.parquet"
    result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF, "--out", out,
                     "--model", f"models:/{MODEL_NAME}/1")

    assert result.code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recs.parquet", "recs.parquet.meta.json"]
    recs = read_recommendations(out)
    check_recommendations(recs, accounts["account_id"], top_k=3, channels=channels)
    assert (recs["model_version"] == f"{MODEL_NAME}/1").all()
    assert pd.api.types.is_integer_dtype(recs["rank"])
    assert pd.api.types.is_string_dtype(recs["account_id"])


def test_recommend_top_k_one_gives_one_row_per_account(
        tmp_path: Path, generated: Generated, cli_trained: Trained, accounts: pd.DataFrame,
        channels: list[str]) -> None:
    out = tmp_path / "top1.csv"
    result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF, "--out", out,
                     "--top-k", 1, "--model", f"models:/{cli_trained.version}")

    assert result.code == 0, result.stderr
    recs = read_recommendations(out)
    check_recommendations(recs, accounts["account_id"], top_k=1, channels=channels)
    assert len(recs) == N_ACCOUNTS
    assert (recs["rank"] == 1).all()
    assert (recs["model_version"] == cli_trained.version).all()


def test_recommend_in_one_process_writes_what_the_workers_write(
        tmp_path: Path, generated: Generated, cli_trained: Trained) -> None:
    files = {}
    for workers in ("1", "2"):
        files[workers] = tmp_path / f"recs-{workers}.parquet"
        result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF, "--out", files[workers],
                         "--workers", workers)
        assert result.code == 0, result.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(files["1"]), pd.read_parquet(files["2"]), check_exact=True)
    result = run_cli("recommend", "--data", generated.data_dir, "--out", tmp_path / "spark.parquet",
                     "--engine", "spark", "--workers", "2")
    assert result.code != 0
    assert "--workers: only with --engine pandas" in result.stderr + result.stdout


@pytest.mark.parametrize("model", [
    pytest.param(f"models:/{MODEL_NAME}/999", id="unknown-version"),
    pytest.param(f"models:/{MODEL_NAME}@no-such-alias", id="unknown-alias"),
    pytest.param("models:/no-such-model/1", id="unknown-name"),
    pytest.param(f"models:/{MODEL_NAME}", id="no-version"),
    pytest.param("{tmp_path}/no-such-model", id="missing-local-path"),
])
def test_recommend_with_unknown_model_fails_cleanly(
        tmp_path: Path, generated: Generated, cli_trained: Trained, model: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF,
                     "--out", out_dir / "recs.csv", "--model", model.format(tmp_path=tmp_path))

    assert result.code not in (0, None)
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["recs.txt", "recs", "recs.csv.gz", "recs.xlsx"])
def test_recommend_with_bad_output_extension_fails_before_any_work(
        tmp_path: Path, symbiose_home: Path, name: str) -> None:
    out_dir = tmp_path / "out"
    # Neither the data directory nor the model exists: only the extension check can speak first.
    result = run_cli("recommend", "--data", tmp_path / "no-data", "--as-of", AS_OF,
                     "--out", out_dir / name, "--model", f"models:/{MODEL_NAME}/999")

    assert result.code not in (0, None)
    assert ".csv or .parquet" in result.stderr
    assert "--data" not in result.stderr
    assert not out_dir.exists()


def test_recommend_for_accounts_the_model_never_saw(
        tmp_path: Path, generated: Generated, trained_run, accounts: pd.DataFrame,
        channels: list[str]) -> None:
    """A directory with only new accounts, the catalog and the policy; no history at all."""
    data_dir = tmp_path / "new"
    data_dir.mkdir()
    fresh = accounts.head(40).copy()
    fresh["account_id"] = [f"NEW-{i:03d}" for i in range(1, len(fresh) + 1)]
    fresh.to_csv(data_dir / "accounts.csv", index=False)
    for name in ("offers.csv", "reps.csv", "policy.yaml"):
        shutil.copy(generated.data_dir / name, data_dir / name)
    for name in ("orders.csv", "touches.csv"):
        header = (generated.data_dir / name).read_text(encoding="utf-8").splitlines()[0]
        (data_dir / name).write_text(header + "\n", encoding="utf-8")
    assert run_cli("validate", "--data", data_dir).code == 0

    out = tmp_path / "recs.csv"
    result = run_cli("recommend", "--data", data_dir, "--as-of", AS_OF, "--out", out,
                     "--model", f"models:/{trained_run.model_version}")

    assert result.code == 0, result.stderr
    recs = read_recommendations(out)
    check_recommendations(recs, fresh["account_id"], top_k=3, channels=channels)
    assert (recs["model_version"] == trained_run.model_version).all()


def test_recommend_accepts_the_model_uri_training_returns(
        tmp_path: Path, generated: Generated, trained_run) -> None:
    """``train_and_log`` returns the logged model's URI (``models:/m-...``); --model takes it."""
    out = tmp_path / "recs.csv"
    result = run_cli("recommend", "--data", generated.data_dir, "--as-of", AS_OF, "--out", out,
                     "--top-k", 1, "--model", trained_run.model_uri)

    assert result.code == 0, result.stderr
    assert read_recommendations(out)["account_id"].nunique() == N_ACCOUNTS
