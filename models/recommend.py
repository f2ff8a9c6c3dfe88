"""Recommendations for a data directory at an as-of time with a registered (or given) model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from features.actions import contact_state_on
from features.ahead import made_in_workers, usable_cores
from features.dataset import Dataset
from features.snapshot import BLOCK_ACCOUNTS, AccountBlocks, build_snapshot
from models.model_input import decision_context, snapshot_categories
from models.pipeline import REASON_CODES, DecisionPipeline, split_snapshot
from models.pyfunc import load_pipeline
from models.registry import ModelNotFoundError, configure_tracking, resolve_model_uri

#: Accounts below which a data set is not split further only to give every worker a block (forking
#: and handing back the rows would cost more than the second core saves).
MIN_WORKER_ACCOUNTS = 2_000


def load_model(model: str | None = None) -> tuple[DecisionPipeline, str]:
    """(pipeline, version string) for a model URI, or the champion / latest registered version."""
    configure_tracking()
    uri, version = resolve_model_uri(model)
    try:
        return load_pipeline(uri), version
    except (MlflowException, OSError) as exc:
        message = exc.message if isinstance(exc, MlflowException) else str(exc)
        raise ModelNotFoundError(f"--model {uri}: cannot load it ({message})") from exc


def score_dataset(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
                  top_k: int | None = 3, model_version: str | None = None,
                  rank_by: str = "incremental_margin", explain: bool = True,
                  explain_depth: int | None = None, reason_codes: bool = False,
                  explore_epsilon: float = 0.0, seed: int | None = None,
                  block_accounts: int = BLOCK_ACCOUNTS, workers: int = 1,
                  eligible_on: pd.Timestamp | None = None) -> pd.DataFrame:
    """Ranked recommendations (docs/data-contract.md §3 rows) for every account of ``dataset`` at ``as_of``,
    with the data directory's current offers and policy: the one way the data is scored, used by
    the recommendations file, the service and campaign planning.

    ``top_k`` None keeps every (offer, channel) pair of the action space (campaign candidates).
    ``explain_depth`` (with ``explain``) gives history reasons only to each account's first
    ``explain_depth`` rows (the costly part); deeper rows carry the value sentence alone.
    ``explore_epsilon`` > 0 mixes random eligible actions and ``none`` holdouts into the first
    place, drawn with ``seed`` (a fresh one when None).
    ``eligible_on`` (a day after ``as_of``): actions the contact caps and quiet days allow on that
    day, with the contacts and orders known at ``as_of`` (``features.actions.contact_state_on``),
    are eligible, e.g. to show when an action blocked today becomes possible; the features stay
    those at ``as_of``.
    Accounts are scored ``block_accounts`` at a time (``features.snapshot.AccountBlocks``; the
    rows are the same, in the same order, as in one pass); with exploration in one pass, as its
    draws run over all accounts. With ``workers`` > 1, the blocks are ``workers`` times smaller (not
    below ``MIN_WORKER_ACCOUNTS``), so that every worker has one and the blocks in flight hold
    about what one block would, and each block is built and scored in one of ``workers`` forked
    worker processes (``features.ahead.made_in_workers``), all at once: for a batch command only,
    never inside a process that runs other threads (the service). ``workers`` 0: one per usable core.
    """
    as_of = pd.Timestamp(as_of)
    data = dataset.before(as_of)
    catalog = decision_context(data)
    actions = catalog["actions"]
    categories = snapshot_categories(actions, pipeline)
    if top_k is None:
        top_k = max(1, len(actions.drop_duplicates(["offer_id", "channel"])))
    if explore_epsilon > 0 and seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])  # every pass below draws alike
    context: dict[str, Any] = {
        **catalog, "model_version": model_version,
        "rank_by": rank_by, "explore_epsilon": explore_epsilon, "seed": seed, "reason_codes": reason_codes}
    if workers == 0:
        workers = usable_cores()
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if explore_epsilon > 0:
        blocks: Sequence[Dataset] = [data]
    else:
        # Every worker gets a block, and the blocks in flight hold about what one block would.
        per_worker = -(-min(block_accounts, len(data.accounts)) // workers)
        blocks = AccountBlocks(data, max(min(MIN_WORKER_ACCOUNTS, block_accounts), per_worker))

    def scored(i: int) -> pd.DataFrame:
        snapshot = _block_snapshot(blocks[i], as_of, pipeline, categories, eligible_on)
        return _score_block(snapshot, pipeline, top_k, explain, explain_depth, context)

    parts = list(made_in_workers(scored, len(blocks), workers))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _block_snapshot(data: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, categories: list[str],
                    eligible_on: pd.Timestamp | None) -> pd.DataFrame:
    """The snapshot of the accounts of ``data``; with ``eligible_on``, its contact-rule columns as
    they will stand on that day (see :func:`score_dataset`)."""
    snapshot = build_snapshot(data, as_of, pipeline.specs, categories)
    if eligible_on is None:
        return snapshot
    later = contact_state_on(data, as_of, eligible_on)
    rules = [c for c in later.columns if c in snapshot.columns and c not in ("rep_id", "days_since_last_order")]
    per_row = later.reindex(snapshot["account_id"].to_numpy())
    return snapshot.assign(**{c: per_row[c].to_numpy() for c in rules})


def _score_block(snapshot: pd.DataFrame, pipeline: DecisionPipeline, top_k: int, explain: bool,
                 explain_depth: int | None, context: dict[str, Any]) -> pd.DataFrame:
    """The recommendations of the accounts of one block's ``snapshot`` (see :func:`score_dataset`)."""
    frame, state = split_snapshot(snapshot)
    if not explain or explain_depth is None or explain_depth >= top_k:
        return pipeline.recommend(frame, state, top_k=top_k, explain=explain, **context)
    recs = pipeline.recommend(frame, state, top_k=top_k, explain=False, **context)
    if explain_depth <= 0:
        return recs
    explained = pipeline.recommend(frame, state, top_k=explain_depth, explain=True, **context)
    return _with_reasons(recs, explained)


def _with_reasons(recs: pd.DataFrame, explained: pd.DataFrame) -> pd.DataFrame:
    """``recs`` with the reasons of ``explained`` wherever the same account and action appear."""
    keys = ["account_id", "channel", "offer_id", "discount_pct"]
    columns = [c for c in ("reasons", REASON_CODES) if c in explained and c in recs]
    better = explained[[*keys, *columns]].drop_duplicates(keys).rename(columns={c: f"_{c}" for c in columns})
    merged = recs.merge(better, on=keys, how="left", sort=False)
    for c in columns:
        found = merged[f"_{c}"].notna()
        merged[c] = merged[f"_{c}"].where(found, merged[c])
    return merged.drop(columns=[f"_{c}" for c in columns])
