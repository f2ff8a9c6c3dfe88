"""Every CSV written for people escapes text cells that a spreadsheet would run as a formula;
numbers, empty cells and Parquet files stay as they are."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from serving.cli import main  # noqa: E402
from serving.output import write_frame_atomic  # noqa: E402
from tests.bad_inputs import set_cell, write_valid_directory  # noqa: E402

RISKY = ["=HYPERLINK(\"http://x\")", "+49 30 1234", "-1+2", "@SUM(A1)", "\tlead"]


def _frame() -> pd.DataFrame:
    n = len(RISKY) + 2
    return pd.DataFrame({
        "text": [*RISKY, "plain", None],
        "as_str": pd.Series([*RISKY, "a-b", None], dtype="str"),
        "category": pd.Series([*RISKY, "x", None], dtype="category"),
        "number": [-1.5] * n,
        "whole": [-3] * n,
    })


def test_recommendation_style_csv_escapes_text_and_keeps_numbers(tmp_path: Path) -> None:
    path = write_frame_atomic(_frame(), tmp_path / "recs.csv")

    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    cells = pd.DataFrame(rows, columns=header)

    for column in ("text", "as_str", "category"):
        assert cells[column].tolist()[:len(RISKY)] == ["'" + v for v in RISKY], column
        assert cells[column].tolist()[-1] == ""
    assert cells["text"].iloc[-2] == "plain" and cells["as_str"].iloc[-2] == "a-b"
    assert set(cells["number"]) == {"-1.5"} and set(cells["whole"]) == {"-3"}


def test_parquet_keeps_the_cells_as_they_are(tmp_path: Path) -> None:
    path = write_frame_atomic(_frame(), tmp_path / "recs.parquet")
    assert pd.read_parquet(path)["text"].tolist()[:len(RISKY)] == RISKY


def test_attribution_export_escapes_region_names(capsys, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_valid_directory(tmp_path / "data")
    set_cell("accounts", 1, "region", "=cmd|' /C calc'!A0")(data)
    set_cell("accounts", 2, "region", "=cmd|' /C calc'!A0")(data)

    with pytest.raises(SystemExit) as exited:
        main(["attribution", "--data", str(data), "--by", "region", "--from", "2025-01-01",
              "--to", "2025-04-01", "--out", str(tmp_path / "by-region.csv")])

    assert exited.value.code in (0, None)
    cells = pd.read_csv(tmp_path / "by-region.csv", dtype="str", keep_default_na=False)
    assert "'=cmd|' /C calc'!A0" in cells["region"].tolist()
    assert not any(v.startswith("=") for v in cells["region"])
    assert pd.to_numeric(cells["offline_revenue"]).sum() > 0


def test_spreadsheet_dates_follow_the_separator():
    from datetime import date

    from serving.output import spreadsheet_csv

    frame = pd.DataFrame({"due": [date(2025, 7, 3), None], "at": pd.to_datetime(["2025-07-01 09:30", None]),
                          "day": pd.to_datetime(["2025-12-24", "2026-01-02"]), "n": [1.5, 2.25]})
    german = spreadsheet_csv(frame, sep=";").decode().splitlines()
    assert german[1:] == ["03.07.2025;01.07.2025 09:30;24.12.2025;1,5", ";;02.01.2026;2,25"]
    english = spreadsheet_csv(frame, sep=",").decode().splitlines()
    assert english[1:] == ["2025-07-03,2025-07-01 09:30,2025-12-24,1.5", ",,2026-01-02,2.25"]
