"""The ``symbiose attribution`` command: revenue credited per rep, region, channel or campaign.

:func:`register` adds the command to a Typer app (``serving.cli``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.attribution import AMOUNT_COLUMNS, KEY_COLUMNS
from serving.cli.common import (
    CommandError,
    check_out_file,
    command_errors,
    load_data,
    out,
    parse_time,
)


class By(StrEnum):
    """Groupings of the attribution table."""

    rep = "rep"
    region = "region"
    channel = "channel"
    campaign = "campaign"


ATTRIBUTION_HELP = """Revenue of a period credited to reps, regions, channels or campaigns.

The period holds the order lines with FROM <= ordered_at < TO. Every order line counts for the
account's owner (rep and region) at the time of the order; account_owners.csv|parquet in the
data directory (account_id, rep_id, region, valid_from) gives the ownership history, otherwise
the owner in accounts applies. An online order line in the attribution window after a touch
(same category as the touch's offer, any category for a generic contact) is also credited as
online_revenue_after_outreach to the last such touch, its channel and the rep or campaign that
executed it.

Rows by --by: rep = revenue of the accounts each rep owned, credit of the touches the rep
executed; (unassigned) = accounts without a rep; (marketing) = credit of marketing touches
without a rep. region = revenue and credit of the accounts in each region. channel = one row
per outreach channel with the online revenue credited to it, and (not credited) with all
offline revenue and the online revenue that followed no outreach. campaign = one row per
campaign with the online revenue credited to it, and (no campaign) with everything else.
Each column adds up over the rows; offline_revenue + online_revenue = all order revenue of the
period, to the cent.
"""


def register(app: typer.Typer) -> None:
    """Add the ``attribution`` command to ``app``."""
    app.command("attribution", help=ATTRIBUTION_HELP)(attribution)


def attribution(
    data: Annotated[Path, typer.Option("--data", help="data directory (docs/data-contract.md §1)")],
    start: Annotated[str, typer.Option("--from", help="first day of the period, ISO 8601 "
                                       "(inclusive: ordered_at >= FROM)")],
    end: Annotated[str, typer.Option("--to", help="end of the period, ISO 8601 "
                                     "(exclusive: ordered_at < TO)")],
    by: Annotated[By, typer.Option("--by", help="one row per rep, region, channel or campaign")],
    out_file: Annotated[Path | None, typer.Option("--out", help="also write the table "
                                                  "(.csv or .parquet)")] = None,
) -> None:
    """Print (and export) the attribution table of a period."""
    from features.attribution import attribute_orders, attribution_table
    from features.ownership import load_account_owners
    from serving.output import output_format, write_frame_atomic

    with command_errors():
        if out_file is not None:
            output_format(out_file)
            check_out_file(out_file)
        first, last = parse_time(start, "--from"), parse_time(end, "--to")
        if first is None or last is None or not first < last:
            raise CommandError(f"--from {start} must be before --to {end} (the period is "
                               "FROM <= ordered_at < TO)")
        dataset = load_data(data)
        owners = load_account_owners(data, dataset.accounts)
        table = attribution_table(attribute_orders(dataset, owners), by.value, first, last)
        if out_file is not None:
            write_frame_atomic(table, out_file)
        print_table(table, by.value, first, last, dataset.policy.currency, out)
        if out_file is not None:
            out.print(f"[green]wrote[/] {escape(str(out_file))}: {len(table):,} rows", highlight=False)


#: Columns of the printed table: (table column, header). The export has every column.
PRINTED = (("offline_revenue", "offline"), ("online_revenue", "online"),
           ("online_share", "online %"), ("online_revenue_after_outreach", "after outreach"),
           ("orders", "orders"))


def print_table(table: pd.DataFrame, by: str, start: pd.Timestamp, end: pd.Timestamp,
                currency: str, console: Console) -> None:
    """The attribution table as a rich table with a totals row (amounts in whole units)."""
    key = KEY_COLUMNS[by]
    shown = Table(title=f"Revenue by {by}, {start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive)",
                  caption=f"amounts in {currency}, rounded here; the exported file has cents",
                  show_footer=len(table) > 0)
    totals = {c: table[c].sum() for c in AMOUNT_COLUMNS if c != "online_share"}
    overall = totals["offline_revenue"] + totals["online_revenue"]
    totals["online_share"] = totals["online_revenue"] / overall if overall > 0 else float("nan")
    shown.add_column(key, footer="total")
    for column, header in PRINTED:
        shown.add_column(header, justify="right", no_wrap=True,
                         footer=_cell(column, totals[column]))
    for row in table.itertuples(index=False):
        values = row._asdict()
        shown.add_row(escape(str(values[key])), *(_cell(c, values[c]) for c, _ in PRINTED))
    console.print(shown)


def _cell(column: str, value: float) -> str:
    if column == "online_share":
        return "–" if pd.isna(value) else f"{value:.1%}"
    return f"{value:,.0f}"
