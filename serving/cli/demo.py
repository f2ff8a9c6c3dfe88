"""``symbiose demo``: sample data → train → recommend → summary, with no other set-up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from features.loading import load_dataset
from features.sample_data import DEFAULT_AS_OF, generate
from models.evaluation.ground_truth import PolicyComparison, compare_policies
from models.recommend import score_dataset
from models.tracking import train_and_log
from serving.output import write_frame_atomic

if TYPE_CHECKING:
    from serving.runtime import Runtime


def run_demo(workdir: Path, *, n_accounts: int = 2000, seed: int = 7, console: Console | None = None,
             serve: bool = False, host: str = "127.0.0.1", port: int = 8000) -> PolicyComparison:
    """Run the whole loop on generated data and print what it would do and what that is worth;
    with ``serve=True`` it ends by serving the suggestions over HTTP (see :func:`serve_demo`)."""
    console = console or Console()
    workdir = Path(workdir)
    data_dir, truth_path = workdir / "data", workdir / "truth.parquet"
    recs_path = workdir / "recommendations.csv"
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TimeElapsedColumn(), console=console, transient=False)
    with progress:
        step = progress.add_task("generating sample data", total=4)
        generate(data_dir, n_accounts=n_accounts, seed=seed, as_of=as_of, truth_path=truth_path)
        progress.update(step, advance=1, description="loading and validating")
        dataset = load_dataset(data_dir)
        progress.update(step, advance=1, description="training and registering the model")
        run = train_and_log(dataset, as_of)
        progress.update(step, advance=1, description="recommending")
        pipeline = run.result.pipeline
        recs = score_dataset(dataset, as_of, pipeline, top_k=3, model_version=run.model_version)
        by_p = score_dataset(dataset, as_of, pipeline, top_k=1, rank_by="conversion")
        write_frame_atomic(recs, recs_path)
        progress.update(step, advance=1, description="done")
    truth = pd.read_parquet(truth_path)
    comparison = compare_policies(recs, truth, by_probability=by_p)
    _print_summary(console, recs, comparison, run, recs_path)
    if serve:
        serve_demo(data_dir, model=run.model_uri, host=host, port=port, console=console)
    return comparison


def _print_summary(console: Console, recs: pd.DataFrame, cmp: PolicyComparison, run: object,
                   recs_path: Path) -> None:
    top = recs[recs["rank"] == 1]
    actions = Table(title="Next best action per account (rank 1)")
    for col in ("channel", "accounts", "share", "with discount", "expected extra margin"):
        actions.add_column(col, justify="right" if col != "channel" else "left")
    for channel, grp in top.groupby("channel"):
        actions.add_row(escape(str(channel)), f"{len(grp):,}", f"{len(grp) / len(top):.0%}",
                        f"{int((grp['discount_pct'] > 0).sum()):,}",
                        f"€{grp['expected_incremental_margin'].sum():,.0f}")
    console.print(actions)
    discounts = top[top["channel"] != "none"]["discount_pct"].value_counts().sort_index()
    disc = Table(title="Discounts granted (rank-1 actions)")
    disc.add_column("discount")
    disc.add_column("actions", justify="right")
    for level, count in discounts.items():
        disc.add_row(f"{level:g}%", f"{count:,}")
    console.print(disc)
    values = Table(title="True incremental margin per account (generator's ground truth)")
    values.add_column("policy")
    values.add_column("€ per account", justify="right")
    for name, v in (("Symbiose (this model)", cmp.policy), ("random eligible action", cmp.random),
                    (f"best single action ({cmp.best_single_action_name})", cmp.best_single_action),
                    ("rank by conversion probability", cmp.by_conversion_probability),
                    ("oracle (knows the truth)", cmp.oracle)):
        values.add_row(name, f"{v:,.2f}")
    console.print(values)
    console.print(f"normalized policy value (0 = random, 1 = oracle): [bold]{cmp.normalized:.2f}[/]; "
                  f"ineligible suggestions: {cmp.ineligible_suggestions}")
    console.print(escape(f"model {getattr(run, 'model_version', None)}; recommendations written to {recs_path}"))


DEMO_USERS = ("demo-rep", "demo-manager", "demo-marketing")
TOKEN_FILE = "demo-tokens.txt"


def write_token_file(path: Path, tokens: dict[str, str],
                     scopes: dict[str, tuple[str, str | None, str | None]]) -> Path:
    """Write ``user<TAB>role<TAB>token`` lines to ``path``, readable and writable by the owner
    only (0600, also when the file existed); returns the absolute path."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        for name, token in tokens.items():
            handle.write(f"{name}\t{scopes[name][0]}\t{token}\n")
    return path


def serve_demo(data_dir: Path, *, model: str | None = None, host: str = "127.0.0.1", port: int = 8000,
               console: Console | None = None, serve: bool = True) -> dict[str, str]:
    """Serve ``data_dir`` with the registered model, with a demo rep, manager and marketing user.

    Prints each user's token whole (also written to :data:`TOKEN_FILE` beside ``data_dir``, mode
    0600) and ready-to-paste ``curl`` lines, then serves until interrupted
    (``serve=False`` returns right after printing). Returns {user name: token}.
    """
    import uvicorn

    from serving.app import create_app
    from serving.cli.common import settings
    from serving.runtime import settle_heap
    from serving.web.context import compile_templates

    console = console or Console()
    config = settings(data=Path(data_dir), model=model, host=host, port=port)
    app = create_app(config)
    # In a function of its own: no local variable of this frame keeps the first snapshot alive
    # while the service runs (and replaces it with each new champion).
    tokens = _introduce(app.state.runtime, Path(data_dir), f"http://{host}:{port}", console)
    if serve:
        console.print(f"serving on http://{host}:{port} (Ctrl+C to stop)", highlight=False)
        compile_templates()
        settle_heap()
        uvicorn.run(app, host=host, port=port, log_level="warning")
    return tokens


def _introduce(runtime: Runtime, data_dir: Path, base: str, console: Console) -> dict[str, str]:
    """Create the demo users and print their tokens and ready-to-paste requests."""
    from serving.store.users import add_user, revoke_user

    directory = runtime.snapshot.directory
    owners = pd.Series(directory.rep_id).dropna()
    rep_id = str(owners.value_counts().index[0])
    region = str(directory.region[directory.rep_accounts(rep_id)[0]])
    scopes = {"demo-rep": ("rep", rep_id, None), "demo-manager": ("manager", None, region),
              "demo-marketing": ("marketing", None, None)}
    tokens: dict[str, str] = {}
    with runtime.sessions() as session:
        for name, (role, rep, reg) in scopes.items():
            try:
                revoke_user(session, name)
            except LookupError:
                pass
            _user, tokens[name] = add_user(session, name=name, role=role, rep_id=rep, region=reg)
    account = str(directory.accounts[directory.rep_accounts(rep_id)[0]])
    token_file = write_token_file(Path(data_dir).parent / TOKEN_FILE, tokens, scopes)
    console.print(f"Demo users (API docs at {base}/docs):", highlight=False, markup=False)
    for name, (role, rep, reg) in scopes.items():
        scope = f"rep {rep}" if rep else f"region {reg}" if reg else "all accounts"
        # One plain line per user, never a table cell: a narrow terminal wraps it but never cuts it.
        console.print(f"  {name} ({role}, {scope}): {tokens[name]}", highlight=False, markup=False,
                      soft_wrap=True)
    console.print(f"The same tokens are in {token_file} (readable by you only).", highlight=False,
                  markup=False, soft_wrap=True)
    console.print("Try:", highlight=False)
    auth = f"-H 'Authorization: Bearer {tokens['demo-rep']}'"
    for line in (f"curl -s {base}/health",
                 f"curl -s {auth} '{base}/v1/reps/{rep_id}/suggestions?limit=5'",
                 f"curl -s {auth} '{base}/v1/accounts/{account}/suggestions?k=3'",
                 f"curl -s {auth} '{base}/v1/accounts/{account}'",
                 f"curl -s -H 'Authorization: Bearer {tokens['demo-marketing']}' '{base}/v1/model'",
                 f"curl -s {auth} -H 'Content-Type: application/json' -X POST {base}/v1/feedback "
                 "-d '{\"suggestion_id\": \"<id from a suggestion>\", \"status\": \"accepted\"}'"):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"Rep workspace: {base}/ui/ (sign in with a token above, e.g. demo-rep's)",
                  highlight=False, markup=False, soft_wrap=True)
    return tokens
