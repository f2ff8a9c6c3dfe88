"""Writing result files atomically: a temp file beside the target, renamed when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from features.errors import InputError

FORMATS = {".csv": "csv", ".parquet": "parquet"}


def output_format(path: str | Path) -> str:
    """'csv' or 'parquet' from the file extension; anything else is an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--out {path}: expected a file ending in .csv or .parquet, got {suffix or 'no extension'!r}")
    return FORMATS[suffix]


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
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
