"""What every command shares: consoles, the common options, the one mapping of errors to messages
and exit codes, data loading, the as-of option, progress display, the command's settings, and its
JSON log (``--log-json``: each step, the command's end and any error as one JSON object per line
on stderr, formatted by :class:`serving.json_logs.JsonLines`; stdout stays as it is).

Nothing here imports a command module; every command module imports what it needs from here."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from features.dataset import Dataset
from features.errors import SymbioseError
from serving.json_logs import JsonLines, log_fields
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
#: The command's JSON log (``--log-json``): on or off, its handler, the command, when it started.
LOG = logging.getLogger("symbiose.cli")
_JSON: dict[str, Any] = {"on": False, "handler": None, "levels": None, "command": "", "started": 0.0}


def start_command(*, debug: bool, log_json: bool = False, ctx: typer.Context | None = None) -> None:
    """Called before every command: remember ``--debug`` and ``--log-json``, read the settings
    afresh. With ``--log-json``, the command's end is logged when ``ctx`` closes."""
    DEBUG["on"] = debug
    _SETTINGS.clear()
    _log_json(log_json)
    _JSON["started"] = time.perf_counter()
    _JSON["command"] = (ctx.invoked_subcommand or "") if ctx is not None else ""
    if log_json and ctx is not None:
        ctx.call_on_close(_command_closed)


def _log_json(on: bool) -> None:
    """Send every log record (Symbiose's from INFO, others' from WARNING, Python warnings too) to
    the current stderr as JSON lines, or stop doing so."""
    root, own = logging.getLogger(), logging.getLogger("symbiose")
    if _JSON["handler"] is not None:
        root.removeHandler(_JSON["handler"])
        root.setLevel(_JSON["levels"][0])
        own.setLevel(_JSON["levels"][1])
        _JSON["handler"] = None
    _JSON["on"] = on
    logging.captureWarnings(on)
    if not on:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    _JSON["levels"] = (root.level, own.level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    own.setLevel(logging.INFO)
    _JSON["handler"] = handler


def _command_closed() -> None:
    """Log the command's end (called while its context closes, an exception possibly in flight),
    then stop logging JSON."""
    failure = sys.exc_info()[1]
    if failure is None:
        code = 0
    elif isinstance(failure, SystemExit):
        code = failure.code if isinstance(failure.code, int) else 1
    else:  # typer's Exit and usage errors carry their exit code
        exit_code = getattr(failure, "exit_code", 1)
        code = exit_code if isinstance(exit_code, int) else 1
    log_fields(LOG, {"event": "command", "command": _JSON["command"], "status": "ok" if code == 0 else "error",
                     "exit_code": code, "duration_s": round(time.perf_counter() - _JSON["started"], 3)})
    _log_json(False)


def json_logs() -> bool:
    """Whether the command logs JSON lines (``--log-json``)."""
    return bool(_JSON["on"])


def log_event(event: str, **fields: Any) -> None:
    """One JSON line ``{"event": event, "command": ..., **fields}`` when ``--log-json`` is on (the
    command as named after ``symbiose``: ``train``, ``users``)."""
    if _JSON["on"]:
        log_fields(LOG, {"event": event, "command": _JSON["command"], **fields})


def note(text: str) -> None:
    """A message for the person at the terminal: on stderr, or as a ``note`` event in JSON."""
    if _JSON["on"]:
        log_event("note", message=text)
    else:
        err.print(Text(text))


class Step:
    """What a step reports besides its name and duration: counts (rows, accounts, ...)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(self, **counts: int) -> None:
        """Add ``counts`` to the step's log line."""
        self.counts.update({name: int(value) for name, value in counts.items()})


@contextmanager
def step(name: str) -> Iterator[Step]:
    """A named step of the command: with ``--log-json``, one ``step`` line when it ends (status
    ok or error, duration in seconds, the counts it reported)."""
    record = Step()
    started = time.perf_counter()
    status = "error"
    try:
        yield record
        status = "ok"
    finally:
        log_event("step", step=name, status=status, duration_s=round(time.perf_counter() - started, 3),
                  **record.counts)


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
    line with a hint to rerun with ``--debug``. With ``--log-json`` the message is an ``error``
    line instead."""
    from sqlalchemy.exc import SQLAlchemyError

    from features.validation import ContractError

    for name in ("mlflow", "alembic"):  # routine INFO lines (creating tables, validating examples)
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    except ContractError as exc:
        _fail(f"the data directory does not match the contract ({len(exc.problems)} problem(s)):",
              details=[str(p) for p in exc.problems])
    except (SymbioseError, FileNotFoundError, NotADirectoryError) as exc:
        _fail(str(exc))
    except (IsADirectoryError, FileExistsError, PermissionError) as exc:
        _fail(_file_error(exc))
    except SQLAlchemyError as exc:
        if DEBUG["on"]:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        _fail(f"the database cannot be used ({type(exc).__name__}: {first}); check SYMBIOSE_DATABASE_URL")
    except Exception as exc:
        if DEBUG["on"]:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc}",
              hint="this is a bug in symbiose; rerun with --debug to see the traceback")


def _fail(message: str, *, details: list[str] | None = None, hint: str | None = None) -> None:
    """Report a failed command (on stderr, or as a JSON ``error`` line) and exit with 1."""
    if _JSON["on"]:
        extra: dict[str, Any] = {"details": details} if details else {}
        log_event("error", message=message if hint is None else f"{message} ({hint})", **extra)
    else:
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        for detail in details or ():
            err.print(f"  - {detail}", highlight=False, markup=False)
        if hint:
            err.print(hint, highlight=False)
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
    with step("load data") as loaded:
        dataset = load_dataset(data)
        loaded.count(accounts=len(dataset.accounts), orders=len(dataset.orders), touches=len(dataset.touches),
                     web_events=len(dataset.web_events))
    return dataset


@contextmanager
def step_progress(steps: Sequence[str]) -> Iterator[Callable[[int, str], None]]:
    """A progress bar over ``steps`` (step i of n, its text, the time elapsed) on a terminal; a
    plain line per step otherwise. Yields ``start(i, text)`` to call as step ``i`` begins; each
    step is also a :func:`step` (its ``--log-json`` line when the next one begins or all end)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    total = len(steps)
    with ExitStack() as current:
        def begin(text: str) -> None:
            current.close()  # the step before ends here
            current.enter_context(step(text))

        if not out.is_terminal:
            def start_plain(i: int, text: str) -> None:
                begin(text)
                out.print(f"step {i + 1}/{total}: {text}", highlight=False, markup=False)

            yield start_plain
            return
        bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=out, transient=False)
        with bar:
            task = bar.add_task(steps[0] if steps else "", total=total)

            def start(i: int, text: str) -> None:
                begin(text)
                bar.update(task, completed=i, description=text)

            yield start
            bar.update(task, completed=total, description="done")


@contextmanager
def progress(text: str) -> Iterator[Step]:
    """A spinner with ``text`` while the block runs (on a terminal only); a :func:`step` too."""
    with step(text) as record:
        if out.is_terminal:
            with out.status(text + " ..."):
                yield record
        else:
            yield record
