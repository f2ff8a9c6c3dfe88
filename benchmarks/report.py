"""Printing benchmark result tables: Markdown when `tabulate` is installed, plain text otherwise."""

from __future__ import annotations

import pandas as pd


def table_text(table: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """The table as Markdown (ready for docs/benchmarks.md) or, without `tabulate`, as plain text."""
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return table.to_string(index=False)
    return table.to_markdown(index=False, floatfmt=floatfmt)
