"""``symbiose serve`` and ``symbiose demo``: the HTTP service, and the whole loop on sample data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from serving.cli.common import (
    AsOfOpt,
    CommandError,
    command_errors,
    json_logs,
    log_event,
    out,
    parse_time,
    progress,
    settings,
)

if TYPE_CHECKING:
    from serving.settings import Settings
    from serving.snapshot import Snapshot


def demo(
    accounts: Annotated[int, typer.Option("--accounts", min=100)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    workdir: Annotated[Path, typer.Option("--dir", help="where demo data and results go")] = Path(".symbiose/demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="end by serving the suggestions")] = True,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Generate a sample data set, train, recommend, summarize and serve — no other set-up needed."""
    from serving.cli.demo import run_demo

    with command_errors():
        start_heap(settings())
        run_demo(workdir, n_accounts=accounts, seed=seed, console=out, serve=serve, port=port)


def serve(
    data: Annotated[Path | None, typer.Option("--data", help="data directory (default: SYMBIOSE_DATA)")] = None,
    host: Annotated[str | None, typer.Option("--host", help="interface (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="port (default 8000)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else latest)")] = None,
    as_of: AsOfOpt = None,
    explore: Annotated[float | None, typer.Option(
        "--explore", min=0.0, max=1.0,
        help="share of accounts whose first suggestion is a random eligible action or a `none` holdout "
             "(default: SYMBIOSE_EXPLORE, else 0); exact propensities go to the decision log")] = None,
    scores: Annotated[Path | None, typer.Option(
        "--scores", help="recommendations file of `symbiose recommend --top-k 20` to serve instead of scoring "
                         "at start (default: SYMBIOSE_SCORES); used only when its sidecar shows the same model, "
                         "data and as-of, otherwise the service says why and scores")] = None,
) -> None:
    """Start the HTTP service over the data directory's latest snapshot (docs at /docs)."""
    from serving.data_reading import DataReading

    with command_errors():
        overrides = {k: v for k, v in (("data", data), ("host", host), ("port", port), ("model", model),
                                       ("as_of", as_of), ("explore", explore), ("scores", scores))
                     if v is not None}
        config = settings(**overrides)
        start_heap(config)
        if config.as_of:
            parse_time(config.as_of, "--as-of" if as_of is not None else "SYMBIOSE_AS_OF")
        if config.data is None:
            raise CommandError("no data directory: pass --data DIR or set SYMBIOSE_DATA")
        # The data directory is read while the rest of the service's code loads.
        reading = DataReading(config.data) if Path(config.data).is_dir() else None

        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from serving.app import create_app
        from serving.runtime import settle_heap
        from serving.snapshot import load_snapshot
        from serving.store.db import Database
        from serving.web.context import compile_templates

        # The database first: an unusable URL is reported before minutes of scoring.
        Database.open(config.resolved_database_url(), sqlite_synchronous=config.sqlite_synchronous).close()
        with progress("loading model and snapshot"):
            application = create_app(config, snapshot=load_snapshot(config, reading=reading))
            del reading  # the service holds the tables it needs; nothing here may keep them
            compile_templates()
            settle_heap()
        _announce(application.state.runtime.snapshot, config)
    # Nothing here may keep the first snapshot (a local variable of this frame would hold it for
    # as long as the service runs, after every reload). With --log-json uvicorn keeps the JSON
    # handler instead of installing its own text format. uvicorn's own access lines are INFO,
    # below the level given, so never written; access_log=False also spares each answer their
    # arguments (client address, quoted path and query). The service's access log is its own.
    uvicorn.run(application, host=config.host, port=config.port, log_level="warning",
                log_config=None if json_logs() else LOGGING_CONFIG, access_log=False)


def start_heap(config: Settings) -> None:
    """Tune glibc's heap as configured, and put Arrow on it (``SYMBIOSE_ARROW_SYSTEM_ALLOCATOR``);
    first thing a serving command does, before any thread."""
    from serving import heap

    try:
        tuned: dict[str, int | str] = dict(heap.tune_malloc(config.malloc_arena_max, config.malloc_mmap_threshold))
    except ValueError as exc:
        raise CommandError(f"SYMBIOSE_MALLOC_*: {exc}") from exc
    if config.arrow_system_allocator:
        tuned["arrow_allocator"] = heap.arrow_on_system_allocator()
    if tuned:
        log_event("malloc_tuned", **{name.lower(): value for name, value in tuned.items()})


def _announce(snap: Snapshot, config: Settings) -> None:
    """Say what is served, where, and whether it follows the champion."""
    from serving.model_watch import follows_champion

    out.print(escape(f"serving model {snap.model.version} over {config.data} as of {snap.as_of:%Y-%m-%d} "
                     f"on http://{config.host}:{config.port} (docs at /docs); suggestions {snap.scored_from}"),
              highlight=False)
    if follows_champion(config):
        out.print(f"a new champion is loaded within {config.model_poll_seconds:g} s, without a restart "
                  "(SYMBIOSE_MODEL_POLL_SECONDS)", highlight=False)
    log_event("serving", model_version=snap.model.version, data_as_of=snap.as_of.isoformat(),
              accounts=len(snap.suggestions.accounts), host=config.host, port=config.port)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to ``app``."""
    app.command()(demo)
    app.command()(serve)
