"""``symbiose train`` and ``symbiose recommend``: fit and register a model, write the
recommendations file (docs/data-contract.md §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from serving.cli.common import (
    AsOfOpt,
    CommandError,
    DataOpt,
    check_out_file,
    command_errors,
    load_data,
    out,
    parse_as_of,
    progress,
    step,
    step_progress,
)


def _learner_names() -> list[str]:
    from models.candidates import LEARNERS

    return [*LEARNERS, "auto"]


def train(
    data: DataOpt,
    as_of: AsOfOpt = None,
    learner: Annotated[str | None, typer.Option(
        "--learner", help="effect learner: " + "|".join(_learner_names())
        + " (default s; auto chooses among the learners on held-out logged decisions)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="YAML file of training settings (any TrainingConfig field)")] = None,
    sample_accounts: Annotated[int | None, typer.Option(
        "--sample-accounts", min=1, metavar="N",
        help="train on a stratified, seeded sample of N accounts (by region, segment, ordered, touched)")] = None,
    feedback_db: Annotated[str | None, typer.Option(
        "--feedback-db", metavar="URL",
        help="database of `symbiose serve` (its SYMBIOSE_DATABASE_URL): calls and visits reps reported "
             "done with outcome reached or order expected become touches (the export wins on the same "
             "account, channel and day)")] = None,
) -> None:
    """Build features, train, evaluate, log to MLflow and register a model version."""
    from features.dataset import check_as_of
    from models.tracking import TRAIN_STEPS, train_and_log

    with command_errors():
        cfg = _training_config(config, learner, sample_accounts, feedback_db)
        given = parse_as_of(as_of)
        ds = load_data(data)
        ts = None if given is None else check_as_of(ds, given)
        reported = None
        if cfg.feedback_db is not None:
            from serving.feedback_touches import read_feedback_touches

            with step("read feedback") as read:
                reported = read_feedback_touches(cfg.feedback_db)
                read.count(touches=len(reported.touches), not_reached=reported.attempts)
        out.print("training with " + ", ".join(f"{k}={v}" for k, v in cfg.as_params().items()),
                  highlight=False, markup=False)
        with step_progress(TRAIN_STEPS) as start:
            run = train_and_log(ds, ts, config=cfg, on_step=start, reported=reported)
        _print_training(run)
        if run.feedback:
            out.print(_feedback_line(run.feedback), highlight=False, markup=False)
        if run.result.sample is not None:
            out.print(run.result.sample.describe(), highlight=False, markup=False)
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


def _feedback_line(counts: dict[str, float]) -> str:
    """What training took from the service's feedback, in one line."""
    n = {k.removeprefix("feedback_"): int(v) for k, v in counts.items()}
    return (f"feedback: {n['touches_added']} reported calls/visits added as touches "
            f"({n['touches_duplicates']} already in the export on the same day, {n['touches_unknown']} of "
            f"unknown accounts, channels or offers, {n['touches_later']} after as-of); "
            f"{n['attempts_not_reached']} not reached (no touch)")


def _training_config(path: Path | None, learner: str | None, sample_accounts: int | None = None,
                     feedback_db: str | None = None) -> Any:
    """The training settings: the YAML file's (or the defaults), with ``--learner``,
    ``--sample-accounts`` and ``--feedback-db`` on top."""
    from dataclasses import replace

    from models.training_config import TrainingConfig

    if path is not None and not path.is_file():
        raise CommandError(f"--config {path}: no such file")
    cfg = TrainingConfig.from_yaml(path) if path is not None else TrainingConfig()
    if sample_accounts is not None:
        cfg = replace(cfg, sample_accounts=sample_accounts)
    if feedback_db is not None:
        cfg = replace(cfg, feedback_db=feedback_db)
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


def recommend(
    data: Annotated[str, typer.Option("--data", help="data directory (docs/data-contract.md §1); with "
                                      "--engine spark also a Hadoop URI such as hdfs://... or s3a://...")],
    out_file: Annotated[str, typer.Option("--out", help="recommendations file (.csv or .parquet; "
                                          "--engine spark writes .parquet)")],
    as_of: AsOfOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 3,
    model: Annotated[str | None, typer.Option("--model", help="model URI (default: champion, else latest)")] = None,
    explore: Annotated[float, typer.Option(
        "--explore", min=0.0, max=1.0,
        help="share of accounts whose first suggestion is a random eligible action or a `none` holdout; "
             "exact propensities go to the propensity column")] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed for --explore")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="pandas (this process) or spark (Apache Spark; pip install 'symbiose[spark]')")] = "pandas",
    master: Annotated[str | None, typer.Option(
        "--master", help="Spark master URL for --engine spark, e.g. local[2] or spark://host:7077 "
                         "(default: the MASTER environment variable, else local[*])")] = None,
    later_days: Annotated[int, typer.Option(
        "--later-days", min=0, max=90,
        help="also write, beside --out as NAME.later.EXT, the calls and visits that contact caps or quiet "
             "days block today but allow within this many days, for `symbiose serve --scores` to list in "
             "a rep's day (use SYMBIOSE_REP_DAY_DAYS, 14 by default; 0: none)")] = 0,
    explain_depth: Annotated[int | None, typer.Option(
        "--explain-depth", min=0, max=50,
        help="give reasons from the account's history to each account's first N suggestions only, as "
             "`symbiose serve` does (SYMBIOSE_EXPLAIN_DEPTH); deeper ones carry the value sentence alone "
             "(default: every suggestion; 0: none)")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=0, max=256,
        help="processes that build and score blocks of accounts at once with --engine pandas "
             "(default 0: one per usable core; 1: this process alone)")] = 0,
) -> None:
    """Write the recommendations file: next best actions for every account."""
    import pandas as pd

    from features.actions import contact_state
    from features.dataset import resolve_as_of
    from models.recommend import load_model, score_dataset
    from serving.output import output_format, write_frame_atomic
    from serving.scores import (
        ScoresMeta,
        data_fingerprint,
        later_path,
        sidecar_path,
        write_scores_meta,
    )
    from serving.suggestions import LATER, later_rows

    with command_errors():
        fmt = output_format(out_file)
        if "://" not in out_file:  # a local path (Spark may also write to a Hadoop URI)
            check_out_file(Path(out_file))
        given = parse_as_of(as_of)
        if engine == "spark":
            if later_days:
                raise CommandError("--later-days: only with --engine pandas")
            if explain_depth is not None:
                raise CommandError("--explain-depth: only with --engine pandas (Spark writes no reasons)")
            if workers:
                raise CommandError("--workers: only with --engine pandas (Spark has its own executors)")
            _recommend_on_spark(data, out_file, fmt, given, top_k, model, explore, master)
            return
        if engine != "pandas":
            raise CommandError(f"--engine {engine}: expected pandas or spark")
        if master is not None:
            raise CommandError("--master: only with --engine spark")
        fingerprint = data_fingerprint(data)  # of the files as read, before scoring
        ds = load_data(Path(data))
        ts = resolve_as_of(ds, given)
        with step("load model"):
            pipeline, version = load_model(model)
        with progress("scoring") as scoring:
            recs = score_dataset(ds, ts, pipeline, top_k=top_k, model_version=version,
                                 explain=explain_depth != 0, explain_depth=explain_depth,
                                 explore_epsilon=explore, seed=seed, reason_codes=True, workers=workers)
            scoring.count(rows=len(recs), accounts=recs["account_id"].nunique())
        later = pd.DataFrame()
        if later_days:
            with step(f"calls and visits possible within {later_days} days") as looking:
                later = later_rows(ds, ts, pipeline, contact_state(ds.before(ts), ts), later_days,
                                   model_version=version, candidates=top_k,
                                   explain_depth=top_k if explain_depth is None else explain_depth)
                later = later.drop(columns=[LATER], errors="ignore")
                looking.count(rows=len(later))
        with step("write recommendations") as writing:
            sidecar_path(out_file).unlink(missing_ok=True)  # never an old sidecar beside a new file
            later_path(out_file).unlink(missing_ok=True)
            write_frame_atomic(recs, out_file)
            if later_days:
                write_frame_atomic(later if len(later) else recs.iloc[:0], later_path(out_file))
            write_scores_meta(out_file, ScoresMeta(
                model_version=version, as_of=ts.isoformat(), data_fingerprint=fingerprint, top_k=top_k,
                explore=explore, seed=seed, accounts=int(recs["account_id"].nunique()), rows=len(recs),
                later_days=later_days, later_rows=len(later)))
            writing.count(rows=len(recs) + len(later))
        n_acc = recs["account_id"].nunique()
        acting = recs[(recs["rank"] == 1) & (recs["channel"] != "none")]
        _print_written(out_file, len(recs), n_acc, len(acting), version, ts)


def _recommend_on_spark(data: str, out_file: str, fmt: str, as_of: Any, top_k: int, model: str | None,
                        explore: float, master: str | None) -> None:
    from models.recommend import load_model
    from models.registry import resolve_model_uri

    if fmt != "parquet":
        raise CommandError(f"--out {out_file}: --engine spark writes Parquet; expected a file ending in .parquet")
    if explore > 0:
        raise CommandError("--explore: only with --engine pandas (exploration draws over all accounts at once)")
    try:
        from serving.spark_engine import recommend_on_spark, spark_session
    except ImportError as exc:
        raise CommandError(f"--engine spark needs pyspark ({exc}); install it with "
                           "pip install 'symbiose[spark]' (and Java 17 or newer)") from exc
    pipeline, version = load_model(model)
    uri, _ = resolve_model_uri(model)
    with progress("scoring on Spark") as scoring, spark_session(master) as spark:
        done = recommend_on_spark(spark, data, out_file, as_of=as_of, pipeline=pipeline, model_uri=uri,
                                  model_version=version, top_k=top_k)
        scoring.count(rows=done["rows"], accounts=done["accounts"])
    _print_written(out_file, done["rows"], done["accounts"], done["acting"], version, done["as_of"])


def _print_written(out_file: str, rows: int, accounts: int, acting: int, version: str, as_of: Any) -> None:
    out.print(f"[green]wrote[/] {escape(str(out_file))}: {rows:,} suggestions for {accounts:,} accounts "
              f"({acting:,} with an action worth taking), model {version}, as of {as_of:%Y-%m-%d}")


def register(app: typer.Typer) -> None:
    """Add the commands of this module to ``app``."""
    app.command()(train)
    app.command()(recommend)
