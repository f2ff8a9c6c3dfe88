"""Values from the data, paths and names are printed as they are: text in square brackets is
never read as console markup (which would hide it or crash the command)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from serving.cli import main  # noqa: E402
from tests.bad_inputs import set_cell, write_valid_directory  # noqa: E402


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("region", ["[/x]", "[bold]North"])
def test_attribution_prints_region_names_and_paths_literally(capsys, tmp_path: Path, region: str) -> None:
    data = write_valid_directory(tmp_path / "[data]")
    set_cell("accounts", 1, "region", region)(data)
    out_file = tmp_path / "[red]by-region.csv"

    code, out, err = _run(capsys, "attribution", "--data", data, "--by", "region", "--from",
                          "2025-01-01", "--to", "2025-04-01", "--out", out_file)

    assert code == 0, err
    assert region in out and "North" in out
    assert str(out_file) in "".join(out.split("\n"))


def test_validate_prints_the_path_literally(capsys, tmp_path: Path) -> None:
    data = write_valid_directory(tmp_path / "[/exports]")
    code, out, err = _run(capsys, "validate", "--data", data)
    assert code == 0, err
    assert "[/exports]" in "".join(out.split("\n"))  # a long path may wrap at the console's width
