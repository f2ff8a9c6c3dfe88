"""Campaign export: contacted only, Excel options, formula injection neutralized, Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.campaigns.export import EXPORT_COLUMNS, csv_bytes, export_frame, write_export


def members() -> pd.DataFrame:
    return pd.DataFrame({
        "member_id": ["m3", "m1", "m2"], "account_id": ["=HYPERLINK(\"x\")", "+A1", "plain"],
        "channel": ["email", "phone", "email"], "offer_id": ["@SUM(1)", "-2+3", "OF1"],
        "discount_pct": [0.0, 5.0, -1.0], "p_convert": [0.1, 0.2, 0.3],
        "expected_incremental_margin": [-0.5, 2.0, 3.0], "executed_by": ["marketing", "rep", "marketing"],
        "rep_id": [None, "R1", "R2"], "region": ["Süd", "Nord", "Nord"], "category": ["c", "c", "c"],
        "holdout": [False, False, True],
    })


def test_holdout_members_are_not_exported_and_columns_are_fixed() -> None:
    frame = export_frame(members())
    assert list(frame.columns) == EXPORT_COLUMNS
    assert frame["member_id"].tolist() == ["m1", "m3"]
    assert "holdout" not in frame


def test_csv_neutralizes_formulas_and_keeps_numbers(tmp_path) -> None:
    path = write_export(members(), tmp_path / "c.csv", bom=True, sep=";")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+A1" in text and "'@SUM(1)" in text and "'-2+3" in text
    back = pd.read_csv(tmp_path / "c.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert back["expected_incremental_margin"].tolist() == [2.0, -0.5]  # negative numbers stay numbers
    assert back["region"].tolist() == ["Nord", "Süd"]
    assert not list(tmp_path.glob(".*tmp"))


def test_default_csv_has_no_bom_and_commas() -> None:
    raw = csv_bytes(export_frame(members()))
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode().splitlines()[0] == ",".join(EXPORT_COLUMNS)
    with pytest.raises(ValueError, match="separator must be one of"):
        csv_bytes(export_frame(members()), sep="|")


def test_parquet_round_trip(tmp_path) -> None:
    path = write_export(members(), tmp_path / "c.parquet")
    back = pd.read_parquet(path)
    assert back["member_id"].tolist() == ["m1", "m3"]
    assert back["account_id"].tolist() == ["+A1", "=HYPERLINK(\"x\")"]  # typed file: no escaping needed


def test_unknown_extension_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="expected a file ending in .csv or .parquet"):
        write_export(members(), tmp_path / "c.xlsx")


def test_semicolon_csv_has_decimal_commas_and_rounded_values() -> None:
    frame = members().assign(p_convert=[0.1 + 0.2, 0.123456789012345, 0.5],
                             expected_incremental_margin=[1 / 3, 82.456789, 3.0])
    text = csv_bytes(export_frame(frame), sep=";").decode()
    row = next(line for line in text.splitlines() if line.startswith("m1;"))
    assert ";0,1235;82,46;" in row  # four digits for probabilities, cents for money
    assert "0,30000000000000004" not in text and "0.3" not in text
    assert "0,3;" in text and "0,33;" in text
    plain = csv_bytes(export_frame(frame)).decode()
    assert ",0.1235,82.46," in plain  # comma-separated files keep decimal points, rounded too


def test_names_are_exported_beside_the_account_and_neutralized() -> None:
    names = pd.Series({"+A1": "=cmd|' /C calc'!A0", "=HYPERLINK(\"x\")": "Müller GmbH"})
    frame = export_frame(members(), names)
    assert list(frame.columns) == [*EXPORT_COLUMNS[:2], "name", *EXPORT_COLUMNS[2:]]
    assert frame["name"].tolist() == ["=cmd|' /C calc'!A0", "Müller GmbH"]
    text = csv_bytes(frame, sep=";").decode()
    assert "'=cmd|" in text and "Müller GmbH" in text
