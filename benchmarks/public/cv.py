"""K-fold cross-validation over customers with the normal training and recommending path.

For each fold: the training customers are written as a data directory, loaded and trained with
``models.tracking.train_and_log`` (what ``symbiose train`` runs) into a temporary MLflow store;
the held-out customers are written as never-seen customers (same offers and policy, empty
history), and the registered model is loaded and asked for recommendations as
``symbiose recommend`` does. Each held-out customer's rank-1 action is the policy's arm.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.public.convert import Experiment, write_scoring_dir, write_training_dir
from features.loading import load_dataset
from features.policy import NONE_CHANNEL
from models.recommend import load_model, score_dataset
from models.tracking import train_and_log
from models.training import TrainingConfig


def fold_of(n: int, folds: int, seed: int) -> np.ndarray:
    """A seeded assignment of ``n`` rows to ``folds`` folds of (nearly) equal size."""
    if folds < 2 or folds > n:
        raise ValueError(f"folds must be between 2 and the number of rows ({n}); got {folds}")
    return np.random.default_rng(seed).permutation(np.arange(n) % folds)


def policy_arm(recs: pd.DataFrame) -> pd.DataFrame:
    """Per account, the rank-1 suggestion as an arm (its offer id, or ``none``) with its scores."""
    top = recs[recs["rank"] == 1]
    arm = top["offer_id"].where(top["channel"] != NONE_CHANNEL, NONE_CHANNEL).astype(str)
    return pd.DataFrame({"account_id": top["account_id"].to_numpy(), "policy_arm": arm.to_numpy(),
                         "p_convert": top["p_convert"].to_numpy(),
                         "p_convert_baseline": top["p_convert_baseline"].to_numpy(),
                         "expected_incremental_margin": top["expected_incremental_margin"].to_numpy()})


@contextmanager
def _isolated_store(home: Path) -> Iterator[None]:
    """Point the embedded MLflow store at ``home`` for the duration."""
    keys = ("SYMBIOSE_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    old = {k: os.environ.get(k) for k in keys}
    os.environ["SYMBIOSE_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cross_validate(exp: Experiment, workdir: str | Path, folds: int = 5, seed: int = 0,
                   log: bool = True, config: TrainingConfig | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(held-out rows, per-fold summary).

    ``config`` is passed to training as ``symbiose train`` would (None = the defaults).
    Held-out rows: ``exp.outcomes`` with ``fold``, ``policy_arm`` and the rank-1 scores.
    Per-fold summary: sizes, seconds to train (writing and loading the fold's directory, training,
    evaluating and logging the MLflow run), of that the model fitting alone (``fit_s``), seconds to
    recommend, the model's validation metrics.
    """
    workdir = Path(workdir)
    fold = fold_of(len(exp.accounts), folds, seed)
    ids = exp.accounts["account_id"].to_numpy()
    held, summary = [], []
    with _isolated_store(workdir / "mlflow-home"):
        for k in range(folds):
            train_exp, test_exp = exp.restricted(ids[fold != k]), exp.restricted(ids[fold == k])
            started = time.perf_counter()
            dataset = load_dataset(write_training_dir(train_exp, workdir / f"fold{k}" / "train"))
            run = train_and_log(dataset, pd.Timestamp(exp.train_as_of), config=config)
            train_s = time.perf_counter() - started
            started = time.perf_counter()
            scoring = load_dataset(write_scoring_dir(test_exp, workdir / f"fold{k}" / "heldout"))
            pipeline, version = load_model(run.model_uri)
            recs = score_dataset(scoring, pd.Timestamp(exp.recommend_as_of), pipeline, top_k=3,
                                     model_version=version)
            recommend_s = time.perf_counter() - started
            rows = test_exp.outcomes.merge(policy_arm(recs), on="account_id", how="left",
                                           validate="one_to_one")
            if rows["policy_arm"].isna().any():
                raise RuntimeError(f"fold {k}: {int(rows['policy_arm'].isna().sum())} held-out accounts "
                                   "got no recommendation; every account must get a rank-1 row")
            held.append(rows.assign(fold=k))
            m = run.result.metrics
            summary.append({"fold": k, "train_accounts": len(train_exp.accounts),
                            "heldout_accounts": len(test_exp.accounts), "model": version,
                            "valid_auc": m.get("valid_auc", np.nan),
                            "valid_log_loss": m.get("valid_log_loss", np.nan),
                            "valid_ece": m.get("valid_calibration_error", np.nan),
                            "learner": run.result.pipeline.learner,
                            "policy_mode": run.result.pipeline.policy_mode,
                            "contact_share": float((rows["policy_arm"] != NONE_CHANNEL).mean()),
                            "train_s": train_s, "fit_s": m.get("training_seconds", np.nan),
                            "recommend_s": recommend_s})
            if log:
                print(pd.DataFrame(summary[-1:]).round(4).to_string(index=False), flush=True)
    return pd.concat(held, ignore_index=True), pd.DataFrame(summary)


def run_command_line(description: str, default_csv: Path, load: Callable[..., Experiment]
                     ) -> tuple[argparse.Namespace, pd.DataFrame, pd.DataFrame, float]:
    """The shared command line of the public benchmarks: parse the options, load the experiment
    with ``load(csv, rows=, seed=)``, cross-validate it; (options, held-out rows, per-fold table,
    seconds)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_csv,
                        help=f"the experiment's CSV (default: {default_csv})")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=None, help="a seeded random sample of this many rows")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--save", type=Path, default=None, help="write the held-out rows here (CSV)")
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML file of training settings, as `symbiose train --config` (default: the defaults)")
    parser.add_argument("--learner", default=None, help="s, x, r, dr, t or auto, on top of --config")
    args = parser.parse_args()
    config = TrainingConfig.from_yaml(args.config) if args.config is not None else TrainingConfig()
    if args.learner is not None:
        config = dataclasses.replace(config, learner=args.learner)
    started = time.perf_counter()
    exp = load(args.data, rows=args.rows, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        held, folds = cross_validate(exp, tmp, folds=args.folds, seed=args.seed, config=config)
    if args.save is not None:
        held.to_csv(args.save, index=False)
    return args, held, folds, time.perf_counter() - started
