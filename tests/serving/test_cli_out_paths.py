"""``--out`` (and ``--truth``, ``--plot``) paths that cannot be written: an existing directory
where a file is asked for, a file where a directory is asked for, or a path under a file.
Every command says so in one line before doing any work and leaves nothing behind."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from serving.cli import main  # noqa: E402
from tests.bad_inputs import write_valid_directory  # noqa: E402


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, list[str]]:
    """Exit code and the messages on stderr (each starts with ``error:``; the console wraps
    long ones, which are joined again here)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    text = "".join(capsys.readouterr().err.splitlines())
    return code, ["error:" + m for m in text.split("error:")[1:]] if "error:" in text else [text]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, symbiose_home: Path) -> Path:
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    return write_valid_directory(tmp_path / "data")


#: command -> (arguments before the path option, the option, whether it names a file)
COMMANDS: dict[str, tuple[list[str], str, bool]] = {
    "recommend": (["recommend", "--data", "DATA"], "--out", True),
    "attribution": (["attribution", "--data", "DATA", "--by", "rep", "--from", "2025-01-01",
                     "--to", "2025-04-01"], "--out", True),
    "campaign plan": (["campaign", "plan", "--data", "DATA", "--name", "c"], "--out", True),
    "campaign report --out": (["campaign", "report", "c", "--data", "DATA"], "--out", True),
    "campaign report --plot": (["campaign", "report", "c", "--data", "DATA"], "--plot", True),
    "generate --truth": (["generate", "--accounts", "10", "--out", "new-data"], "--truth", True),
    "generate": (["generate", "--accounts", "10"], "--out", False),
    "evaluate": (["evaluate", "--data", "DATA"], "--out", False),
}


def _args(command: str, data: Path, path: Path) -> list[object]:
    before, option, _ = COMMANDS[command]
    return [data if a == "DATA" else a for a in before] + [option, path]


def _squeezed(text: str) -> str:
    """Text without spaces (the console drops a space where it wraps a line)."""
    return "".join(text.split())


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if "home" not in p.parts and p.suffix != ".db"}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_path_of_the_wrong_kind_is_one_line_error(capsys, data: Path, tmp_path: Path,
                                                    command: str) -> None:
    wants_file = COMMANDS[command][2]
    if wants_file:
        wrong = tmp_path / "taken.csv"
        wrong.mkdir()
        (wrong / "keep.txt").write_text("kept")
        if command == "campaign report --plot":
            wrong = wrong.rename(tmp_path / "taken.png")
    else:
        wrong = tmp_path / "taken"
        wrong.write_text("kept")
    before = _snapshot(tmp_path)

    code, err = _run(capsys, *_args(command, data, wrong))

    assert code == 1
    assert len(err) == 1, err
    option = COMMANDS[command][1]
    kind = "is a directory; expected a file name" if wants_file else "is a file; expected a directory"
    assert _squeezed(err[0]).startswith(_squeezed(f"error: {option} {wrong}: {kind}")), err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_path_under_a_file_is_one_line_error(capsys, data: Path, tmp_path: Path,
                                               command: str) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("kept")
    name = {"campaign report --plot": "plot.png", "generate --truth": "truth.parquet"}.get(
        command, "out.csv" if COMMANDS[command][2] else "out")
    before = _snapshot(tmp_path)

    code, err = _run(capsys, *_args(command, data, blocker / name))

    assert code == 1
    assert len(err) == 1, err
    expected = f"error: {COMMANDS[command][1]} {blocker / name}: {blocker} is a file, not a directory"
    assert _squeezed(err[0]) == _squeezed(expected), err
    assert _snapshot(tmp_path) == before
    assert blocker.read_text() == "kept"
