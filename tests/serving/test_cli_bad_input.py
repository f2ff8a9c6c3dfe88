"""Malformed data directories through the command line.

For every case of ``tests.bad_inputs.CASES``, ``symbiose validate``, ``train`` and
``recommend`` must exit non-zero, name the table, column and rows on stderr, and leave nothing
behind: no recommendations file (nor its temp file) and no new MLflow run or model version.
The commands run in-process (``serving.cli.main``) against the test run's own MLflow store.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repository root, for tests.bad_inputs

from serving.cli import main  # noqa: E402
from tests.bad_inputs import (  # noqa: E402
    CASES,
    BadCase,
    combine,
    convert_to_parquet,
    set_cell,
    write_valid_directory,
)

AS_OF = "2025-07-01"
MODEL_NAME = "symbiose-nba"
#: Cases also run with every table as Parquet: one per kind of fault.
PARQUET_CASES = ("missing_column_region", "net_amount_not_a_number", "unparseable_touch_timestamp",
                 "duplicate_account_id", "unknown_account_in_orders", "negative_touch_discount",
                 "unknown_offer_channel", "garbage_parquet", "policy_window_zero")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CliResult(NamedTuple):
    code: int | str | None
    stdout: str
    stderr: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run ``symbiose ARGS`` in-process; stdout and stderr with ANSI codes removed and
    whitespace collapsed (the console wraps long lines at its width)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return CliResult(exited.value.code, _flat(captured.out), _flat(captured.err))


def _flat(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


class RegistryCounts(NamedTuple):
    versions: int
    runs: int


def registry_counts() -> RegistryCounts:
    """Registered versions of symbiose-nba and MLflow runs in the test run's store."""
    from mlflow.tracking import MlflowClient

    from models.registry import EXPERIMENT_NAME, configure_tracking

    configure_tracking()
    client = MlflowClient()
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    runs = [] if experiment is None else client.search_runs([experiment.experiment_id],
                                                            max_results=1000)
    return RegistryCounts(len(versions), len(runs))


def broken_directory(root: Path, case: BadCase, fmt: str) -> Path:
    directory = write_valid_directory(root / f"{case.case_id}-{fmt}")
    case.mutate(directory)
    if fmt == "parquet":
        convert_to_parquet(directory)
    return directory


def assert_names_the_fault(stderr: str, case: BadCase) -> None:
    """stderr says which table, column and rows, and what was expected."""
    assert "error:" in stderr
    where = case.table if case.column is None else f"{case.table}.{case.column}"
    assert re.search(rf"(?<![\w.]){re.escape(where)}:", stderr), (where, stderr)
    if case.rows:
        noun = "data row" if len(case.rows) == 1 else "data rows"
        assert f"{noun} {', '.join(map(str, case.rows))}" in stderr, stderr
    assert "expected" in stderr


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _params() -> list[object]:
    by_id = {case.case_id: case for case in CASES}
    csv = [pytest.param(case, "csv", id=f"csv-{case.case_id}") for case in CASES]
    parquet = [pytest.param(by_id[i], "parquet", id=f"parquet-{i}") for i in PARQUET_CASES]
    return [*csv, *parquet]


CASE_PARAMS = _params()


def test_parquet_cases_exist_in_the_case_table() -> None:
    ids = {case.case_id for case in CASES}
    assert set(PARQUET_CASES) <= ids
    assert len(CASES) >= 50


@pytest.mark.parametrize(("case", "fmt"), CASE_PARAMS)
def test_validate_rejects_bad_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        case: BadCase, fmt: str) -> None:
    directory = broken_directory(tmp_path, case, fmt)
    before = _files(directory)

    result = run_cli(capsys, "validate", "--data", str(directory))

    assert result.code not in (0, None)
    assert_names_the_fault(result.stderr, case)
    assert "ok" not in result.stdout.split()
    assert _files(directory) == before


@pytest.mark.parametrize(("case", "fmt"), CASE_PARAMS)
def test_train_rejects_bad_directory_and_registers_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], symbiose_home: Path,
        case: BadCase, fmt: str) -> None:
    directory = broken_directory(tmp_path, case, fmt)
    before_files = _files(directory)
    before = registry_counts()

    result = run_cli(capsys, "train", "--data", str(directory), "--as-of", AS_OF)

    assert result.code not in (0, None)
    assert_names_the_fault(result.stderr, case)
    assert registry_counts() == before
    assert _files(directory) == before_files


@pytest.mark.parametrize(("case", "fmt"), CASE_PARAMS)
def test_recommend_rejects_bad_directory_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run, case: BadCase,
        fmt: str) -> None:
    assert trained_run.model_version is not None  # a model exists: a failure is the data's
    directory = broken_directory(tmp_path, case, fmt)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = registry_counts()

    result = run_cli(capsys, "recommend", "--data", str(directory), "--as-of", AS_OF,
                     "--out", str(out_dir / "recs.csv"))

    assert result.code not in (0, None)
    assert_names_the_fault(result.stderr, case)
    assert list(out_dir.iterdir()) == []
    assert registry_counts() == before


def test_recommend_on_the_valid_directory_succeeds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run) -> None:
    """The control for the cases above: unmutated, the same directory gives recommendations."""
    directory = write_valid_directory(tmp_path / "valid")
    out = tmp_path / "out" / "recs.csv"

    result = run_cli(capsys, "recommend", "--data", str(directory), "--as-of", AS_OF,
                     "--out", str(out), "--model", f"models:/{trained_run.model_version}")

    assert result.code == 0, result.stderr
    recs = pd.read_csv(out, dtype={"account_id": "str"}, keep_default_na=False, na_values=[""])
    assert set(recs["account_id"]) == {"007", "A2", "A3", "A4"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["recs.csv", "recs.csv.meta.json"]


def test_validate_reports_problems_of_several_files_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_valid_directory(tmp_path / "many")
    combine(set_cell("orders", 2, "net_amount", "-5"),
            set_cell("touches", 2, "channel", "fax"),
            set_cell("accounts", 1, "consent_email", "maybe"))(directory)

    result = run_cli(capsys, "validate", "--data", str(directory))

    assert result.code not in (0, None)
    assert "3 problem(s)" in result.stderr
    for where, row in (("orders.net_amount", 2), ("touches.channel", 2),
                       ("accounts.consent_email", 1)):
        assert f"{where}: data row {row}" in result.stderr


@pytest.mark.parametrize("command", ["validate", "train", "recommend"])
def test_missing_or_file_data_path_fails_cleanly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], symbiose_home: Path,
        command: str) -> None:
    not_a_dir = tmp_path / "accounts.csv"
    not_a_dir.write_text("account_id,region\nA1,North\n", encoding="utf-8")
    extra = ["--out", str(tmp_path / "out" / "recs.csv")] if command == "recommend" else []
    for data in (tmp_path / "nowhere", not_a_dir):
        result = run_cli(capsys, command, "--data", str(data), *extra)
        assert result.code not in (0, None)
        assert "error:" in result.stderr and "--data" in result.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_console_command_exits_non_zero_with_the_fault_on_stderr(tmp_path: Path) -> None:
    """The installed ``symbiose`` command (or ``python -m serving.cli``) in its own process."""
    case = next(c for c in CASES if c.case_id == "duplicate_account_id")
    directory = broken_directory(tmp_path, case, "csv")
    script = Path(sys.executable).with_name("symbiose")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "serving.cli"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}

    done = subprocess.run([*command, "validate", "--data", str(directory)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert_names_the_fault(_flat(done.stderr), case)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
