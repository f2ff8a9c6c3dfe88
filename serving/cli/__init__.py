"""The ``symbiose`` command line (docs/data-contract.md §4).

Every command exits 0 on success and non-zero with a clear message on stderr otherwise; a failed
command leaves no partial output file and no model version behind. One module per command group;
what they share is public in :mod:`serving.cli.common` (nothing there imports a command module).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from serving.cli import (
    attribution,
    campaigns,
    data,
    evaluate,
    model,
    monitor,
    promotion,
    serve,
    users,
)
from serving.cli.common import start_command

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Symbiose: next best actions for B2B outreach, ranked by incremental margin.")


@app.callback()
def _options(ctx: typer.Context,
             debug: Annotated[bool, typer.Option(
                 "--debug", help="show the traceback of an unexpected error")] = False,
             log_json: Annotated[bool, typer.Option(
                 "--log-json", help="log the command's steps and any error as JSON lines on stderr "
                                    "(event, step, duration, counts); stdout is unchanged")] = False,
             ) -> None:
    start_command(debug=debug, log_json=log_json, ctx=ctx)


for group in (data, model, serve, users, attribution, campaigns, promotion, evaluate, monitor):
    group.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    command: Any = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="symbiose",
                     standalone_mode=True)
    except SystemExit as exc:
        raise SystemExit(exc.code) from None
