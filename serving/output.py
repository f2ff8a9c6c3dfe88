"""Writing result files atomically: a temp file beside the target, renamed when complete.

CSV files are read by people in spreadsheets: text cells that a spreadsheet would run as a
formula get a leading ``'`` (:func:`neutralize_formulas`); numbers stay numbers."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from features.errors import InputError

FORMATS = {".csv": "csv", ".parquet": "parquet"}
#: How a cell starts that a spreadsheet runs as a formula (or that turns into one).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def output_format(path: str | Path) -> str:
    """'csv' or 'parquet' from the file extension; anything else is an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--out {path}: expected a file ending in .csv or .parquet, got {suffix or 'no extension'!r}")
    return FORMATS[suffix]


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a leading ``'`` on every text cell that starts like a formula (``=``, ``+``,
    ``-``, ``@``, tab, carriage return); numeric, date and empty cells are left as they are."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        try:
            risky = values.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
        except AttributeError:  # an object column without text
            continue
        if risky.any():
            out = out.copy() if out is frame else out
            out[column] = values.where(~risky, "'" + values.astype(object).where(risky, ""))
    return out


#: Digits kept in spreadsheet CSVs for float columns not named otherwise.
CSV_DIGITS = 4


def spreadsheet_csv(frame: pd.DataFrame, *, sep: str = ",", bom: bool = False,
                    digits: dict[str, int] | None = None) -> bytes:
    """``frame`` as CSV bytes for spreadsheets: UTF-8 (with a byte-order mark when ``bom``), CRLF,
    formulas neutralized, float columns rounded (``digits`` per column, else ``CSV_DIGITS``); with
    ``sep=";"`` numbers get a decimal comma and dates read ``dd.mm.yyyy``, as German spreadsheets
    read them (else dates are ``yyyy-mm-dd``)."""
    if sep not in (",", ";"):
        raise InputError(f"separator must be one of (',', ';'), got {sep!r}")
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c].dtype)]
    rounded = frame.round({c: (digits or {}).get(c, CSV_DIGITS) for c in floats}) if floats else frame
    rounded = dates_as_text(rounded, "%d.%m.%Y" if sep == ";" else "%Y-%m-%d")
    text = neutralize_formulas(rounded).to_csv(index=False, sep=sep, decimal="," if sep == ";" else ".",
                                               lineterminator="\r\n")
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def dates_as_text(frame: pd.DataFrame, date_format: str) -> pd.DataFrame:
    """``frame`` with its date columns (datetime dtype, or objects that are all dates) as text in
    ``date_format``, a time of day (``HH:MM``) added where one is not midnight; empty stays empty."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            stamps = values
        elif values.dtype == object and len(values) and values.notna().any() and all(
                isinstance(v, (date, datetime)) for v in values.dropna()):
            stamps = pd.to_datetime(values)
        else:
            continue
        timed = bool((stamps.dropna() != stamps.dropna().dt.normalize()).any())
        text = stamps.dt.strftime(date_format + (" %H:%M" if timed else "")).astype(object)
        out = out.copy() if out is frame else out
        out[column] = text.where(stamps.notna(), None)
    return out


def write_frame_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet (by extension); no partial file is left on failure."""
    path = Path(path)
    fmt = output_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "csv":
            neutralize_formulas(frame).to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
