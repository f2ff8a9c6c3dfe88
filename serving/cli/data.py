"""``symbiose validate`` and ``symbiose generate``: check a data directory, write a sample one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from serving.cli.common import (
    AsOfOpt,
    CommandError,
    DataOpt,
    check_out_directory,
    check_out_file,
    command_errors,
    load_data,
    out,
    parse_as_of,
)


def validate(data: DataOpt) -> None:
    """Check a data directory against the data contract."""
    with command_errors():
        ds = load_data(data)
        out.print(f"[green]ok[/] {escape(str(data))}: {len(ds.accounts):,} accounts, {len(ds.offers):,} offers, "
                  f"{len(ds.orders):,} order lines, {len(ds.touches):,} touches, "
                  f"{len(ds.web_events):,} web events, {len(ds.reps):,} reps")


def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="data directory to write")],
    accounts: Annotated[int, typer.Option("--accounts", min=10, help="number of accounts")] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_of: AsOfOpt = None,
    truth: Annotated[Path | None, typer.Option("--truth", help="ground-truth file (default: beside --out)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    world: Annotated[str, typer.Option(
        "--world", help="preset of what drives response: " + ", ".join(_world_names()))] = "wholesaler",
) -> None:
    """Write a realistic sample data set (and its ground truth, outside the data directory)."""
    from features.sample_data import DEFAULT_AS_OF
    from features.sample_data import generate as run_generate
    from features.sample_worlds import WORLDS

    with command_errors():
        check_out_directory(out_dir)
        if truth is not None:
            check_out_file(truth, "--truth")
        if world not in WORLDS:
            raise CommandError(f"--world {world!r}: expected one of {', '.join(WORLDS)}")
        summary = run_generate(out_dir, n_accounts=accounts, seed=seed, world=world,
                               as_of=parse_as_of(as_of) or DEFAULT_AS_OF, truth_path=truth, fmt=fmt)
        out.print(f"[green]wrote[/] {escape(str(summary))}")


def _world_names() -> list[str]:
    from features.sample_worlds import WORLDS

    return list(WORLDS)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to ``app``."""
    app.command()(validate)
    app.command()(generate)
