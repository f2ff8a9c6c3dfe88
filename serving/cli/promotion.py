"""The ``symbiose promote`` and ``symbiose rollback`` commands: move the ``champion`` alias.

:func:`register` adds both commands to a Typer app (``serving.cli``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from serving.cli.common import CommandError, command_errors, load_data, out, progress

if TYPE_CHECKING:
    from models.promotion import Evaluator, PromotionOutcome

#: Exit code of ``promote`` when the gate refused the challenger.
REFUSED_EXIT_CODE = 3
#: Metrics shown side by side (the gate reads some of them; the others give context).
SHOWN_METRICS = ("dr_policy_value", "dr_policy_value_low", "dr_policy_value_high",
                 "snips_policy_value", "auc", "log_loss", "calibration_error", "holdout_decisions")

PROMOTE_HELP = (
    "Compare the challenger with the champion and make it champion if it is as good.\n\n"
    "Both are evaluated on the same holdout (the challenger's) from the data directory (default: "
    "the one the challenger was trained on). Every check must pass: DR policy value not below the "
    "champion's lower confidence bound, calibration error not worse than the champion's + 0.01 "
    "(0.02 always allowed), AUC not lower by more than 0.02, and enough logged decisions in the "
    "holdout. Exit code 0 when promoted, 3 when refused. --force promotes anyway; the decision, "
    "the failed checks and --reason are recorded in MLflow (a run, and tags on the version)."
)

ROLLBACK_HELP = """Give the champion alias back to the version the current champion replaced."""


def register(app: typer.Typer, evaluator: Callable[[], Evaluator] | None = None) -> None:
    """Add ``promote`` and ``rollback`` to ``app``; ``evaluator`` builds the evaluator used by
    ``promote`` (default: :func:`models.promotion.default_evaluator`)."""

    def promote(
        data: Annotated[Path | None, typer.Option(
            "--data", help="data directory to evaluate on (default: the challenger's training data)")] = None,
        force: Annotated[bool, typer.Option("--force", help="promote even when checks fail (recorded)")] = False,
        reason: Annotated[str | None, typer.Option("--reason", help="why; recorded with the decision")] = None,
    ) -> None:
        run_promote(data, force=force, reason=reason, evaluator=evaluator)

    app.command("promote", help=PROMOTE_HELP)(promote)
    app.command("rollback", help=ROLLBACK_HELP)(rollback)


def run_promote(data: Path | None, *, force: bool, reason: str | None,
                evaluator: Callable[[], Evaluator] | None) -> None:
    """The body of ``symbiose promote``."""
    from mlflow.exceptions import MlflowException

    from models.promotion import PromotionError, default_evaluator, run_promotion

    if reason is not None and not reason.strip():
        reason = None
    with command_errors():
        try:
            with progress("evaluating challenger and champion"):
                outcome = run_promotion(load_data, data=data, evaluator=(evaluator or default_evaluator)(),
                                        force=force, reason=reason)
        except PromotionError as exc:
            raise CommandError(str(exc)) from None
        except MlflowException as exc:
            raise CommandError(f"the model registry failed: {exc.message}") from None
        print_outcome(outcome, out)
    if outcome.decision is not None and not outcome.promoted:
        raise typer.Exit(REFUSED_EXIT_CODE)


def rollback() -> None:
    """Give the champion alias back to the version the current champion replaced."""
    from models.registry import configure_tracking, rollback_champion, version_label

    with command_errors():
        configure_tracking()
        current, previous = rollback_champion()
        out.print(f"champion rolled back from {version_label(current)} to {version_label(previous)}",
                  highlight=False)


def print_outcome(outcome: PromotionOutcome, console: Console) -> None:
    """The metrics side by side, the checks with their reasons, and what happened."""
    from models.registry import version_label

    new = version_label(outcome.challenger)
    if outcome.decision is None:
        console.print(outcome.note, highlight=False)
        return
    old = version_label(outcome.champion) if outcome.champion is not None else "-"
    start, end = outcome.window or (None, None)
    metrics = Table(title=f"holdout {start:%Y-%m-%d} to {end:%Y-%m-%d}" if start is not None else None)
    metrics.add_column("metric")
    metrics.add_column(f"challenger {new}", justify="right")
    metrics.add_column(f"champion {old}", justify="right")
    for key in SHOWN_METRICS:
        a, b = (outcome.challenger_metrics or {}).get(key), (outcome.champion_metrics or {}).get(key)
        if a is not None or b is not None:
            metrics.add_row(key, _number(a), _number(b))
    console.print(metrics)
    checks = Table(title="promotion checks")
    for column in ("check", "result", "why"):
        checks.add_column(column, overflow="fold")
    for check in outcome.decision.checks:
        checks.add_row(check.name, "[green]pass[/]" if check.passed else "[red]fail[/]", check.detail)
    console.print(checks)
    failed = ", ".join(c.name for c in outcome.decision.failed)
    if outcome.forced:
        console.print(f"[yellow]promoted by force:[/] {new} is the champion (was {old}) although "
                      f"these checks failed: {failed}; recorded in MLflow run {outcome.run_id}",
                      highlight=False)
    elif outcome.promoted:
        console.print(f"[green]promoted:[/] {new} is the champion (was {old}); every check passed",
                      highlight=False)
    else:
        console.print(f"[red]refused:[/] {old} stays the champion; failed: {failed}. "
                      "Use --force (with --reason) to promote anyway", highlight=False)


def _number(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(number):
        return "-"
    return f"{number:,.0f}" if number.is_integer() and abs(number) >= 100 else f"{number:,.4f}"
