"""Comparing two recommendation frames: the same rows, text equal, numbers within a tolerance."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["account_id", "rank"]


def assert_same_recommendations(got: pd.DataFrame, expected: pd.DataFrame, *, atol: float = 1e-9) -> None:
    """``got`` holds exactly ``expected``'s rows and columns (any row order): text and flags equal,
    missing where expected is missing, numbers within ``atol``."""
    assert list(got.columns) == list(expected.columns), (list(got.columns), list(expected.columns))
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    a = got.sort_values(KEYS, kind="mergesort").reset_index(drop=True)
    b = expected.sort_values(KEYS, kind="mergesort").reset_index(drop=True)
    for column in b.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype):
            xv, yv = x.to_numpy(dtype=float, na_value=np.nan), y.to_numpy(dtype=float, na_value=np.nan)
            assert np.array_equal(np.isnan(xv), np.isnan(yv)), f"{column}: missing values differ"
            ok = ~np.isnan(yv)
            assert np.allclose(xv[ok], yv[ok], rtol=0, atol=atol), \
                f"{column}: largest difference {np.max(np.abs(xv[ok] - yv[ok]))}"
        else:
            xs = [None if pd.isna(v) else (bool(v) if isinstance(v, (bool, np.bool_)) else str(v)) for v in x]
            ys = [None if pd.isna(v) else (bool(v) if isinstance(v, (bool, np.bool_)) else str(v)) for v in y]
            diff = [i for i, (p, q) in enumerate(zip(xs, ys, strict=True)) if p != q]
            assert not diff, f"{column}: {len(diff)} rows differ, e.g. {xs[diff[0]]!r} != {ys[diff[0]]!r}"
