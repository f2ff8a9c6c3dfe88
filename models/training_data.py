"""Training data: labelled logged decisions and untreated history windows, split into periods.

:func:`prepare` turns a data set into everything a learner trains on: one row per labelled logged
decision and category (features as of the decision's own time, the action, the outcome), extra
`none` rows from untreated history windows (``models.baseline_examples``), the design matrix, and the
time-ordered split into training, calibration and validation periods.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.actions import action_space
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import FeatureSpec, feature_specs
from features.errors import SymbioseError
from features.outcomes import label_touches
from features.policy import NONE_CHANNEL
from features.windows import lookup
from models.account_sample import AccountSample, sample_accounts
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
    sample: AccountSample        # the accounts the examples come from


#: Columns of ``Prepared.examples`` besides the features (which live in ``Prepared.X`` only).
META_COLUMNS = ["touch_id", "account_id", "touched_at", "category", "channel", "offer_id", "discount_pct",
                "propensity", "converted", "list_revenue", "margin"]


def prepare(dataset: Dataset, as_of: pd.Timestamp | None, cfg: TrainingConfig) -> Prepared:
    """Labelled examples, history rows, design matrix and periods of ``dataset`` before ``as_of``
    (default: the day after the latest event), on a stratified sample of the accounts when
    ``cfg.sample_accounts`` is set.

    Features are built as float32 (the design matrix's type, so the matrix is the same) and kept in
    ``X`` only: ``examples`` holds the other columns (:data:`META_COLUMNS`)."""
    if dataset.latest_time() is None:
        raise TrainingError("no orders, touches or web events: nothing to learn from")
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of)
    data = dataset.before(as_of)
    actions = action_space(data)
    if actions.empty:
        raise TrainingError("the action space is empty: no active offer has a channel of the policy")
    specs = feature_specs(data)
    sampled, sample = sample_accounts(data, cfg.sample_accounts, cfg.random_state)
    examples = training_examples(sampled, as_of, specs, cfg.max_examples, cfg.random_state,
                                 numeric_dtype=np.float32)
    n_pos = int(examples["converted"].sum()) if len(examples) else 0
    if len(examples) < cfg.min_examples or n_pos < cfg.min_conversions:
        raise TrainingError(
            f"touches: {len(examples)} labelled examples with {n_pos} conversions before {as_of:%Y-%m-%d}; "
            f"need at least {cfg.min_examples} examples and {cfg.min_conversions} conversions "
            f"(touches whose {data.policy.attribution_window_days}-day window ends before the as-of time)"
        )
    train, calib, valid = split_periods(examples, cfg)
    n_logged = len(examples)
    history = untreated_rows(sampled, as_of, specs, sorted(set(actions["category"].astype(str))),
                             examples, train, calib, cfg)
    del sampled
    n_history = len(history)
    if n_history:
        train = np.r_[train, history["split"].to_numpy() == "train"]
        calib = np.r_[calib, history["split"].to_numpy() == "calib"]
        valid = np.r_[valid, np.zeros(len(history), dtype=bool)]
        examples = pd.concat([examples, history.drop(columns=["split"])], ignore_index=True)
    del history
    design = DesignMatrix(specs).fit(examples)
    X = design.transform(examples)
    examples = examples[[c for c in META_COLUMNS if c in examples.columns]]
    return Prepared(data, as_of, actions, specs, examples, design, X,
                    examples["converted"].to_numpy(dtype=float), train, calib, valid, n_logged, n_history, sample)


def training_examples(dataset: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec],
                      max_examples: int | None = None, seed: int = 0,
                      window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
                      numeric_dtype: type[np.floating] = np.float64) -> pd.DataFrame:
    """One row per labelled logged decision and category: features as of the touch's own time,
    the action columns and the outcome (``converted``, ``list_revenue``).

    With more than ``max_examples`` rows, a uniform random sample of whole decisions (touches)
    is kept, so every period and action stays represented in proportion; only the kept touches
    are labelled. ``window`` (start, end) keeps only the touches with start <= touched_at < end
    (e.g. a holdout period). ``numeric_dtype``: of the numeric features (``build_features``).
    """
    labels = label_touches(_sampled_touches(dataset, as_of, max_examples, seed, window), as_of)
    keep = labels["complete"] & labels["category"].notna()
    if window is not None:
        keep &= (labels["touched_at"] >= window[0]) & (labels["touched_at"] < window[1])
    labels = labels[keep].reset_index(drop=True)
    if labels.empty:
        return labels
    queries = pd.DataFrame({"account_id": labels["account_id"], "at": labels["touched_at"],
                            "category": labels["category"]})
    feats = build_features(dataset, queries, specs, numeric_dtype=numeric_dtype)
    del queries
    executed = labels["channel"].map(
        {n: r.executed_by for n, r in dataset.policy.channels.items()}).astype(object)
    acts = action_frame(labels["channel"].to_numpy(), labels["offer_id"].astype(object).to_numpy(),
                        labels["discount_pct"].fillna(0).to_numpy(), executed.to_numpy())
    meta = labels[["touch_id", "account_id", "touched_at", "category", "channel", "offer_id",
                   "discount_pct", "propensity", "converted", "list_revenue", "margin"]]
    out = pd.concat([meta.reset_index(drop=True), feats.reset_index(drop=True).drop(
        columns=[c for c in ("account_id", "category") if c in feats.columns]), acts], axis=1)
    return out.sort_values("touched_at", kind="mergesort").reset_index(drop=True)


def _sampled_touches(dataset: Dataset, as_of: pd.Timestamp, max_examples: int | None, seed: int,
                     window: tuple[pd.Timestamp, pd.Timestamp] | None) -> Dataset:
    """``dataset`` with only the touches that :func:`training_examples` labels: all when their labelled
    rows number at most ``max_examples``, else a seeded uniform sample of whole touches (each kept with
    probability ``max_examples`` / rows). The same touches as sampling the labelled rows, without
    labelling the touches that are dropped."""
    if max_examples is None:
        return dataset
    rows = labelled_rows_per_touch(dataset, as_of, window)
    total = int(rows.sum())
    if total <= max_examples:
        return dataset
    eligible = np.flatnonzero(rows > 0)
    chosen = eligible[np.random.default_rng(seed).random(len(eligible)) < max_examples / total]
    return replace(dataset, touches=dataset.touches.iloc[chosen].reset_index(drop=True))


def labelled_rows_per_touch(dataset: Dataset, as_of: pd.Timestamp,
                            window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> np.ndarray:
    """How many rows of :func:`training_examples` each touch of ``dataset.touches`` gives: one per
    category for a `none` holdout, one for a touch with an offer of a known category, none for a
    generic contact, a touch at or after ``as_of`` or one whose attribution window is not over."""
    touches = dataset.touches
    as_of = pd.Timestamp(as_of)
    at = touches["touched_at"]
    window_end = at + pd.Timedelta(days=dataset.policy.attribution_window_days)
    complete = ((at < as_of) & (window_end < as_of)).to_numpy(dtype=bool, na_value=False)
    if window is not None:
        complete &= ((at >= window[0]) & (at < window[1])).to_numpy(dtype=bool, na_value=False)
    is_none = (touches["channel"].astype(object).to_numpy() == NONE_CHANNEL)
    offer_category = dataset.offers.set_index("offer_id")["product_category"]
    has_category = pd.notna(lookup(touches["offer_id"], offer_category, None))
    per_touch = np.where(is_none, len(dataset.before(as_of).categories), has_category.astype(np.int64))
    return np.where(complete, per_touch, 0)


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
    period only measures) before their features are built. With a random (not time-ordered) split,
    every window trains. Numeric features are float32."""
    if cfg.history_windows == 0:
        return pd.DataFrame()
    t = examples["touched_at"]
    window = pd.Timedelta(days=data.policy.attribution_window_days)
    by_time = calib.any() and (~(train | calib)).any() and t[train].max() <= t[calib].min()
    t_cal, t_val = (t[calib].min(), t[~(train | calib)].min()) if by_time else (None, None)

    def split_of(start: pd.Series) -> np.ndarray:
        if t_cal is None:
            return np.full(len(start), "train", dtype=object)
        end = start + window
        return np.where(end < t_cal, "train", np.where((start >= t_cal) & (end < t_val), "calib", "drop"))

    rows = untreated_examples(data, as_of, specs, categories, cfg.history_windows, cfg.random_state,
                              keep=lambda start: split_of(start) != "drop", numeric_dtype=np.float32)
    if rows.empty:
        return rows
    n = len(rows)
    acts = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
    return pd.concat([rows, acts, pd.DataFrame({"channel": np.full(n, NONE_CHANNEL, dtype=object),
                                                "touch_id": None, "propensity": np.nan,
                                                "split": split_of(rows["touched_at"])})], axis=1)
