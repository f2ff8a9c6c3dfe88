"""``symbiose evaluate``: printed tables, report files, logging to the model's run, clean failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from serving.cli.evaluate import register
from tests.serving.cli_helpers import command_app, invoke


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return command_app(register)


def run(app: typer.Typer, *args: object) -> tuple[int, str, str]:
    return invoke(app, ["evaluate", *args])


def test_evaluates_writes_the_report_and_logs_it(app: typer.Typer, trained_run, small_data_dir: Path,
                                                 tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    out = tmp_path / "report"
    code, stdout, err = run(app, "--data", small_data_dir, "--model", trained_run.model_uri, "--out", out,
                            "--boots", 20, "--max-decisions", 150)
    assert code == 0, err
    for text in ("auc", "calibration_error", "holdout_decisions", "model", "logging", "random",
                 "best_single", "best single action:", "model minus none", "logged to run"):
        assert text in stdout, text
    assert " ".join(stdout.split()).count("Verdict on 150 held-out decisions: the policy ") == 1, stdout
    html = (out / "report.html").read_text()
    assert trained_run.model_version in html and "data:image/png;base64," in html
    assert (out / "reliability.png").exists() and (out / "policy_values.png").exists()
    run_data = MlflowClient().get_run(trained_run.run_id).data
    assert run_data.metrics["eval_holdout_decisions"] == 150
    assert run_data.tags["evaluation_report"] == "evaluation/report.html"


def test_missing_data_directory_fails_cleanly(app: typer.Typer, trained_run, tmp_path: Path) -> None:
    code, _, err = run(app, "--data", tmp_path / "nowhere", "--model", trained_run.model_uri,
                       "--out", tmp_path / "out")
    assert code == 1 and "no such directory" in err
    assert not (tmp_path / "out").exists()


def test_unknown_model_fails_cleanly(app: typer.Typer, trained_run, small_data_dir: Path,
                                     tmp_path: Path) -> None:
    code, _, err = run(app, "--data", small_data_dir, "--model", "models:/symbiose-nba/999",
                       "--out", tmp_path / "out")
    assert code == 1 and "models:/symbiose-nba/999" in err and "cannot load it" in err


@pytest.mark.parametrize(("args", "message"), [
    (("--holdout-from", "2025-03-01"), "--holdout-from and --holdout-to go together"),
    (("--as-of", "yesterday-ish"), "--as-of 'yesterday-ish': expected an ISO 8601 date"),
    (("--holdout-from", "2025-05-01", "--holdout-to", "2025-04-01"),
     "expected holdout_from < holdout_to <= as_of"),
])
def test_bad_options_fail_with_a_clear_message(app: typer.Typer, trained_run, small_data_dir: Path,
                                               tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(app, "--data", small_data_dir, "--model", trained_run.model_uri, *args)
    assert code == 1 and message in err, err
