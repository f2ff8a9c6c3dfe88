"""Training data: labelled logged decisions and untreated history windows, split into periods.

:func:`prepare` turns a data set into everything a learner trains on: one row per labelled logged
decision and category (features as of the decision's own time, the action, the outcome), extra
`none` rows from untreated history windows (``models.baseline_examples``), the design matrix, and the
time-ordered split into training, calibration and validation periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.actions import action_space
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import FeatureSpec, feature_specs
from features.errors import SymbioseError
from features.outcomes import label_touches
from features.policy import NONE_CHANNEL
from models.baseline_examples import untreated_examples
from models.design import DesignMatrix, action_frame
from models.training_config import TrainingConfig


class TrainingError(SymbioseError, ValueError):
    """The data cannot support training; the message says what is missing."""


@dataclass
class Prepared:
    """Everything learners train on. Masks are over the rows of ``examples``."""

    data: Dataset                # the data set before the as-of time
    as_of: pd.Timestamp
    actions: pd.DataFrame        # the action space at the as-of time
    specs: list[FeatureSpec]
    examples: pd.DataFrame       # logged decision rows, then untreated history rows
    design: DesignMatrix
    X: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    calib: np.ndarray
    valid: np.ndarray
    n_logged: int                # the first n_logged rows are logged decisions
    n_history: int


def prepare(dataset: Dataset, as_of: pd.Timestamp | None, cfg: TrainingConfig) -> Prepared:
    """Labelled examples, history rows, design matrix and periods of ``dataset`` before ``as_of``
    (default: the day after the latest event)."""
    if dataset.latest_time() is None:
        raise TrainingError("no orders, touches or web events: nothing to learn from")
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of)
    data = dataset.before(as_of)
    actions = action_space(data)
    if actions.empty:
        raise TrainingError("the action space is empty: no active offer has a channel of the policy")
    specs = feature_specs(data)
    examples = training_examples(data, as_of, specs, cfg.max_examples, cfg.random_state)
    n_pos = int(examples["converted"].sum()) if len(examples) else 0
    if len(examples) < cfg.min_examples or n_pos < cfg.min_conversions:
        raise TrainingError(
            f"touches: {len(examples)} labelled examples with {n_pos} conversions before {as_of:%Y-%m-%d}; "
            f"need at least {cfg.min_examples} examples and {cfg.min_conversions} conversions "
            f"(touches whose {data.policy.attribution_window_days}-day window ends before the as-of time)"
        )
    train, calib, valid = split_periods(examples, cfg)
    n_logged = len(examples)
    history = untreated_rows(data, as_of, specs, sorted(set(actions["category"].astype(str))),
                             examples, train, calib, cfg)
    if len(history):
        examples = pd.concat([examples, history.drop(columns=["split"])], ignore_index=True)
        train = np.r_[train, history["split"].to_numpy() == "train"]
        calib = np.r_[calib, history["split"].to_numpy() == "calib"]
        valid = np.r_[valid, np.zeros(len(history), dtype=bool)]
    design = DesignMatrix(specs).fit(examples)
    return Prepared(data, as_of, actions, specs, examples, design, design.transform(examples),
                    examples["converted"].to_numpy(dtype=float), train, calib, valid, n_logged, len(history))


def training_examples(dataset: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec],
                      max_examples: int | None = None, seed: int = 0,
                      window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> pd.DataFrame:
    """One row per labelled logged decision and category: features as of the touch's own time,
    the action columns and the outcome (``converted``, ``list_revenue``).

    With more than ``max_examples`` rows, a uniform random sample of whole decisions (touches)
    is kept, so every period and action stays represented in proportion. ``window`` (start, end)
    keeps only the touches with start <= touched_at < end (e.g. a holdout period).
    """
    labels = label_touches(dataset, as_of)
    keep = labels["complete"] & labels["category"].notna()
    if window is not None:
        keep &= (labels["touched_at"] >= window[0]) & (labels["touched_at"] < window[1])
    labels = labels[keep].reset_index(drop=True)
    if labels.empty:
        return labels
    if max_examples is not None and len(labels) > max_examples:
        touch_ids = labels["touch_id"].unique()
        rng = np.random.default_rng(seed)
        keep = rng.random(len(touch_ids)) < max_examples / len(labels)
        labels = labels[labels["touch_id"].isin(touch_ids[keep])].reset_index(drop=True)
    queries = pd.DataFrame({"account_id": labels["account_id"], "at": labels["touched_at"],
                            "category": labels["category"]})
    feats = build_features(dataset, queries, specs)
    executed = labels["channel"].map(
        {n: r.executed_by for n, r in dataset.policy.channels.items()}).astype(object)
    acts = action_frame(labels["channel"].to_numpy(), labels["offer_id"].astype(object).to_numpy(),
                        labels["discount_pct"].fillna(0).to_numpy(), executed.to_numpy())
    meta = labels[["touch_id", "account_id", "touched_at", "category", "channel", "offer_id",
                   "discount_pct", "propensity", "converted", "list_revenue", "margin"]]
    out = pd.concat([meta.reset_index(drop=True), feats.reset_index(drop=True).drop(
        columns=[c for c in ("account_id", "category") if c in feats.columns]), acts], axis=1)
    return out.sort_values("touched_at", kind="mergesort").reset_index(drop=True)


def split_periods(examples: pd.DataFrame, cfg: TrainingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (train, calibration, validation), by time when the decisions span enough
    distinct times; otherwise (e.g. one campaign on one day) by a seeded random split of decisions.
    Rows of one decision (a `none` holdout has one per category) always stay together."""
    t = examples["touched_at"].to_numpy().astype("datetime64[us]").astype(np.int64)
    q_val = np.quantile(t, 1 - cfg.validation_share)
    q_cal = np.quantile(t, 1 - cfg.validation_share - cfg.calibration_share)
    valid = t >= q_val
    calib = (t >= q_cal) & ~valid
    train = ~(valid | calib)
    smallest = min(train.mean(), calib.mean(), valid.mean())
    if smallest >= 0.5 * min(cfg.validation_share, cfg.calibration_share):
        return train, calib, valid
    codes = pd.factorize(examples["touch_id"])[0]
    u = np.random.default_rng(cfg.random_state).random(codes.max() + 1)[codes]
    valid = u >= 1 - cfg.validation_share
    calib = (u >= 1 - cfg.validation_share - cfg.calibration_share) & ~valid
    return ~(valid | calib), calib, valid


def untreated_rows(data: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec], categories: list[str],
                    examples: pd.DataFrame, train: np.ndarray, calib: np.ndarray,
                    cfg: TrainingConfig) -> pd.DataFrame:
    """Untreated history windows as `none` examples, with a ``split`` column: "train" when the
    window ends before the first calibration decision, "calib" when it lies between the calibration
    and validation periods; windows reaching into the validation period are dropped (the validation
    period only measures). With a random (not time-ordered) split, every window trains."""
    if cfg.history_windows == 0:
        return pd.DataFrame()
    rows = untreated_examples(data, as_of, specs, categories, cfg.history_windows, cfg.random_state)
    if rows.empty:
        return rows
    t = examples["touched_at"]
    window = pd.Timedelta(days=data.policy.attribution_window_days)
    by_time = calib.any() and (~(train | calib)).any() and t[train].max() <= t[calib].min()
    if by_time:
        t_cal, t_val = t[calib].min(), t[~(train | calib)].min()
        end = rows["touched_at"] + window
        split = np.where(end < t_cal, "train", np.where((rows["touched_at"] >= t_cal) & (end < t_val),
                                                         "calib", "drop"))
    else:
        split = np.full(len(rows), "train")
    rows = rows.assign(split=split)
    rows = rows[rows["split"] != "drop"].reset_index(drop=True)
    n = len(rows)
    acts = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
    return pd.concat([rows, acts, pd.DataFrame({"channel": np.full(n, NONE_CHANNEL, dtype=object),
                                                "touch_id": None, "propensity": np.nan})], axis=1)
