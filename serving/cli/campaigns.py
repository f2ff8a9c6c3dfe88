"""The ``symbiose campaign`` commands: ``plan`` an audience under budgets and capacities with a
control group, ``report`` contacted vs holdout once outcomes arrived.

:func:`register` adds the sub-app to a Typer app (``serving.cli``). Campaigns are stored in the
service database (``SYMBIOSE_DATABASE_URL``, default the embedded SQLite file).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.errors import InputError
from serving.cli.common import (
    CommandError,
    check_out_file,
    command_errors,
    load_data,
    out,
    progress,
    settings,
)

campaign_app = typer.Typer(no_args_is_help=True, help="Marketing campaigns: plan an audience, report its results.")


def register(app: typer.Typer) -> None:
    """Add the ``campaign`` sub-app to ``app``."""
    app.add_typer(campaign_app, name="campaign")


def parse_assignments(values: list[str] | None, option: str, kind: type) -> dict[str, Any]:
    """``["email=100", "phone=50"]`` -> ``{"email": 100.0, ...}``; a clear error otherwise."""
    out: dict[str, Any] = {}
    for value in values or []:
        key, sep, number = value.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            parsed = kind(number)
        except ValueError:
            raise InputError(f"{option} {value!r}: expected NAME={'N' if kind is int else 'AMOUNT'}, "
                             f"e.g. {option} email={'100' if kind is int else '250.0'}") from None
        out[key.strip()] = parsed
    return out


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@campaign_app.command("plan")
def plan(
    data: Annotated[Path, typer.Option("--data", help="data directory (docs/data-contract.md §1)")],
    name: Annotated[str, typer.Option("--name", help="campaign name (unique)")],
    out_file: Annotated[Path, typer.Option("--out", help="export of the contacted accounts (.csv or .parquet)")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="as-of time, ISO 8601 (default: the day after "
                                              "the latest event)")] = None,
    channels: Annotated[str | None, typer.Option("--channels", help="comma-separated channels "
                                                 "(default: all)")] = None,
    offers: Annotated[str | None, typer.Option("--offers", help="comma-separated offer ids (default: all)")] = None,
    budget: Annotated[float | None, typer.Option("--budget", min=0, help="total contact cost limit")] = None,
    channel_budget: Annotated[list[str] | None, typer.Option(
        "--channel-budget", help="CHANNEL=AMOUNT contact cost limit of one channel (repeatable)")] = None,
    offer_limit: Annotated[list[str] | None, typer.Option(
        "--offer-limit", help="OFFER=N most accounts for one offer (repeatable; overrides the offers "
                              "table's max_per_campaign)")] = None,
    max_accounts: Annotated[int | None, typer.Option("--max-accounts", min=0, help="most accounts "
                                                     "in the audience")] = None,
    min_incremental_margin: Annotated[float, typer.Option(
        "--min-incremental-margin", min=0, help="only actions expected to add more than this")] = 0.0,
    holdout: Annotated[float, typer.Option("--holdout", min=0.0, max=0.9, help="share of the audience "
                                           "held out as control group")] = 0.1,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed of the holdout draw")] = None,
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else "
                                              "latest)")] = None,
    bom: Annotated[bool, typer.Option("--excel-bom/--no-excel-bom", help="start the CSV with a UTF-8 "
                                      "byte-order mark (Excel)")] = False,
    sep: Annotated[str, typer.Option("--sep", help="CSV separator: , or ; (with decimal comma, for "
                                     "German spreadsheets)")] = ",",
) -> None:
    """Plan a campaign: best action per account under the limits, a control group, an export file."""
    from features.dataset import resolve_as_of
    from models.campaigns.candidates import score_recommendations
    from models.recommend import load_model
    from serving.campaigns.export import SEPARATORS, account_names, write_export
    from serving.campaigns.service import CampaignRequest, plan_and_store
    from serving.output import output_format
    from serving.store.db import Database
    from serving.store.users import utcnow

    with command_errors():
        output_format(out_file)
        check_out_file(out_file)
        if sep not in SEPARATORS:
            raise CommandError(f"--sep {sep!r}: expected ',' or ';'")
        request = CampaignRequest(
            name=name, channels=_names(channels), offers=_names(offers), budget=budget,
            channel_budgets=parse_assignments(channel_budget, "--channel-budget", float),
            offer_limits=parse_assignments(offer_limit, "--offer-limit", int), max_accounts=max_accounts,
            min_incremental_margin=min_incremental_margin, holdout=holdout, seed=seed)
        dataset = load_data(data)
        ts = resolve_as_of(dataset, as_of)
        with Database.open(settings().resolved_database_url()) as database:
            pipeline, version = load_model(model)
            with progress("scoring"):
                recs = score_recommendations(dataset, ts, pipeline, model_version=version)
            with database() as session, progress("optimizing"):
                _campaign, result = plan_and_store(session, request, recommendations=recs, dataset=dataset,
                                                   as_of=ts, model_version=version, user_id=None, now=utcnow())
            write_export(result.members, out_file, bom=bom, sep=sep, names=account_names(dataset.accounts))
        print_plan(name, result.campaign_id, result.summary, dataset.policy.currency, out)
        out.print(f"[green]wrote[/] {escape(str(out_file))}: {result.summary['contacted']:,} contacted accounts "
                  f"(holdout not exported)", highlight=False)


def print_plan(name: str, campaign_id: str, summary: dict[str, Any], currency: str, console: Console) -> None:
    """The plan's summary: audience, spend and expected margin per channel, method and gap."""
    table = Table(title=escape(f"campaign {name} ({campaign_id})"),
                  caption=f"{summary['members']:,} members: {summary['contacted']:,} contacted, "
                          f"{summary['holdout']:,} held out ({summary['holdout_share']:.1%}); "
                          f"{_method(summary)}")
    table.add_column("channel")
    table.add_column("accounts", justify="right")
    table.add_column(f"cost ({currency})", justify="right")
    table.add_column(f"expected incremental margin ({currency})", justify="right")
    for channel, row in summary["per_channel"].items():
        table.add_row(escape(str(channel)), f"{row['accounts']:,}", f"{row['cost']:,.2f}",
                      f"{row['expected_incremental_margin']:,.2f}")
    table.add_row("total", f"{summary['contacted']:,}", f"{summary['cost']:,.2f}",
                  f"{summary['expected_incremental_margin']:,.2f}")
    console.print(table)


def _method(summary: dict[str, Any]) -> str:
    if summary["method"] == "milp":
        gap = summary.get("mip_gap")
        return f"MILP (HiGHS), gap {gap:.4%}" if gap is not None else "MILP (HiGHS)"
    return f"greedy: {summary['method_reason']}"


@campaign_app.command("report")
def report(
    name: Annotated[str, typer.Argument(help="campaign name or id")],
    data: Annotated[Path, typer.Option("--data", help="data directory with the orders since the campaign")],
    plot: Annotated[Path | None, typer.Option("--plot", help="also draw the comparison as a PNG")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="also write the comparison rows "
                                                  "(.csv or .parquet)")] = None,
) -> None:
    """Contacted vs holdout: conversion and margin with 95 % intervals, per channel and offer,
    and the measured incremental margin against the plan."""
    from serving.campaigns.plot import plot_report
    from serving.campaigns.reports import report_for, report_rows
    from serving.output import output_format, write_frame_atomic
    from serving.store.db import Database

    with command_errors():
        if out_file is not None:
            output_format(out_file)
            check_out_file(out_file)
        if plot is not None:
            check_out_file(plot, "--plot")
        dataset = load_data(data)
        with Database.open(settings().resolved_database_url()) as database, database() as session:
            campaign, result = report_for(session, name, dataset)
        if campaign is None or result is None:
            raise CommandError(f"no campaign named {name!r}; plan one with `symbiose campaign plan`")
        written = []
        if plot is not None:
            written.append(str(plot_report(result, plot, f"campaign {campaign.name}")))
        if out_file is not None:
            write_frame_atomic(report_rows(result), out_file)
            written.append(str(out_file))
        print_report(campaign.name, result, dataset.policy.currency, out)
        if written:
            out.print("[green]wrote[/] " + escape(" and ".join(written)), highlight=False)


def print_report(name: str, result: Any, currency: str, console: Console) -> None:
    """Rows: overall, per channel, per offer; conversion and incremental margin with intervals."""
    window = "complete" if result.window_complete else (
        f"INCOMPLETE: data until {result.observed_until:%Y-%m-%d}" if result.observed_until is not None
        else "INCOMPLETE: no data")
    table = Table(title=escape(f"campaign {name}: {result.window_start:%Y-%m-%d} to "
                               f"{result.window_end:%Y-%m-%d} ({window})"),
                  caption=f"95 % intervals; incremental margin per contacted account after contact cost, "
                          f"in {currency}")
    for column in ("group", "contacted", "holdout", "conv. contacted", "conv. holdout", "conv. lift (pp)",
                   "incr. margin", "planned", "measured/planned"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for c in [result.overall, *result.by_channel, *result.by_offer]:
        lift, net = c.conversion_lift, c.incremental_margin
        table.add_row(escape(str(c.group)), f"{c.contacted:,}", f"{c.holdout:,}",
                      _shown(c.conversion_contacted, "{:.1%}"), _shown(c.conversion_holdout, "{:.1%}"),
                      _interval(lift.estimate * 100, lift.low * 100, lift.high * 100, "{:+.1f}"),
                      _interval(net.estimate, net.low, net.high, "{:+,.2f}"),
                      _shown(c.planned_incremental_margin, "{:,.2f}"),
                      "–" if c.lift_vs_plan is None else f"{c.lift_vs_plan:.2f}")
    console.print(table)
    if any(c.contacted < 2 or c.holdout < 2 for c in [result.overall, *result.by_channel, *result.by_offer]):
        console.print("– : not measurable, a group has fewer than two contacted or held-out accounts",
                      highlight=False)


def _shown(value: float, spec: str) -> str:
    """``value`` formatted, or ``–`` when it is not a number (a group without members)."""
    return spec.format(value) if math.isfinite(value) else "–"


def _interval(estimate: float, low: float, high: float, spec: str) -> str:
    """``estimate [low, high]``; the estimate alone when there is no interval; ``–`` without either."""
    if not math.isfinite(estimate):
        return "–"
    if not (math.isfinite(low) and math.isfinite(high)):
        return spec.format(estimate)
    return f"{spec.format(estimate)} [{spec.format(low)}, {spec.format(high)}]"


@campaign_app.command("list")
def list_command() -> None:
    """Every stored campaign, newest first: status, sizes, spend and expected margin."""
    import json

    from serving.store.campaigns import list_campaigns
    from serving.store.db import Database

    with command_errors():
        with Database.open(settings().resolved_database_url()) as database, database() as session:
            campaigns = list_campaigns(session)
        if not campaigns:
            out.print("no campaigns yet; plan one with `symbiose campaign plan`")
            return
        # One line per campaign (not a table): nothing is cut off on a narrow terminal.
        out.print("campaigns (newest first)", highlight=False)
        for c in campaigns:
            summary = json.loads(c.summary)
            status = f"cancelled {c.cancelled_at:%Y-%m-%d}" if c.cancelled_at is not None else "active"
            out.print(f"{c.name} ({c.id}): {status}; planned {c.created_at:%Y-%m-%d %H:%M}, as of {c.as_of:%Y-%m-%d}; "
                      f"{summary.get('contacted', 0):,} contacted, {summary.get('holdout', 0):,} in the control group; "
                      f"cost {summary.get('cost', 0.0):,.2f}, expected incremental margin "
                      f"{summary.get('expected_incremental_margin', 0.0):,.2f}",
                      markup=False, highlight=False, soft_wrap=True)


@campaign_app.command("cancel")
def cancel_command(name: Annotated[str, typer.Argument(help="campaign name or id")]) -> None:
    """Cancel a campaign: its rep actions leave the reps' lists (running services: within 30 s),
    its accounts are free for new campaigns."""
    from serving.store.campaigns import cancel_campaign, find_campaign
    from serving.store.db import Database
    from serving.store.users import utcnow

    with command_errors():
        with Database.open(settings().resolved_database_url()) as database, database() as session:
            found = find_campaign(session, name)
            if found is None:
                raise CommandError(f"no campaign named {name!r}; `symbiose campaign list` shows them")
            already = found.cancelled_at is not None
            campaign = cancel_campaign(session, found.id, utcnow())
        assert campaign is not None and campaign.cancelled_at is not None
        verb = "was already cancelled" if already else "cancelled"
        out.print(escape(f"campaign {campaign.name} ({campaign.id}) {verb} at {campaign.cancelled_at:%Y-%m-%d %H:%M} UTC"),
                  highlight=False)
