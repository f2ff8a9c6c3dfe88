"""The ``symbiose`` command line (contract §4).

Every command exits 0 on success and non-zero with a clear message on stderr otherwise; a failed
command leaves no partial output file and no model version behind.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from features.errors import SymbioseError
from serving.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Symbiose: next best actions for B2B outreach, ranked by incremental margin.")
out = Console()
err = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option("--data", help="data directory (contract §1)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="as-of time, ISO 8601 (e.g. 2025-07-01)")]


class CommandError(SymbioseError):
    """A user-facing failure of a command: printed to stderr, exit code 1."""


#: Set by ``--debug``: unexpected errors show their traceback.
DEBUG = {"on": False}
_SETTINGS: dict[str, Settings] = {}


@app.callback()
def _options(debug: Annotated[bool, typer.Option(
        "--debug", help="show the traceback of an unexpected error")] = False) -> None:
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
def _errors() -> Iterator[None]:
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


def _as_of(value: str | None) -> pd.Timestamp | None:
    from features.dataset import as_utc_timestamp

    if value is None:
        return None
    return as_utc_timestamp(value, "--as-of")


def _load(data: Path) -> Any:
    from features.loading import load_dataset

    if not data.exists():
        raise CommandError(f"--data {data}: no such directory")
    if not data.is_dir():
        raise CommandError(f"--data {data}: expected a directory, got a file")
    return load_dataset(data)


@app.command()
def validate(data: DataOpt) -> None:
    """Check a data directory against the data contract."""
    with _errors():
        ds = _load(data)
        out.print(f"[green]ok[/] {data}: {len(ds.accounts):,} accounts, {len(ds.offers):,} offers, "
                  f"{len(ds.orders):,} order lines, {len(ds.touches):,} touches, "
                  f"{len(ds.web_events):,} web events, {len(ds.reps):,} reps")


@app.command()
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

    with _errors():
        if world not in WORLDS:
            raise CommandError(f"--world {world!r}: expected one of {', '.join(WORLDS)}")
        summary = run_generate(out_dir, n_accounts=accounts, seed=seed, world=world,
                               as_of=_as_of(as_of) or DEFAULT_AS_OF, truth_path=truth, fmt=fmt)
        out.print(f"[green]wrote[/] {summary}")


def _world_names() -> list[str]:
    from features.sample_worlds import WORLDS

    return list(WORLDS)


def _learner_names() -> list[str]:
    from models.candidates import LEARNERS

    return [*LEARNERS, "auto"]


@app.command()
def train(
    data: DataOpt,
    as_of: AsOfOpt = None,
    learner: Annotated[str | None, typer.Option(
        "--learner", help="effect learner: " + "|".join(_learner_names())
        + " (default auto: chosen on held-out logged decisions)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="YAML file of training settings (any TrainingConfig field)")] = None,
) -> None:
    """Build features, train, evaluate, log to MLflow and register a model version."""
    from models.tracking import train_and_log

    with _errors():
        cfg = _training_config(config, learner)
        ds = _load(data)
        out.print("training with " + ", ".join(f"{k}={v}" for k, v in cfg.as_params().items()),
                  highlight=False, markup=False)
        with _status("training"):
            run = train_and_log(ds, _as_of(as_of), config=cfg)
        _print_training(run)
        if run.result.selection is not None:
            out.print(run.result.selection.text(), highlight=False, markup=False)
        if run.evaluation is not None:
            out.print(run.evaluation.verdict(), highlight=False, markup=False)
        if run.champion:
            out.print(f"{run.model_version} is the challenger and, as the first version, also the "
                      "champion: `serve` and `recommend` use it", highlight=False)
        else:
            out.print(f"{run.model_version} is the challenger; `symbiose promote` compares it with "
                      "the champion and makes it champion if it is at least as good", highlight=False)


def _training_config(path: Path | None, learner: str | None) -> Any:
    """The training settings: the YAML file's (or the defaults), with ``--learner`` on top."""
    from dataclasses import replace

    from models.training_config import TrainingConfig

    if path is not None and not path.is_file():
        raise CommandError(f"--config {path}: no such file")
    cfg = TrainingConfig.from_yaml(path) if path is not None else TrainingConfig()
    return cfg if learner is None else replace(cfg, learner=learner)


def _print_training(run: Any) -> None:
    from rich.table import Table

    m = run.result.metrics
    table = Table(title=f"model {run.model_version} (run {run.run_id[:8]})", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("valid_auc", "valid_log_loss", "valid_calibration_error", "valid_base_rate",
                "valid_policy_value", "valid_policy_value_none", "valid_policy_value_logging",
                "valid_policy_incremental_value", "training_seconds"):
        if key in m:
            table.add_row(key, f"{m[key]:.4f}")
    out.print(table)


@contextmanager
def _status(text: str) -> Iterator[None]:
    if out.is_terminal:
        with out.status(text + " ..."):
            yield
    else:
        yield


@app.command()
def recommend(
    data: DataOpt,
    out_file: Annotated[Path, typer.Option("--out", help="recommendations file (.csv or .parquet)")],
    as_of: AsOfOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 3,
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else latest)")] = None,
    explore: Annotated[float, typer.Option(
        "--explore", min=0.0, max=1.0,
        help="share of accounts whose first suggestion is a random eligible action or a `none` holdout; "
             "exact propensities go to the propensity column")] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed for --explore")] = None,
) -> None:
    """Write the recommendations file: next best actions for every account."""
    from features.dataset import resolve_as_of
    from models.recommend import load_model, score_dataset
    from serving.output import output_format, write_frame_atomic

    with _errors():
        output_format(out_file)
        given = _as_of(as_of)
        ds = _load(data)
        ts = resolve_as_of(ds, given)
        pipeline, version = load_model(model)
        with _status("scoring"):
            recs = score_dataset(ds, ts, pipeline, top_k=top_k, model_version=version,
                                 explore_epsilon=explore, seed=seed)
        write_frame_atomic(recs, out_file)
        n_acc = recs["account_id"].nunique()
        acting = recs[(recs["rank"] == 1) & (recs["channel"] != "none")]
        out.print(f"[green]wrote[/] {out_file}: {len(recs):,} suggestions for {n_acc:,} accounts "
                  f"({len(acting):,} with an action worth taking), model {version}, as of {ts:%Y-%m-%d}")


@app.command()
def demo(
    accounts: Annotated[int, typer.Option("--accounts", min=100)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    workdir: Annotated[Path, typer.Option("--dir", help="where demo data and results go")] = Path(".symbiose/demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="end by serving the suggestions")] = True,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Generate a sample data set, train, recommend, summarize and serve — no other set-up needed."""
    from serving.demo import run_demo

    with _errors():
        run_demo(workdir, n_accounts=accounts, seed=seed, console=out, serve=serve, port=port)


@app.command()
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
) -> None:
    """Start the HTTP service over the data directory's latest snapshot (docs at /docs)."""
    import uvicorn

    from serving.api.app import create_app
    from serving.model_watch import follows_champion
    from serving.runtime import settle_heap
    with _errors():
        overrides = {k: v for k, v in (("data", data), ("host", host), ("port", port), ("model", model),
                                       ("as_of", as_of), ("explore", explore)) if v is not None}
        config = settings(**overrides)
        if config.data is None:
            raise CommandError("no data directory: pass --data DIR or set SYMBIOSE_DATA")
        with _status("loading model and scoring the snapshot"):
            application = create_app(config)
            settle_heap()
        snap = application.state.runtime.snapshot
        out.print(f"serving model {snap.model.version} over {config.data} as of {snap.as_of:%Y-%m-%d} "
                  f"on http://{config.host}:{config.port} (docs at /docs)", highlight=False)
        if follows_champion(config):
            out.print(f"a new champion is loaded within {config.model_poll_seconds:g} s, without a restart "
                      "(SYMBIOSE_MODEL_POLL_SECONDS)", highlight=False)
    uvicorn.run(application, host=config.host, port=config.port, log_level="warning")


def _add_users_app() -> None:
    from serving.users_cli import users_app

    app.add_typer(users_app, name="users")


_add_users_app()


def _add_attribution() -> None:
    from serving.attribution_cli import register

    register(app)


_add_attribution()


def _add_campaigns() -> None:
    from serving.campaigns_cli import register

    register(app)


_add_campaigns()


def _add_promotion() -> None:
    from serving.promotion_cli import register

    register(app)


_add_promotion()


def _add_evaluate() -> None:
    from serving.evaluate_cli import register

    register(app)


_add_evaluate()


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    command: Callable[..., Any] = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="symbiose",
                     standalone_mode=True)
    except SystemExit as exc:
        raise SystemExit(exc.code) from None


if __name__ == "__main__":
    main()
