"""The ``symbiose monitor`` command: is the model going stale?

:func:`register` adds the command to a Typer app (``serving.cli``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from serving.cli.common import (
    AsOfOpt,
    CommandError,
    command_errors,
    load_data,
    out,
    parse_as_of,
    progress,
    settings,
)

if TYPE_CHECKING:
    from models.monitoring.report import MonitorReport

#: Exit code when a check crossed its drift threshold (a scheduler can retrain on it).
DRIFT_EXIT_CODE = 3

MONITOR_HELP = """Check whether a model is going stale; exit code 3 when a threshold is crossed.

Population stability (PSI) of every feature and of the predicted values (each account's first
suggestion: expected incremental margin, p_convert, channel) between the model's training snapshot
and the data's latest as-of time; realized against predicted conversion of the logged suggestions
that were carried out (the service's decision log, SYMBIOSE_DATABASE_URL) once their attribution
window has closed, per channel and offer with Wilson intervals; and the share of suggestions
accepted, dismissed and done per model version. Writes monitor.html and PNG plots to --out and
logs the metrics (monitor/...) to the model's MLflow run. Exit codes: 0 no threshold crossed,
3 drift, 1 (or the data contract's code) for errors.
"""


def register(app: typer.Typer) -> None:
    """Add the ``monitor`` command to ``app``."""
    app.command("monitor", help=MONITOR_HELP)(monitor)


def monitor(
    data: Annotated[Path, typer.Option("--data", help="data directory (docs/data-contract.md §1)")],
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else latest)")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="directory for monitor.html and the plots (default: under SYMBIOSE_HOME)")] = None,
    as_of: AsOfOpt = None,
    log: Annotated[bool, typer.Option("--log/--no-log", help="log the metrics to the model's MLflow run")] = True,
) -> None:
    """Check a model against the latest data and its decision log."""
    from features.loading import load_dataset
    from models.evaluation.report import metric_key
    from models.evaluation.run_log import model_run_id
    from models.monitoring.html import write_monitor_report
    from models.monitoring.run_log import log_monitoring
    from models.registry import configure_tracking, home, resolve_model_uri
    from serving.monitoring import monitor_served
    from serving.store.db import Database

    with command_errors():
        ts = parse_as_of(as_of)
        ds = load_data(data)
        configure_tracking()
        uri, version = resolve_model_uri(model)
        if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
            raise CommandError(f"--out {out_dir}: expected a directory, got a file")
        config = settings()
        with progress("monitoring"), \
                Database.open(config.resolved_database_url(), sqlite_synchronous=config.sqlite_synchronous) as db:
            report = monitor_served(ds, uri, version, db, as_of=ts, load=load_dataset)
        target = out_dir or home() / "monitoring" / (
            f"{metric_key(version)}-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}")
        html = write_monitor_report(report, target)
        print_checks(report, out)
        out.print(f"[green]wrote[/] {html} and its plots", highlight=False)
        if log:
            run_id = model_run_id(uri)
            if run_id is None:
                out.print(f"[yellow]not logged:[/] no MLflow run found for {uri}", highlight=False)
            else:
                folder = log_monitoring(report, run_id, target)
                out.print(f"logged to run {run_id} (metrics monitor/*, {folder})", highlight=False)
    if report.drift:
        raise typer.Exit(DRIFT_EXIT_CODE)


MIN_TABLE_WIDTH = 160
VERDICT_STYLE = {"ok": "green", "watch": "yellow", "drift": "bold red", "not enough data": "dim"}


def print_checks(report: MonitorReport, console: Console) -> None:
    """The checks as a rich table, then the overall verdict."""
    table = Table(title=f"{report.model_version}: trained as of {report.model_as_of:%Y-%m-%d}, "
                        f"data as of {report.data_as_of:%Y-%m-%d}")
    table.add_column("check", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("threshold", justify="right")
    table.add_column("verdict", no_wrap=True)
    table.add_column("detail")
    for c in report.checks:
        style = VERDICT_STYLE.get(c.verdict, "")
        table.add_row(c.name, _number(c.value), _number(c.threshold), f"[{style}]{c.verdict}[/]", c.detail)
    # Details are never cut to a sliver: the table gets at least MIN_TABLE_WIDTH columns.
    Console(file=console.file, width=max(console.width, MIN_TABLE_WIDTH),
            color_system=cast(Any, console.color_system), force_terminal=console.is_terminal).print(table)
    if len(report.feedback):
        shares = Table(title="Feedback on the suggestions shown, per model version")
        for name in ("model version", "shown", "answered", "accepted", "dismissed", "done"):
            shares.add_column(name, justify="left" if name == "model version" else "right")
        for row in report.feedback.itertuples():
            shares.add_row(str(row.model_version), f"{row.shown:,}", f"{row.answered:,}",
                           *(f"{getattr(row, f'{s}_share'):.1%}" for s in ("accepted", "dismissed", "done")))
        console.print(shares)
    console.print(f"reference: {report.reference_source}", highlight=False, markup=False)
    style = VERDICT_STYLE.get(report.verdict, "")
    console.print(f"verdict: [{style}]{report.verdict}[/]", highlight=False)


def _number(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.4f}"
