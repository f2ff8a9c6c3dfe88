"""Campaign exports for the systems that send the outreach: one row per contacted account, with
the account's ``name`` when the accounts table has one.

CSV can be made Excel-friendly (UTF-8 byte-order mark, ``;`` separator with decimal comma);
amounts are rounded to cents, probabilities to four digits; text cells that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed
with ``'``. Holdout members are never exported: nothing tells the recipient systems
that a control group exists. Files are written atomically (temp file, then rename).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from features.errors import InputError
from serving.output import output_format, spreadsheet_csv

EXPORT_COLUMNS = ["member_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
                  "expected_incremental_margin", "executed_by", "rep_id", "region", "category"]
SEPARATORS = (",", ";")
#: Digits kept in CSV: cents for money and discount points, four for probabilities.
CSV_DIGITS = {"discount_pct": 2, "expected_incremental_margin": 2, "p_convert": 4}


def account_names(accounts: pd.DataFrame) -> pd.Series | None:
    """account_id -> name from an accounts table with a ``name`` column (None without one)."""
    if "name" not in accounts:
        return None
    return pd.Series(accounts["name"].to_numpy(dtype=object), index=accounts["account_id"].astype(str).to_numpy())


def export_frame(members: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """The contacted members in export form (``EXPORT_COLUMNS``, plus ``name`` after ``account_id``
    when ``names`` maps account ids to names), holdouts removed."""
    missing = [c for c in [*EXPORT_COLUMNS, "holdout"] if c not in members]
    if missing:
        raise ValueError(f"campaign members lack columns {missing}")
    contacted = members.loc[~members["holdout"].astype(bool).to_numpy()]
    frame = contacted[EXPORT_COLUMNS].sort_values("member_id", kind="mergesort").reset_index(drop=True)
    if names is not None:
        found = names.reindex(frame["account_id"].astype(str)).to_numpy(dtype=object)
        frame.insert(EXPORT_COLUMNS.index("account_id") + 1, "name",
                     [v if isinstance(v, str) else None for v in found])
    return frame


def csv_bytes(frame: pd.DataFrame, *, bom: bool = False, sep: str = ",") -> bytes:
    """The export as CSV bytes (UTF-8, optional BOM, ``,`` or ``;`` with decimal comma), values
    rounded (``CSV_DIGITS``), formulas neutralized."""
    if sep not in SEPARATORS:
        raise InputError(f"separator must be one of {SEPARATORS}, got {sep!r}")
    return spreadsheet_csv(frame, sep=sep, bom=bom, digits=CSV_DIGITS)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The export as Parquet bytes (typed columns; no formula escaping is needed)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_export(members: pd.DataFrame, path: str | Path, *, bom: bool = False, sep: str = ",",
                 names: pd.Series | None = None) -> Path:
    """Write the contacted members (with ``names``, see :func:`export_frame`) to ``path`` (.csv or
    .parquet) atomically; returns the path."""
    path = Path(path)
    fmt = output_format(path)
    frame = export_frame(members, names)
    payload = csv_bytes(frame, bom=bom, sep=sep) if fmt == "csv" else parquet_bytes(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
