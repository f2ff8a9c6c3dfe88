"""``symbiose campaign plan`` and ``report``: export file, stored campaign, clean failures."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import typer

from serving.cli.campaigns import parse_assignments, register
from tests.serving.cli_helpers import command_app, invoke


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return command_app(register)


def run(app: typer.Typer, env: dict[str, str], *args: object) -> tuple[int, str, str]:
    return invoke(app, ["campaign", *args], env)


def test_plan_then_report(app, trained_run, small_data_dir, tmp_path) -> None:
    env = {"SYMBIOSE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    out = tmp_path / "spring.csv"
    code, stdout, stderr = run(app, env, "plan", "--data", small_data_dir, "--as-of", "2025-07-01",
                               "--name", "spring", "--budget", "50", "--channel-budget", "email=10",
                               "--holdout", "0.1", "--seed", "3", "--out", out, "--sep", ";", "--excel-bom")
    assert code == 0, stderr
    assert "MILP (HiGHS), gap" in stdout and "held out (10" in stdout
    exported = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig")
    raw = out.read_text(encoding="utf-8-sig")
    assert "." not in raw.splitlines()[1].split(";")[6]  # decimal comma for German spreadsheets
    assert all(len(v.split(",")[-1]) <= 4 for v in raw.splitlines()[1].split(";")[5:7])  # rounded, not 17 digits
    assert {"member_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
            "expected_incremental_margin", "executed_by", "rep_id"} <= set(exported.columns)
    assert exported.loc[exported["channel"] == "email"].shape[0] * 0.5 <= 10.0
    assert not exported["account_id"].duplicated().any()

    code, _stdout, stderr = run(app, env, "plan", "--data", small_data_dir, "--as-of", "2025-07-01",
                                "--name", "spring", "--out", tmp_path / "again.csv")
    assert code == 1 and "a campaign named 'spring' already exists" in stderr
    assert not (tmp_path / "again.csv").exists()

    plot = tmp_path / "spring.png"
    code, stdout, stderr = run(app, env, "report", "spring", "--data", small_data_dir, "--plot", plot,
                               "--out", tmp_path / "report.csv")
    assert code == 0, stderr
    assert "INCOMPLETE" in stdout  # no orders after the as-of yet
    assert plot.read_bytes().startswith(b"\x89PNG")
    rows = pd.read_csv(tmp_path / "report.csv")
    assert rows.loc[0, "group"] == "all" and rows.loc[0, "contacted"] == len(exported)


def test_report_without_plot_writes_no_file_and_never_prints_nan(app, trained_run, small_data_dir, tmp_path,
                                                                  monkeypatch) -> None:
    env = {"SYMBIOSE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    code, _stdout, stderr = run(app, env, "plan", "--data", small_data_dir, "--as-of", "2025-03-01",
                                "--name", "small offers", "--holdout", "0.1", "--seed", "5",
                                "--out", tmp_path / "small.csv")
    assert code == 0, stderr
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    code, stdout, stderr = run(app, env, "report", "small offers", "--data", small_data_dir)
    assert code == 0, stderr
    assert list(work.iterdir()) == []  # no PNG unless --plot asks for one
    assert "wrote" not in stdout
    assert "nan" not in stdout.lower()
    assert "not measurable" in stdout  # some offer has fewer than two held-out accounts: shown as –


def test_list_and_cancel(app, trained_run, small_data_dir, tmp_path) -> None:
    env = {"SYMBIOSE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    code, _stdout, stderr = run(app, env, "plan", "--data", small_data_dir, "--as-of", "2025-01-15",
                                "--name", "winter", "--max-accounts", "10", "--out", tmp_path / "winter.csv")
    assert code == 0, stderr
    code, stdout, _stderr = run(app, env, "list")
    assert code == 0 and "winter" in stdout and "active" in stdout
    code, stdout, stderr = run(app, env, "cancel", "winter")
    assert code == 0 and "campaign winter" in stdout and " cancelled at " in stdout, stderr
    code, stdout, _stderr = run(app, env, "cancel", "winter")
    assert code == 0 and "was already cancelled" in stdout
    code, stdout, _stderr = run(app, env, "list")
    assert re.search(r"winter \([0-9a-f]+\): cancelled 20\d\d-\d\d-\d\d;", stdout), stdout
    code, _stdout, stderr = run(app, env, "cancel", "nope")
    assert code == 1 and "no campaign named 'nope'" in stderr


def test_unknown_campaign_and_bad_options_fail_clearly(app, small_data_dir, tmp_path) -> None:
    env = {"SYMBIOSE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    code, _out, stderr = run(app, env, "report", "nope", "--data", small_data_dir)
    assert code == 1 and "no campaign named 'nope'" in stderr
    code, _out, stderr = run(app, env, "plan", "--data", small_data_dir, "--name", "x", "--out",
                             tmp_path / "x.txt")
    assert code == 1 and "expected a file ending in .csv or .parquet" in stderr
    code, _out, stderr = run(app, env, "plan", "--data", small_data_dir, "--name", "x", "--out",
                             tmp_path / "x.csv", "--sep", "|")
    assert code == 1 and "--sep '|': expected ',' or ';'" in stderr


def test_parse_assignments() -> None:
    assert parse_assignments(["email=10", "phone = 2.5"], "--channel-budget", float) == {"email": 10.0, "phone": 2.5}
    with pytest.raises(ValueError, match="--offer-limit 'OF1': expected NAME=N"):
        parse_assignments(["OF1"], "--offer-limit", int)
