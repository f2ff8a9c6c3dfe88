"""Reading a data directory into a ``Dataset``, checked against the contract.

``validate_directory`` returns every problem of every file at once; ``load_dataset`` returns
the normalized ``Dataset`` or raises ``ContractError`` listing all of them. Each table is
``NAME.csv`` or ``NAME.parquet``; CSV text ids stay text (``007`` stays ``007``) and an
empty cell is empty (``NA`` or ``null`` are ordinary text).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import TABLES, Table
from features.dataset import Dataset
from features.files import (
    FileRefused,
    check_readable,
    parquet_columns_once,
    present,
    read_csv_table,
)
from features.policy import Policy, PolicyError, load_policy
from features.validation import (
    CheckedTable,
    ContractError,
    Problem,
    check_references,
    check_row_rules,
    check_table,
    empty_table,
)

POLICY_FILE = "policy.yaml"


def validate_directory(path: str | Path) -> list[Problem]:
    """Every way the data directory at ``path`` breaks the contract; empty when it is valid."""
    return _read_directory(Path(path))[1]


def load_dataset(path: str | Path) -> Dataset:
    """Read and normalize the data directory at ``path``.

    Raises ``ContractError`` listing every problem of every file when it breaks the contract.
    """
    dataset, problems = _read_directory(Path(path))
    if dataset is None:
        raise ContractError(problems)
    return dataset


def _read_directory(directory: Path) -> tuple[Dataset | None, list[Problem]]:
    if not directory.is_dir():
        return None, [Problem("directory", None, (), (str(directory),),
                              "an existing data directory with accounts, offers, orders "
                              "and touches tables")]
    problems: list[Problem] = []
    policy = _read_policy(directory, problems)
    channels = None if policy is None else policy.channel_names
    checked: dict[str, CheckedTable] = {}
    for table in TABLES:
        raw = _read_table(directory, table, problems)
        if raw is not None:
            checked[table.name] = check_table(raw, table, channels)
            problems += checked[table.name].problems
    problems += check_references(checked)
    problems += check_row_rules(checked)
    if problems or policy is None:
        return None, problems
    frames = {t.name: checked[t.name].frame if t.name in checked else empty_table(t)
              for t in TABLES}
    return Dataset(**frames, policy=policy, source=directory), []


def _read_policy(directory: Path, problems: list[Problem]) -> Policy | None:
    """The directory's policy (defaults when there is no policy.yaml); None when it is broken."""
    try:
        if present(directory / POLICY_FILE):
            check_readable(directory / POLICY_FILE)
        return load_policy(directory / POLICY_FILE)
    except FileRefused as exc:
        problems.append(Problem("policy", None, (), (), exc.expected))
        return None
    except PolicyError as exc:
        detail = str(exc).removeprefix(f"{POLICY_FILE}: ")
        problems.append(Problem("policy", None, (), (),
                                f"valid business rules in {POLICY_FILE}; {detail}"))
        return None


def _read_table(directory: Path, table: Table, problems: list[Problem]) -> pd.DataFrame | None:
    """The raw cells of ``table``'s file, or None (with a problem when that is an error)."""
    csv_path = directory / f"{table.name}.csv"
    parquet_path = directory / f"{table.name}.parquet"
    if present(csv_path) and present(parquet_path):
        problems.append(Problem(table.name, None, (), (),
                                f"only one of {csv_path.name} and {parquet_path.name} "
                                "(found both)"))
        return None
    if not present(csv_path) and not present(parquet_path):
        if table.required:
            problems.append(Problem(table.name, None, (), (),
                                    f"a file {csv_path.name} or {parquet_path.name} in "
                                    f"{directory} (required table)"))
        return None
    if present(csv_path):
        return _read_csv(csv_path, table, problems)
    return _read_parquet(parquet_path, table, problems)


def _read_csv(path: Path, table: Table, problems: list[Problem]) -> pd.DataFrame | None:
    """The CSV file's cells in the format the whole file shows (``features.files``)."""
    frame, found = read_csv_table(path, table)
    problems += found
    return frame


def _read_parquet(path: Path, table: Table, problems: list[Problem]) -> pd.DataFrame | None:
    try:
        check_readable(path)
        repeated = parquet_columns_once(pq.read_schema(path).names, table)
        if repeated:
            problems += repeated
            return None
        return pd.read_parquet(path)
    except FileRefused as exc:
        problems.append(Problem(table.name, None, (), (), exc.expected))
        return None
    except (pa.ArrowException, OSError, ValueError) as exc:
        problems.append(Problem(table.name, None, (), (),
                                f"a readable Parquet file ({path.name}: {exc})"))
        return None
