"""``symbiose promote`` and ``symbiose rollback`` in-process, on a registry of their own, with a
stand-in evaluator (the commands take the evaluator as a parameter of ``register``)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import typer

from models.promotion import Evaluator
from models.registry import (
    MODEL_NAME,
    champion_version,
    register_challenger,
    version_tags,
)
from serving.cli import main
from serving.cli.promotion import REFUSED_EXIT_CODE, register
from tests.registry_fixtures import add_version, model_source, separate_registry

GOOD = {"auc": 0.70, "log_loss": 0.40, "calibration_error": 0.010, "dr_policy_value": 12.0,
        "dr_policy_value_low": 10.0, "dr_policy_value_high": 14.0, "snips_policy_value": 11.5,
        "holdout_decisions": 1500, "dr_policy_gain_vs_none": 3.0, "dr_policy_gain_vs_none_low": 1.0,
        "dr_policy_gain_vs_none_high": 5.0, "dr_policy_gain_vs_best_single": 1.0,
        "dr_policy_gain_vs_best_single_low": 0.2, "dr_policy_gain_vs_best_single_high": 1.8}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def stand_in(challenger: dict[str, float]) -> Evaluator:
    """Fixed metrics: ``challenger`` for the first pipeline evaluated, GOOD for the champion."""
    calls: list[int] = []

    def evaluate(pipeline, dataset, start, end):
        calls.append(1)
        return challenger if len(calls) == 1 else GOOD

    window = (pd.Timestamp("2025-05-01"), pd.Timestamp("2025-07-01"))
    return Evaluator(holdout_window=lambda pipeline, dataset: window, evaluate=evaluate)


def run(app: typer.Typer, *args: str) -> tuple[int | None, str, str]:
    """Run ``app`` in-process: (exit code, stdout, stderr), without colour codes or line wraps."""
    out, err = io.StringIO(), io.StringIO()
    command = typer.main.get_command(app)
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited:
        command.main(args=[str(a) for a in args], prog_name="symbiose", standalone_mode=True)
    flat = [" ".join(_ANSI.sub("", s.getvalue()).split()) for s in (out, err)]
    return exited.value.code, flat[0], flat[1]


def app_with(challenger_metrics: dict[str, float]) -> typer.Typer:
    app = typer.Typer()
    register(app, evaluator=lambda: stand_in(challenger_metrics))
    return app


@pytest.fixture
def versions(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, trained_run
             ) -> Iterator[tuple[int, int]]:
    """(champion, challenger) in a registry of their own, both the session's trained model."""
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()):
        old = add_version(source)
        register_challenger(old)
        new = add_version(source)
        register_challenger(new)
        yield old, new


def test_promote_prints_checks_and_moves_champion(versions: tuple[int, int], small_data_dir: Path) -> None:
    old, new = versions
    code, out, err = run(app_with({**GOOD, "dr_policy_value": 13.0}), "promote", "--data", small_data_dir)

    assert code == 0, err
    for name in ("holdout size", "policy value", "beats doing nothing", "beats the best single action",
                 "calibration", "AUC"):
        assert name in out
    assert f"promoted: {MODEL_NAME}/{new} is the champion (was {MODEL_NAME}/{old})" in out
    assert "holdout 2025-05-01 to 2025-07-01" in out
    assert champion_version() == new


def test_refused_promote_exits_3_and_says_why(versions: tuple[int, int], small_data_dir: Path) -> None:
    old, new = versions
    code, out, _err = run(app_with({**GOOD, "auc": 0.60, "dr_policy_value": 5.0}),
                          "promote", "--data", small_data_dir)

    assert code == REFUSED_EXIT_CODE == 3
    assert f"refused: {MODEL_NAME}/{old} stays the champion; failed: policy value, AUC" in out
    for name, result in (("holdout size", "pass"), ("policy value", "fail"), ("calibration", "pass"),
                         ("AUC", "fail")):
        assert re.search(rf"{name}\W+{result}\W", out), f"{name} should {result}"
    assert champion_version() == old
    assert version_tags(new)["promotion_decision"] == "refused"


def test_promote_refuses_a_challenger_no_better_than_the_best_single_action(
        versions: tuple[int, int], small_data_dir: Path) -> None:
    old, new = versions
    code, out, _err = run(app_with({**GOOD, "dr_policy_value": 13.0, "dr_policy_gain_vs_best_single_low": -0.4}),
                          "promote", "--data", small_data_dir)

    assert code == REFUSED_EXIT_CODE
    assert f"refused: {MODEL_NAME}/{old} stays the champion; failed: beats the best single action" in out
    assert re.search(r"beats doing nothing\W+pass\W", out)
    assert champion_version() == old


def test_forced_promote_is_recorded_and_rollback_restores(versions: tuple[int, int],
                                                          small_data_dir: Path) -> None:
    old, new = versions
    code, out, err = run(app_with({**GOOD, "calibration_error": 0.3}), "promote", "--data", small_data_dir,
                         "--force", "--reason", "fixes the price feed")

    assert code == 0, err
    assert "promoted by force" in out and "calibration" in out
    tags = version_tags(new)
    assert tags["promoted_by_force"] == "true" and tags["promotion_reason"] == "fixes the price feed"
    assert tags["promotion_failed_checks"] == "calibration"

    code, out, err = run(app_with(GOOD), "rollback")
    assert code == 0, err
    assert f"champion rolled back from {MODEL_NAME}/{new} to {MODEL_NAME}/{old}" in out
    assert champion_version() == old

    code, out, err = run(app_with(GOOD), "rollback")
    assert code == 1
    assert "error:" in err and "nothing to roll back to" in err and "Traceback" not in err


def test_promote_needs_data_when_the_training_run_names_none(versions: tuple[int, int]) -> None:
    code, _out, err = run(app_with(GOOD), "promote")

    assert code == 1
    assert "pass --data DIR" in err


def test_promote_when_challenger_is_champion_says_so(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                                     trained_run, small_data_dir: Path) -> None:
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()):
        code, _out, err = run(app_with(GOOD), "promote", "--data", small_data_dir)
        assert code == 1 and "no challenger" in err and "symbiose train" in err

        only = add_version(source)
        register_challenger(only)
        code, out, err = run(app_with(GOOD), "promote", "--data", small_data_dir)
        assert code == 0, err
        assert f"{MODEL_NAME}/{only} is already the champion; nothing to promote" in out


def test_commands_are_part_of_the_command_line(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                               symbiose_home: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()), redirect_stdout(out), \
            redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main(["rollback"])
    assert exited.value.code == 1
    assert "has no champion" in err.getvalue()
    with redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main(["promote", "--help"])
    assert exited.value.code == 0
    assert "--force" in out.getvalue() and "--reason" in out.getvalue()
