"""Generated worlds for monitoring tests: a later period of the small world, with and without drift,
and a decision log of the suggestions that were carried out in it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest

from features.dataset import Dataset
from models.evaluation.report import holdout_examples
from models.pipeline import DecisionPipeline

#: The later world ends here; the session's model is trained as of 2025-07-01.
LATER_AS_OF = pd.Timestamp("2025-11-01")


def later_world(n_accounts: int, seed: int) -> Dataset:
    """The small world's generator run to a later as-of time (same preset, same seed)."""
    from features.sample_data import generate_dataset

    dataset, _ = generate_dataset(n_accounts, seed=seed, as_of=LATER_AS_OF)
    return dataset


def shift_online(dataset: Dataset, since: pd.Timestamp, share: float, seed: int = 0) -> Dataset:
    """Offline order lines from ``since`` on become online with probability ``share`` (the
    online share of revenue shifts after the model's as-of time)."""
    orders = dataset.orders.copy()
    rng = np.random.default_rng(seed)
    flip = (orders["ordered_at"] >= since).to_numpy() & (orders["channel"] == "offline").to_numpy() \
        & (rng.random(len(orders)) < share)
    orders.loc[flip, "channel"] = "online"
    return replace(dataset, orders=orders)


def surge_orders(dataset: Dataset, since: pd.Timestamp, copies: int) -> Dataset:
    """Every order line from ``since`` on is bought ``copies`` more times (a demand surge)."""
    later = dataset.orders[dataset.orders["ordered_at"] >= since]
    extra = [later.assign(order_id=later["order_id"].astype(str) + f"-{i}") for i in range(copies)]
    return replace(dataset, orders=pd.concat([dataset.orders, *extra], ignore_index=True))


def mute_channel(dataset: Dataset, channel: str, since: pd.Timestamp) -> Dataset:
    """Remove the orders that follow touches of ``channel`` from ``since`` on in the offer's category
    within the attribution window: that channel stops converting."""
    touches = dataset.touches
    window = pd.Timedelta(days=dataset.policy.attribution_window_days)
    hit = touches[(touches["channel"] == channel) & (touches["touched_at"] >= since) & touches["offer_id"].notna()]
    category = dataset.offers.set_index("offer_id")["product_category"]
    hit = hit.assign(category=hit["offer_id"].map(category))
    orders = dataset.orders.reset_index(drop=True)
    pairs = orders.reset_index().merge(hit[["account_id", "touched_at", "category"]], on="account_id")
    drop = pairs[(pairs["ordered_at"] > pairs["touched_at"]) & (pairs["ordered_at"] <= pairs["touched_at"] + window)
                 & (pairs["product_category"] == pairs["category"])]["index"].unique()
    return replace(dataset, orders=orders.drop(index=drop).reset_index(drop=True))


def carried_out_decisions(dataset: Dataset, pipeline: DecisionPipeline, since: pd.Timestamp,
                          model_version: str) -> pd.DataFrame:
    """A decision log as the service would have written it: one suggestion per touch from ``since``
    on (shown at midnight of the touch's day) with the model's predicted ``p_convert``."""
    end = dataset.default_as_of()
    rows = holdout_examples(pipeline, dataset, since, end, end)
    rows = rows[rows["channel"] != "none"].drop_duplicates("touch_id")
    return pd.DataFrame({
        "suggestion_id": "s-" + rows["touch_id"].astype(str),
        "account_id": rows["account_id"].astype(str),
        "rank": 1,
        "channel": rows["channel"].astype(str),
        "offer_id": rows["offer_id"],
        "discount_pct": rows["discount_pct"].astype(float),
        "executed_by": None,
        "p_convert": rows["p_convert"].astype(float),
        "p_convert_baseline": 0.0,
        "expected_incremental_margin": 0.0,
        "propensity": rows["propensity"].fillna(1.0).astype(float),
        "model_version": model_version,
        "as_of": pd.to_datetime(rows["touched_at"]).dt.normalize().astype("datetime64[us]"),
    }).reset_index(drop=True).assign(requested_at=lambda d: d["as_of"], user_id=None)


@dataclass(frozen=True)
class LaterWorlds:
    """The later period without drift (``stable``) and with drift (``drifted``: the online share of
    revenue rises and phone touches stop converting after the model's as-of time), each with the
    decision log of the session's model."""

    model_as_of: pd.Timestamp
    model_version: str
    stable: Dataset
    drifted: Dataset
    stable_decisions: pd.DataFrame
    drifted_decisions: pd.DataFrame


@pytest.fixture(scope="session")
def later_worlds(trained_run) -> LaterWorlds:
    from tests.conftest import SMALL_ACCOUNTS, SMALL_SEED

    pipeline = trained_run.result.pipeline
    since = pd.Timestamp(pipeline.as_of)
    stable = later_world(SMALL_ACCOUNTS, SMALL_SEED)
    drifted = mute_channel(shift_online(stable, since, 0.7), "phone", since)
    version = str(trained_run.model_version)
    return LaterWorlds(since, version, stable, drifted,
                       carried_out_decisions(stable, pipeline, since, version),
                       carried_out_decisions(drifted, pipeline, since, version))


def write_decisions(url: str, decisions: pd.DataFrame, feedback: dict[str, str | list[str]] | None = None) -> None:
    """Store ``decisions`` in the decision log of the database at ``url`` (migrated first), and
    ``feedback`` ({suggestion_id: status, or statuses in the order given}) from one admin user."""
    from serving.store.db import Database
    from serving.store.decisions import DECISION_FIELDS, find_shown, log_decisions
    from serving.store.feedback import record_feedback
    from serving.store.users import add_user

    rows = decisions[list(DECISION_FIELDS)].astype(object).where(decisions[list(DECISION_FIELDS)].notna(), None)
    records = rows.to_dict("records")
    for r in records:
        r["as_of"] = pd.Timestamp(r["as_of"]).to_pydatetime()
        r["requested_at"] = pd.Timestamp(r["requested_at"]).to_pydatetime()
    with Database.open(url) as database, database() as session:
        log_decisions(session, records)
        if feedback:
            user, _ = add_user(session, name="monitor-test", role="admin")
            for suggestion, statuses in feedback.items():
                shown = find_shown(session, suggestion)
                assert shown is not None, suggestion
                for status in [statuses] if isinstance(statuses, str) else statuses:
                    record_feedback(session, shown=shown, status=status, reason=None, note=None, user_id=user.id,
                                    idempotency_key=None)
