"""The ``symbiose evaluate`` command: holdout metrics, off-policy values and Qini curves of a model.

:func:`register` adds the command to a Typer app (``serving.cli``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from serving.cli.common import (
    CommandError,
    check_out_directory,
    command_errors,
    load_data,
    out,
    parse_time,
    progress,
)

EVALUATE_HELP = """Evaluate a model on a holdout: conversion metrics, policy values, Qini curves.

The holdout is the model's own validation period (the latest ~15 % of the labelled touches before
its as-of time, which it was never trained on), or the window given by --holdout-from/--holdout-to.
Policy values (IPS, self-normalized IPS, doubly robust, with bootstrap intervals) are estimated
from the logged decisions with a propensity, for the model and for the logging policy, `none`,
a random eligible action and the best single action. Writes report.html and PNG plots to --out
and logs them, with the metrics (prefix eval_), to the MLflow run that trained the model.
"""


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to ``app``."""
    app.command("evaluate", help=EVALUATE_HELP)(evaluate)


def evaluate(
    data: Annotated[Path, typer.Option("--data", help="data directory (docs/data-contract.md §1)")],
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else latest)")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="read only data before this time, ISO 8601 (default: end of the holdout)")] = None,
    holdout_from: Annotated[str | None, typer.Option(
        "--holdout-from", help="first time of the holdout, ISO 8601 (with --holdout-to)")] = None,
    holdout_to: Annotated[str | None, typer.Option(
        "--holdout-to", help="end of the holdout (exclusive), ISO 8601 (with --holdout-from)")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="directory for report.html and the plots (default: under SYMBIOSE_HOME)")] = None,
    boots: Annotated[int, typer.Option("--boots", min=0, max=10_000, help="bootstrap resamples")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="seed of the bootstrap and decision sampling")] = 0,
    max_decisions: Annotated[int, typer.Option(
        "--max-decisions", min=1, help="replay at most this many logged decisions (a seeded sample)")] = 10_000,
    log: Annotated[bool, typer.Option("--log/--no-log", help="log the evaluation to the model's MLflow run")] = True,
) -> None:
    """Evaluate a model on a holdout and write its report."""
    from features.dataset import check_as_of
    from models.evaluation.html import write_report
    from models.evaluation.report import evaluate_pipeline, metric_key
    from models.evaluation.run_log import log_written_evaluation, model_run_id
    from models.recommend import load_model
    from models.registry import home, resolve_model_uri

    with command_errors():
        if out_dir is not None:
            check_out_directory(out_dir)
        if (holdout_from is None) != (holdout_to is None):
            raise CommandError("--holdout-from and --holdout-to go together; got only "
                               + ("--holdout-from" if holdout_from else "--holdout-to"))
        ts, start, end = (parse_time(v, name) for v, name in
                          ((as_of, "--as-of"), (holdout_from, "--holdout-from"), (holdout_to, "--holdout-to")))
        ds = load_data(data)
        if ts is not None:
            check_as_of(ds, ts)
        pipeline, version = load_model(model)
        uri, _ = resolve_model_uri(model)
        with progress("evaluating"):
            report = evaluate_pipeline(pipeline, ds, as_of=ts, holdout_from=start, holdout_to=end,
                                       n_boot=boots, seed=seed, max_decisions=max_decisions)
        report.model_version = version
        target = out_dir or home() / "evaluations" / (
            f"{metric_key(version)}-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}")
        if target.exists() and not target.is_dir():
            raise CommandError(f"--out {target}: expected a directory, got a file")
        html = write_report(report, target)
        print_report(report, out)
        out.print(report.verdict(), highlight=False, markup=False)
        out.print(f"[green]wrote[/] {escape(str(html))} and its plots", highlight=False)
        if log:
            run_id = model_run_id(uri)
            if run_id is None:
                out.print(f"[yellow]not logged:[/] no MLflow run found for {escape(str(uri))}", highlight=False)
            else:
                artifact = log_written_evaluation(report, run_id, target)
                out.print(escape(f"logged to run {run_id} ({artifact}, metrics eval_*)"), highlight=False)


MIN_TABLE_WIDTH = 120


def print_report(report: Any, console: Console) -> None:
    """The conversion metrics and the policy values with their intervals, as rich tables."""
    m = report.metrics()
    head = Table(title=f"{report.model_version}: holdout {report.holdout_from:%Y-%m-%d} to "
                       f"{report.holdout_to:%Y-%m-%d} (exclusive)")
    head.add_column("metric")
    head.add_column("value", justify="right")
    for key in ("auc", "log_loss", "calibration_error", "brier", "holdout_examples", "holdout_decisions",
                "policy_matches", "policy_contact_share", "evaluation_seconds"):
        value = m[key]
        head.add_row(key, f"{value:,.0f}" if key.startswith("holdout") or key == "policy_matches"
                     else f"{value:.4f}")
    console.print(head)
    policies = report.policy_table()
    if policies.empty:
        console.print("no logged decision with a propensity in the holdout: no policy values")
        return
    table = Table(title=f"Policy value per decision ({report.n_boot} bootstrap resamples, 95 % intervals)")
    table.add_column("policy", no_wrap=True)
    for est in dict.fromkeys(policies["estimator"]):
        table.add_column(est.upper(), justify="right", no_wrap=True)
    table.add_column("decisions", justify="right")
    for policy, rows in policies.groupby("policy", sort=False):
        cells = [f"{r.value:,.1f} [{r.low:,.1f}, {r.high:,.1f}]" for r in rows.itertuples()]
        table.add_row(escape(str(policy)), *cells, f"{int(rows['n'].iloc[0]):,}")
    # Intervals are never cut: the table gets at least MIN_TABLE_WIDTH columns.
    Console(file=console.file, width=max(console.width, MIN_TABLE_WIDTH),
            color_system=cast(Any, console.color_system), force_terminal=console.is_terminal).print(table)
    if report.best_single_action:
        console.print(escape(f"best single action: {report.best_single_action}"), highlight=False)
    gain = report.gain_vs_none
    if gain is not None:
        console.print(f"model minus none (DR, paired): {gain.value:,.2f} [{gain.low:,.2f}, {gain.high:,.2f}]",
                      highlight=False)
