"""Checking tables against the contract declarations, with problems that name rows.

``check_table`` parses one raw table (as read from CSV or Parquet) into the normalized dtypes
of ``features.dataset`` and collects every ``Problem`` it finds; ``check_references`` and
``check_row_rules`` add the checks between tables and between columns. All checks are
vectorised; row numbers are 1-based data rows (the header line is not counted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract import (
    FOREIGN_KEYS,
    LIST_SEPARATOR,
    ROW_RULES,
    Column,
    Table,
)
from features.errors import SymbioseError

SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One way a data directory breaks the contract.

    ``rows`` are 1-based data rows of the file (header not counted); ``values`` are the
    offending cells as text; ``expected`` says what a valid file has instead.
    """

    table: str
    column: str | None
    rows: tuple[int, ...]
    values: tuple[str, ...]
    expected: str

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        parts = [where]
        if self.rows:
            noun = "data row" if len(self.rows) == 1 else "data rows"
            parts.append(f"{noun} {_head(self.rows)}")
        if self.values:
            distinct = list(dict.fromkeys(self.values))
            noun = "value" if len(distinct) == 1 else "values"
            shown = _head([_show_value(v) for v in distinct[:SHOWN]], len(distinct))
            if self.rows:
                parts[-1] += f" ({noun} {shown})"
            else:
                parts.append(f"{noun} {shown}")
        return ": ".join(parts) + f": expected {' '.join(self.expected.split())}"


def _head(items: Sequence[object], total: int | None = None) -> str:
    """The first few items, then ``and N more``."""
    total = len(items) if total is None else total
    text = ", ".join(str(x) for x in items[:SHOWN])
    return f"{text} and {total - SHOWN} more" if total > SHOWN else text


def _show_value(value: str) -> str:
    try:
        float(value)
    except ValueError:
        return repr(value)
    return value


class ContractError(SymbioseError, ValueError):
    """A data directory breaks the contract; ``problems`` lists every way it does."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class CheckedTable:
    """A table after checking: its normalized frame, its problems, the columns its file had."""

    table: Table
    frame: pd.DataFrame
    problems: list[Problem]
    file_columns: tuple[str, ...]


# ---------------------------------------------------------------- parsing cells to types

Parsed = tuple[pd.Series, np.ndarray]  # typed values (unparseable cells empty), unparseable mask
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def as_string(raw: pd.Series) -> pd.Series:
    """Text cells as ``str``; empty text is empty; whole floats lose their ``.0`` (Parquet ids)."""
    if pd.api.types.is_float_dtype(raw.dtype):
        arr = raw.to_numpy(dtype="float64", na_value=np.nan)
        if np.all(np.isnan(arr) | (arr == np.round(arr))):
            raw = raw.astype("Int64")
    text = raw.astype("str")
    return text.mask(text == "")


def _parse_string(raw: pd.Series) -> Parsed:
    return as_string(raw), np.zeros(len(raw), dtype=bool)


def _parse_number(raw: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(raw.dtype):
        values = pd.Series(np.nan, index=raw.index)
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        values = pd.Series(raw.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
    else:
        values = pd.to_numeric(as_string(raw).str.strip(), errors="coerce").astype("float64")
    arr = values.to_numpy()
    bad = raw.notna().to_numpy() & ~np.isfinite(arr)
    return values.mask(bad), bad


def _parse_integer(raw: pd.Series) -> Parsed:
    values, bad = _parse_number(raw)
    arr = values.to_numpy()
    bad = bad | (np.isfinite(arr) & (arr != np.round(arr)))
    return values.mask(bad), bad


def _parse_boolean(raw: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean"), np.zeros(len(raw), dtype=bool)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = pd.Series(raw.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
        values = numbers.map({1.0: True, 0.0: False})
    else:
        values = as_string(raw).str.strip().str.lower().map(_BOOL_WORDS)
    bad = raw.notna().to_numpy() & values.isna().to_numpy()
    return values.astype("boolean"), bad


def _parse_timestamp(raw: pd.Series) -> Parsed:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        values = raw.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        values = raw
    elif pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    else:
        text = as_string(raw).str.strip()
        values = _plain_iso_times(text)
        if values is None:
            parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
            values = parsed.dt.tz_localize(None)
    values = values.astype("datetime64[us]")
    bad = raw.notna().to_numpy() & values.isna().to_numpy()
    return values, bad


def _plain_iso_times(text: pd.Series) -> pd.Series | None:
    """ISO 8601 times without a zone (``2024-05-01``, ``2024-05-01T10:23[:00[.5]]``), parsed by
    Arrow (several times faster than pandas, the same values); None when any filled cell is
    written otherwise (a zone, a bad date), which pandas then parses or reports."""
    try:
        cast = pc.cast(pa.array(text, type=pa.large_string(), from_pandas=True), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="datetime64[us]")


PARSERS: dict[str, Callable[[pd.Series], Parsed]] = {
    "string": _parse_string,
    "number": _parse_number,
    "integer": _parse_integer,
    "boolean": _parse_boolean,
    "timestamp": _parse_timestamp,
}


def is_in(values: pd.Series, known: Sequence[str] | pd.Series) -> np.ndarray:
    """Which text ``values`` are among ``known`` (via Arrow: pandas' ``isin`` on text builds
    a Python list of the whole set, which is slow for 100,000 ids)."""
    left = pa.array(as_string(values), type=pa.large_string(), from_pandas=True)
    known_set = pd.Series(known, dtype="str").dropna().unique()
    right = pa.array(known_set, type=pa.large_string(), from_pandas=True)
    return np.array(pc.is_in(left, value_set=right).fill_null(False), dtype=bool)


# ---------------------------------------------------------------- problems from masks

def _row_problem(table: str, column: str | None, mask: np.ndarray, shown: pd.Series | None,
                 expected: str) -> list[Problem]:
    """One problem for the rows where ``mask`` is set, showing ``shown`` cells of those rows."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    values = () if shown is None else tuple(shown.iloc[idx].astype("str").tolist())
    return [Problem(table, column, tuple((idx + 1).tolist()), values, expected)]


def _item_problem(table: str, column: str, items: pd.Series, mask: np.ndarray,
                  expected: str) -> list[Problem]:
    """One problem for list items (index = row position) where ``mask`` is set."""
    if not mask.any():
        return []
    rows = np.unique(items.index.to_numpy()[mask]) + 1
    values = tuple(dict.fromkeys(items[mask].astype("str").tolist()))
    return [Problem(table, column, tuple(rows.tolist()), values, expected)]


# ---------------------------------------------------------------- one column

def _allowed_values(col: Column, channels: Sequence[str] | None) -> tuple[str, ...] | None:
    """Values a column may take, or None when any value is fine (or the policy is unknown)."""
    if col.allowed:
        return col.allowed
    if col.policy_channels:
        return None if channels is None else (*channels, *col.also_allowed)
    return None


def _allowed_words(col: Column, allowed: tuple[str, ...]) -> str:
    if col.policy_channels:
        return f"a channel of the policy: {', '.join(allowed)}"
    return f"one of: {', '.join(allowed)}"


def _check_scalar(table: str, col: Column, raw: pd.Series,
                  channels: Sequence[str] | None) -> tuple[pd.Series, list[Problem]]:
    values, bad = PARSERS[col.type](raw)
    problems = _row_problem(table, col.name, bad, raw, col.describe())
    empty = values.isna().to_numpy() & ~bad
    if col.required:
        problems += _row_problem(table, col.name, empty, None,
                                 "a value in every row (required column)")
    if col.range is not None:
        problems += _row_problem(table, col.name, col.range.violated(values), raw, col.describe())
    allowed = _allowed_values(col, channels)
    if allowed is not None:
        if col.case_insensitive:
            spelling = {a.lower(): a for a in allowed}
            values = values.str.strip().str.lower().map(spelling).fillna(values).astype("str")
        outside = values.notna().to_numpy() & ~is_in(values, allowed)
        problems += _row_problem(table, col.name, outside, raw, _allowed_words(col, allowed))
    if col.prefixes:
        text = values.astype("str").str.strip().str.lower()
        starts = text.str.startswith(col.prefixes).fillna(True).to_numpy(dtype=bool)
        problems += _row_problem(table, col.name, values.notna().to_numpy() & ~starts, raw, col.describe())
    if col.unique:
        dup = values.duplicated(keep=False).to_numpy() & values.notna().to_numpy()
        problems += _row_problem(table, col.name, dup, values,
                                 f"each {col.name} only once (unique column)")
    return _finish(col, values), problems


def _finish(col: Column, values: pd.Series) -> pd.Series:
    """Fill the default and settle the normalized dtype."""
    if col.default is not None:
        default = PARSERS[col.type](pd.Series([col.default], dtype="str"))[0].iloc[0]
        values = values.fillna(default)
    if col.type == "boolean" and not values.isna().any():
        return values.astype(bool)
    if col.type == "integer":
        values = values.astype("float64")
        if col.never_empty and not values.isna().any():
            return values.astype("int64")
    return values


def _check_list(table: str, col: Column, raw: pd.Series,
                channels: Sequence[str] | None) -> tuple[pd.Series, list[Problem]]:
    if raw.dtype == object:  # Parquet list columns: join items the way a file writes them
        raw = raw.map(lambda v: LIST_SEPARATOR.join(map(str, v))
                      if isinstance(v, (list, tuple, np.ndarray)) else v)
    text = as_string(raw)
    if col.default is not None:
        text = text.fillna(col.default)
    problems: list[Problem] = []
    if col.required:
        problems += _row_problem(table, col.name, text.isna().to_numpy(), None,
                                 "a value in every row (required column)")
    items = text.str.split(LIST_SEPARATOR).explode().dropna().astype("str").str.strip()
    empty_item = (items == "").to_numpy()
    problems += _item_problem(table, col.name, text.iloc[items.index], empty_item,
                              f"{col.describe()} (found an empty item)")
    items = items[~empty_item]
    if col.type == "number_list":
        numbers = pd.to_numeric(items, errors="coerce").astype("float64")
        bad = ~np.isfinite(numbers.to_numpy())
        problems += _item_problem(table, col.name, items, bad, col.describe())
        numbers = numbers[~bad]
        if col.range is not None:
            problems += _item_problem(table, col.name, numbers, col.range.violated(numbers),
                                      col.describe())
        return _tuples_per_row(numbers, len(raw), sort=True), problems
    allowed = _allowed_values(col, channels)
    if allowed is not None:
        outside = ~is_in(items, allowed)
        problems += _item_problem(table, col.name, items, outside, _allowed_words(col, allowed))
    return _tuples_per_row(items, len(raw), sort=False), problems


def _tuples_per_row(items: pd.Series, n_rows: int, sort: bool) -> pd.Series:
    """Collect list items (index = row position) into one tuple per row, without repeats."""
    pairs = pd.DataFrame({"row": items.index.to_numpy(), "item": items.to_numpy()})
    pairs = pairs.drop_duplicates()
    if sort:
        pairs = pairs.sort_values(["row", "item"], kind="stable")
    tuples = pd.Series([None] * n_rows, dtype=object)
    if len(pairs):
        grouped = pairs.groupby("row", sort=True)["item"].agg(tuple)
        tuples.iloc[grouped.index.to_numpy()] = grouped.to_numpy()
    return tuples


# ---------------------------------------------------------------- one table

def check_table(raw: pd.DataFrame, table: Table,
                channels: Sequence[str] | None) -> CheckedTable:
    """Check ``raw`` against ``table`` and normalize it.

    ``channels`` are the policy's channel names (``None`` when the policy could not be read:
    channel names are then not checked). Missing optional columns get their default or empty
    cells; display-only columns (checked) and extra columns are kept after the contract's
    columns, in the file's order.
    """
    names = pd.Index([str(c).strip() for c in raw.columns])
    problems = [Problem(table.name, name, (), (),
                        f"one column named {name} (found {int((names == name).sum())}; "
                        "the first is used)")
                for name in names[names.duplicated()].unique()]
    raw = raw.set_axis(names, axis=1).loc[:, ~names.duplicated()].reset_index(drop=True)
    declared = set(table.column_names)
    for col in table.columns:
        if col.required and col.name not in raw.columns:
            found = ", ".join(raw.columns) if len(raw.columns) else "none"
            problems.append(Problem(table.name, col.name, (), (),
                                    f"a column named {col.name} (required); columns found: "
                                    f"{found}"))
    if not table.may_be_empty and len(raw) == 0:
        problems.append(Problem(table.name, None, (), (),
                                "at least one data row (the table is empty)"))
    out: dict[str, pd.Series] = {}
    absent = pd.Series(pd.NA, index=raw.index, dtype="str")
    for col in table.columns:
        check = _check_list if col.is_list else _check_scalar
        if col.name in raw.columns:
            out[col.name], col_problems = check(table.name, col, raw[col.name], channels)
            problems += col_problems
        else:
            out[col.name] = check(table.name, col, absent, channels)[0]
    for col in table.columns:
        if col.default_max_of is not None:
            largest = out[col.default_max_of].explode().astype("float64").groupby(level=0).max()
            out[col.name] = out[col.name].fillna(largest).astype("float64")
    display = {col.name: col for col in table.display_columns}
    for name in raw.columns:
        if name in display:
            out[name], col_problems = _check_scalar(table.name, display[name], raw[name], channels)
            problems += col_problems
        elif name not in declared:
            out[name] = _extra_column(raw[name], table.extra_columns_are_features)
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(raw)))
    return CheckedTable(table, frame, problems, tuple(raw.columns))


def _extra_column(raw: pd.Series, as_feature: bool) -> pd.Series:
    """Extra columns: numbers stay numeric; features that are not numbers become text."""
    is_number = pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(
        raw.dtype)
    if is_number:
        if isinstance(raw.dtype, pd.api.extensions.ExtensionDtype):
            arr = raw.to_numpy(dtype="float64", na_value=np.nan)
            return pd.Series(arr, index=raw.index, name=raw.name)
        return raw
    if as_feature or raw.dtype == object:
        return as_string(raw)
    return raw


def empty_table(table: Table) -> pd.DataFrame:
    """A table with no rows and the normalized dtypes of its columns."""
    raw = pd.DataFrame({c: pd.Series(dtype="str") for c in table.column_names})
    return check_table(raw, table, None).frame


# ---------------------------------------------------------------- between tables and columns

def check_references(tables: Mapping[str, CheckedTable]) -> list[Problem]:
    """Foreign keys of the contract: referenced ids must exist in the referenced table."""
    problems: list[Problem] = []
    for fk in FOREIGN_KEYS:
        source, target = tables.get(fk.table), tables.get(fk.target)
        if source is None or target is None or fk.column not in source.file_columns \
                or fk.target_column not in target.file_columns:
            continue
        target_is_empty = len(target.frame) == 0
        if target_is_empty and (fk.only_if_target_has_rows or not target.table.may_be_empty):
            continue  # nothing to look up in, or the empty table is already a problem
        values = source.frame[fk.column]
        unknown = values.notna().to_numpy() & ~is_in(values, target.frame[fk.target_column])
        problems += _row_problem(fk.table, fk.column, unknown, values,
                                 f"{_article(fk.target_column)} {fk.target_column} that "
                                 f"exists in {fk.target}")
    return problems


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def check_row_rules(tables: Mapping[str, CheckedTable]) -> list[Problem]:
    """Conditions between columns of one row (e.g. a ``none`` touch has no offer)."""
    problems: list[Problem] = []
    for rule in ROW_RULES:
        checked = tables.get(rule.table)
        if checked is None or rule.when_column not in checked.file_columns:
            continue
        frame = checked.frame
        applies = (frame[rule.when_column] == rule.when_value).fillna(False).to_numpy(bool)
        cells = frame[rule.column]
        if rule.value is None:
            broken = cells.notna().to_numpy()
        else:
            broken = cells.notna().to_numpy() & (cells != rule.value).to_numpy()
        problems += _row_problem(rule.table, rule.column, applies & broken, cells,
                                 rule.describe())
    return problems
