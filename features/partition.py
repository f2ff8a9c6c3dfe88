"""Snapshots of one partition of accounts, for engines that split a data directory by account.

A batch engine (``serving.spark_engine``) hands each partition the raw rows of its accounts from
the account-keyed tables (accounts, orders, touches, web_events, each with its file row number in
``_row``) and the whole small tables (offers, reps, the policy). :func:`partition_snapshot` checks
those rows with the contract checks of ``features.validation`` (problems name the rows of the
files, as the pandas loader's do) and builds the snapshot with ``features.snapshot``.

Every feature of an account is computed from that account's rows and the shared tables only (the
event indexes in ``features.builder`` are keyed by account; vocabularies such as the categories
or channels seen only name codes), so a partition's snapshot rows equal the whole data set's.
What does span accounts is checked by the engine on the whole table: uniqueness of ids that are
not the partition key (touches.touch_id), emptiness of a table and its columns (header problems).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from features.contract import ACCOUNTS, TABLES_BY_NAME
from features.dataset import Dataset
from features.definitions import FeatureSpec
from features.snapshot import build_snapshot
from features.validation import (
    CheckedTable,
    Problem,
    check_references,
    check_row_rules,
    check_table,
    empty_table,
)

#: The tables an engine splits by account (all others are small and shared whole).
PARTITIONED_TABLES = ("accounts", "orders", "touches", "web_events")
#: Column with each raw row's 1-based data row in its file.
ROW_COLUMN = "_row"


@dataclass(frozen=True)
class SharedTables:
    """What every partition shares: the checked small tables, the policy and facts about the files."""

    offers: CheckedTable
    reps: CheckedTable | None
    policy: object  # features.policy.Policy
    #: The columns of each partitioned table's file (absent tables are not listed).
    file_columns: Mapping[str, tuple[str, ...]]
    #: Per partitioned CSV table, the columns pandas reads as numbers from the whole file (every
    #: cell a number): "int64" when every cell is a whole number, else "float64".
    numeric_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Problems the engine checks on whole tables (ids unique across partitions): skipped here.
    whole_table_checks: tuple[tuple[str, str], ...] = (("touches", "touch_id"),)
    accounts_empty: bool = False


def partition_tables(raw: Mapping[str, pd.DataFrame], shared: SharedTables
                     ) -> tuple[dict[str, CheckedTable], list[Problem]]:
    """The partition's tables checked against the contract, and the problems of its rows (rows
    numbered as in the files)."""
    channels = shared.policy.channel_names  # type: ignore[attr-defined]
    checked: dict[str, CheckedTable] = {"offers": shared.offers}
    if shared.reps is not None:
        checked["reps"] = shared.reps
    rows: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for name in PARTITIONED_TABLES:
        if name not in shared.file_columns:
            continue
        frame = raw.get(name)
        if frame is None:
            frame = pd.DataFrame({c: pd.Series(dtype="str") for c in shared.file_columns[name]}
                                 | {ROW_COLUMN: pd.Series(dtype="int64")})
        frame = frame.sort_values(ROW_COLUMN, kind="mergesort").reset_index(drop=True)
        rows[name] = frame[ROW_COLUMN].to_numpy(dtype=np.int64)
        cells = frame.drop(columns=ROW_COLUMN)[list(shared.file_columns[name])]
        for column, dtype in shared.numeric_columns.get(name, {}).items():
            cells[column] = pd.to_numeric(cells[column]).astype(dtype)
        table = TABLES_BY_NAME[name]
        if name == "accounts" and len(cells) == 0 and not shared.accounts_empty:
            table = replace(ACCOUNTS, may_be_empty=True)  # others' references still need checking
        checked[name] = check_table(cells, table, channels)
        problems += [_in_file(p, rows[name]) for p in checked[name].problems
                     if p.rows and (p.table, p.column) not in shared.whole_table_checks]
    problems += [_in_file(p, rows[p.table]) for p in check_references(checked) + check_row_rules(checked)
                 if p.table in rows]
    return checked, problems


def partition_snapshot(raw: Mapping[str, pd.DataFrame], shared: SharedTables, as_of: pd.Timestamp,
                       specs: list[FeatureSpec], categories: list[str]
                       ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """(snapshot rows of the partition's accounts in file order, problems): the snapshot is None
    when its rows break the contract."""
    dataset, problems = partition_dataset(raw, shared)
    if dataset is None:
        return None, problems
    return build_snapshot(dataset, as_of, specs, categories), []


def partition_dataset(raw: Mapping[str, pd.DataFrame], shared: SharedTables) -> tuple[Dataset | None, list[Problem]]:
    """The partition as a Dataset (None, with the problems, when its rows break the contract)."""
    checked, problems = partition_tables(raw, shared)
    if problems:
        return None, problems
    frames = {name: checked[name].frame if name in checked else empty_table(TABLES_BY_NAME[name])
              for name in TABLES_BY_NAME}
    return Dataset(**frames, policy=shared.policy), []  # type: ignore[arg-type]


def _in_file(problem: Problem, rows: np.ndarray) -> Problem:
    """``problem`` with its partition rows replaced by the rows of the file."""
    return replace(problem, rows=tuple(int(rows[r - 1]) for r in problem.rows))


def merge_problems(problems: list[Problem]) -> list[Problem]:
    """Problems of several partitions as the whole table's check reports them: one per table,
    column and expectation, rows ascending with their values."""
    merged: dict[tuple[str, str | None, str], list[Problem]] = {}
    for p in problems:
        merged.setdefault((p.table, p.column, p.expected), []).append(p)
    out = []
    for (table, column, expected), group in merged.items():
        pairs = sorted({(r, v) for p in group for r, v in zip(p.rows, p.values or ("",) * len(p.rows),
                                                                 strict=True)})
        has_values = any(p.values for p in group)
        out.append(Problem(table, column, tuple(r for r, _ in pairs),
                           tuple(v for _, v in pairs) if has_values else (), expected))
    return sorted(out, key=_report_order)


def _report_order(problem: Problem) -> tuple[int, int, int]:
    """Where the whole-table checks report ``problem``: cell checks table by table and column by
    column, then references, then row rules."""
    from features.contract import FOREIGN_KEYS, ROW_RULES, TABLES

    names = [t.name for t in TABLES]
    table = names.index(problem.table) if problem.table in names else len(names)
    columns = TABLES_BY_NAME[problem.table].column_names if problem.table in TABLES_BY_NAME else []
    column = columns.index(problem.column) if problem.column in columns else len(columns)
    phase = 0
    if any(fk.table == problem.table and fk.column == problem.column and problem.expected.endswith(f"exists in {fk.target}")
           for fk in FOREIGN_KEYS):
        phase = 1
    if any(rule.table == problem.table and rule.describe() == problem.expected for rule in ROW_RULES):
        phase = 2
    return (phase, table, column)
