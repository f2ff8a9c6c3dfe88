"""Every date option of the command line reads ISO 8601 only, and an as-of time outside the
data's time range is an error that states the range."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from serving.cli import main  # noqa: E402
from tests.bad_inputs import write_valid_directory  # noqa: E402


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, " ".join(capsys.readouterr().err.split())


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, symbiose_home: Path) -> Path:
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return write_valid_directory(tmp_path / "data")


def _commands(data: Path, tmp_path: Path, as_of: str) -> dict[str, list[object]]:
    """Each command with a time option, the option set to ``as_of``."""
    return {
        "train": ["train", "--data", data, "--as-of", as_of],
        "recommend": ["recommend", "--data", data, "--as-of", as_of, "--out", tmp_path / "r.csv"],
        "evaluate": ["evaluate", "--data", data, "--as-of", as_of, "--out", tmp_path / "ev"],
        "campaign plan": ["campaign", "plan", "--data", data, "--name", "c", "--as-of", as_of,
                          "--out", tmp_path / "c.csv"],
        "serve": ["serve", "--data", data, "--as-of", as_of],
        "generate": ["generate", "--out", tmp_path / "gen", "--as-of", as_of],
        "attribution --from": ["attribution", "--data", data, "--by", "rep", "--from", as_of,
                               "--to", "2025-03-01"],
        "evaluate --holdout-from": ["evaluate", "--data", data, "--holdout-from", as_of,
                                    "--holdout-to", "2025-03-01"],
    }


COMMANDS = list(_commands(Path(), Path(), "").keys())
RANGED = ["train", "recommend", "evaluate", "campaign plan"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("day_first", ["01.10.2026", "13.10.2026"])
def test_day_first_dates_are_refused_by_every_date_option(capsys, data: Path, tmp_path: Path,
                                                          command: str, day_first: str) -> None:
    args = _commands(data, tmp_path, day_first)[command]

    code, err = _run(capsys, *args)

    assert code == 1
    assert f"'{day_first}': expected an ISO 8601 date or time such as 2025-07-01" in err
    assert not (tmp_path / "r.csv").exists() and not (tmp_path / "gen").exists()


@pytest.mark.parametrize("command", RANGED)
@pytest.mark.parametrize(("when", "side"), [("1900-01-01", "before"), ("2300-01-01", "too long after")])
def test_as_of_outside_the_data_is_refused_with_the_range(capsys, data: Path, tmp_path: Path,
                                                          command: str, when: str, side: str) -> None:
    code, err = _run(capsys, *_commands(data, tmp_path, when)[command])

    assert code == 1
    assert f"error: --as-of {when} 00:00:00: {side} the data's time range" in err
    assert "its events run from 2025-01-02 00:00:00 to 2025-03-01 00:00:00" in err


@pytest.mark.parametrize("when", ["1900-01-01", "2300-01-01"])
def test_serve_refuses_an_as_of_outside_the_data(capsys, data: Path, trained_run, when: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBIOSE_MODEL_POLL_SECONDS", "0")

    code, err = _run(capsys, "serve", "--data", data, "--as-of", when, "--model",
                     trained_run.model_uri)

    assert code == 1
    assert f"{when} 00:00:00:" in err and "the data's time range" in err
