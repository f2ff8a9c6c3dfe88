"""What every command shares: consoles, the common options, the one mapping of errors to messages
and exit codes, data loading, the as-of option, progress display and the command's settings.

Nothing here imports a command module; every command module imports what it needs from here."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from features.dataset import Dataset
from features.errors import SymbioseError
from serving.settings import Settings

out = Console()
err = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option("--data", help="data directory (docs/data-contract.md §1)")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="as-of time, ISO 8601 (e.g. 2025-07-01 or 2025-07-01T10:15:00), after the first event and "
                    "at most 365 days after the last (default: midnight after the latest event)")]


class CommandError(SymbioseError):
    """A user-facing failure of a command: printed to stderr, exit code 1."""


#: Set by ``--debug``: unexpected errors show their traceback.
DEBUG = {"on": False}
_SETTINGS: dict[str, Settings] = {}


def start_command(*, debug: bool) -> None:
    """Called before every command: remember ``--debug``, read the settings afresh."""
    DEBUG["on"] = debug
    _SETTINGS.clear()


def settings(**overrides: Any) -> Settings:
    """The command's settings (``serving.settings.Settings``, read from the environment once per
    command), with ``overrides`` from its options."""
    if overrides:
        return Settings(**overrides)
    if "env" not in _SETTINGS:
        _SETTINGS["env"] = Settings()
    return _SETTINGS["env"]


@contextmanager
def command_errors() -> Iterator[None]:
    """The one place where a command's errors become messages and exit codes: Symbiose's own
    errors (``features.errors``) and missing files print their message; an unusable database
    says so; anything else is a bug: with ``--debug`` its traceback is shown, otherwise a short
    line with a hint to rerun with ``--debug``."""
    from sqlalchemy.exc import SQLAlchemyError

    from features.validation import ContractError

    for name in ("mlflow", "alembic"):  # routine INFO lines (creating tables, validating examples)
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    except ContractError as exc:
        err.print(f"[bold red]error:[/] the data directory does not match the contract "
                  f"({len(exc.problems)} problem(s)):", highlight=False)
        for problem in exc.problems:
            err.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except (SymbioseError, FileNotFoundError, NotADirectoryError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except (IsADirectoryError, FileExistsError, PermissionError) as exc:
        err.print(f"[bold red]error:[/] {escape(_file_error(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        if DEBUG["on"]:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.print(f"[bold red]error:[/] the database cannot be used ({type(exc).__name__}: {escape(first)}); "
                  "check SYMBIOSE_DATABASE_URL", highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:
        if DEBUG["on"]:
            raise
        err.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))}", highlight=False)
        err.print("this is a bug in symbiose; rerun with --debug to see the traceback", highlight=False)
        raise typer.Exit(1) from None


def _file_error(exc: OSError) -> str:
    """An operating-system error about files in one line: what and which file."""
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{exc.strerror or type(exc).__name__}: {' -> '.join(names)}" if names else str(exc)


def check_out_file(path: Path, option: str = "--out") -> None:
    """Raise ``CommandError`` unless a command can write the file ``path``: not an existing
    directory, and every existing folder above it a writable directory. Called before any work,
    so that a wrong path costs nothing and leaves nothing behind."""
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a directory; expected a file name, e.g. "
                           f"{path / ('out' + (path.suffix or '.csv'))}")
    _check_folders_above(path, option)


def check_out_directory(path: Path, option: str = "--out") -> None:
    """Raise ``CommandError`` unless a command can write into the directory ``path`` (existing
    or new): not an existing file, and every existing folder above it a writable directory."""
    if path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path}: is a file; expected a directory (existing or new)")
    _check_folders_above(path if path.is_dir() else path.parent, option, below=path)


def _check_folders_above(path: Path, option: str, below: Path | None = None) -> None:
    """The nearest existing folder of ``path`` (itself for a directory) must be a writable
    directory."""
    target = below or path
    for folder in [path, *path.parents] if below is not None else path.parents:
        if not os.path.lexists(folder):
            continue
        if not folder.is_dir():
            raise CommandError(f"{option} {target}: {folder} is a file, not a directory")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CommandError(f"{option} {target}: the directory {folder} is not writable")
        return


def parse_time(value: str | None, option: str) -> pd.Timestamp | None:
    """The time given to ``option`` as a naive UTC timestamp (None when not given)."""
    from features.dataset import as_utc_timestamp

    if value is None:
        return None
    return as_utc_timestamp(value, option)


def parse_as_of(value: str | None) -> pd.Timestamp | None:
    """``--as-of`` as a naive UTC timestamp (None when not given: each command then takes the
    data's default, ``features.dataset.resolve_as_of``)."""
    return parse_time(value, "--as-of")


def load_data(data: Path) -> Dataset:
    """The data directory ``--data``, loaded and checked against the contract."""
    from features.loading import load_dataset

    if not data.exists():
        raise CommandError(f"--data {data}: no such directory")
    if not data.is_dir():
        raise CommandError(f"--data {data}: expected a directory, got a file")
    return load_dataset(data)


@contextmanager
def step_progress(steps: Sequence[str]) -> Iterator[Callable[[int, str], None]]:
    """A progress bar over ``steps`` (step i of n, its text, the time elapsed) on a terminal; a
    plain line per step otherwise. Yields ``start(i, text)`` to call as step ``i`` begins."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    total = len(steps)
    if not out.is_terminal:
        def start_plain(i: int, text: str) -> None:
            out.print(f"step {i + 1}/{total}: {text}", highlight=False, markup=False)

        yield start_plain
        return
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=out, transient=False)
    with bar:
        task = bar.add_task(steps[0] if steps else "", total=total)

        def start(i: int, text: str) -> None:
            bar.update(task, completed=i, description=text)

        yield start
        bar.update(task, completed=total, description="done")


@contextmanager
def progress(text: str) -> Iterator[None]:
    """A spinner with ``text`` while the block runs (on a terminal only)."""
    if out.is_terminal:
        with out.status(text + " ..."):
            yield
    else:
        yield
