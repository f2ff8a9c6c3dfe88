"""``symbiose monitor``: exit code 3 on drift, 0 without, the report file, metrics on the model's run."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.dataset import write_dataset
from serving.cli import app
from tests.monitoring_worlds import later_worlds, write_decisions  # noqa: F401 (fixture)
from tests.serving.cli_helpers import invoke


@pytest.fixture(scope="module")
def directories(later_worlds, tmp_path_factory) -> dict[str, tuple[Path, str]]:  # noqa: F811
    """(data directory, database URL with the decision log) of the stable and the drifted world."""
    root = tmp_path_factory.mktemp("monitor-cli")
    out = {}
    for name, world, decisions in (("stable", later_worlds.stable, later_worlds.stable_decisions),
                                   ("drifted", later_worlds.drifted, later_worlds.drifted_decisions)):
        data = write_dataset(world, root / name, "parquet")
        url = f"sqlite:///{root / f'{name}.db'}"
        ids = decisions["suggestion_id"].tolist()
        statuses = ["accepted"] * 50 + ["dismissed"] * 20 + ["done"] * 30
        write_decisions(url, decisions, dict(zip(ids, statuses, strict=False)))
        out[name] = (data, url)
    return out


def run(directory: tuple[Path, str], *args: object) -> tuple[int, str, str]:
    data, url = directory
    return invoke(app, ["monitor", "--data", data, *args], env={"SYMBIOSE_DATABASE_URL": url}, columns=200)


def test_no_drift_exits_0_and_writes_the_report(directories, later_worlds, trained_run, tmp_path):  # noqa: F811
    out = tmp_path / "report"
    code, stdout, err = run(directories["stable"], "--model", trained_run.model_uri, "--out", out, "--no-log")
    assert code == 0, stdout + err
    for text in ("feature stability", "prediction stability: rank1_p_convert", "calibration: phone",
                 "reference: the training data", "wrote"):
        assert text in stdout, text
    assert "verdict: drift" not in stdout
    # Feedback on 100 of the logged suggestions: 50 accepted, 20 dismissed, 30 done; accepted
    # counts the done ones too (taken on, as in the scoreboard's funnel).
    n = len(later_worlds.stable_decisions)
    row = f"{trained_run.model_version} {n:,} 100 {80 / n:.1%} {20 / n:.1%} {30 / n:.1%}"
    assert row in " ".join(stdout.replace("│", " ").split()), stdout
    html = (out / "monitor.html").read_text(encoding="utf-8")
    assert trained_run.model_version in html and "data:image/png;base64," in html


def test_drift_exits_3_and_logs_metrics_to_the_models_run(directories, trained_run, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    before = len(client.get_metric_history(trained_run.run_id, "monitor/psi_max"))
    code, stdout, err = run(directories["drifted"], "--model", trained_run.model_uri, "--out", tmp_path / "r")
    assert code == 3, stdout + err
    assert "verdict: drift" in stdout, stdout
    assert "online_share_90d" in stdout, stdout
    assert "online_share_90d" in (tmp_path / "r" / "monitor.html").read_text(encoding="utf-8")
    assert f"logged to run {trained_run.run_id}" in stdout
    history = client.get_metric_history(trained_run.run_id, "monitor/psi_max")
    assert len(history) == before + 1 and history[-1].value > 0.2
    assert client.get_metric_history(trained_run.run_id, "monitor/checks_drift")[-1].value >= 2
    assert (tmp_path / "r" / "monitor.html").exists()


def test_errors_keep_their_exit_codes(directories, trained_run, tmp_path):
    code, _, err = run((tmp_path / "missing", directories["stable"][1]), "--model", trained_run.model_uri)
    assert code == 1 and "no such directory" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "accounts.csv").write_text("account_id\nA1\n")
    code, _, err = run((bad, directories["stable"][1]), "--model", trained_run.model_uri)
    assert code == 1 and "does not match the contract" in err
    afile = tmp_path / "file"
    afile.write_text("x")
    code, _, err = run(directories["stable"], "--model", trained_run.model_uri, "--out", afile, "--no-log")
    assert code == 1 and "expected a directory" in err
