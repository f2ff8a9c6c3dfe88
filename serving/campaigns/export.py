"""Campaign exports for the systems that send the outreach: one row per contacted account.

CSV can be made Excel-friendly (UTF-8 byte-order mark, ``;`` separator); text cells that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return)
are prefixed with ``'``. Holdout members are never exported: nothing tells the recipient systems
that a control group exists. Files are written atomically (temp file, then rename).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from features.errors import InputError
from serving.output import neutralize_formulas, output_format

EXPORT_COLUMNS = ["member_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
                  "expected_incremental_margin", "executed_by", "rep_id", "region", "category"]
SEPARATORS = (",", ";")


def export_frame(members: pd.DataFrame) -> pd.DataFrame:
    """The contacted members in export form (``EXPORT_COLUMNS``), holdouts removed."""
    missing = [c for c in [*EXPORT_COLUMNS, "holdout"] if c not in members]
    if missing:
        raise ValueError(f"campaign members lack columns {missing}")
    contacted = members.loc[~members["holdout"].astype(bool).to_numpy()]
    return contacted[EXPORT_COLUMNS].sort_values("member_id", kind="mergesort").reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame, *, bom: bool = False, sep: str = ",") -> bytes:
    """The export as CSV bytes (UTF-8, optional BOM, ``,`` or ``;``), formulas neutralized."""
    if sep not in SEPARATORS:
        raise InputError(f"separator must be one of {SEPARATORS}, got {sep!r}")
    text = neutralize_formulas(frame).to_csv(index=False, sep=sep, lineterminator="\r\n")
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The export as Parquet bytes (typed columns; no formula escaping is needed)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_export(members: pd.DataFrame, path: str | Path, *, bom: bool = False, sep: str = ",") -> Path:
    """Write the contacted members to ``path`` (.csv or .parquet) atomically; returns the path."""
    path = Path(path)
    fmt = output_format(path)
    frame = export_frame(members)
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
