"""Training: logged touches → labelled, as-of feature rows → fitted DecisionPipeline + metrics.

Time-ordered split of the labelled touches: the earliest part trains the models, the next part
stops boosting early and calibrates probabilities, the latest part (the validation period) is
only used for metrics, so they are honest about the future.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from features.actions import action_space
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import FeatureSpec, feature_specs
from features.outcomes import label_touches
from features.policy import NONE_CHANNEL
from features.snapshot import build_snapshot
from models.baseline_examples import untreated_examples
from models.calibration import DEFAULT_L2
from models.decision import score_actions
from models.design import DesignMatrix, action_frame
from models.estimators import CALIBRATIONS, ConversionClassifier, ConversionValueRegressor
from models.learners import (
    LEARNERS,
    TLearnerClassifier,
    XLearnerClassifier,
    inverse_propensity_weights,
)
from models.metrics import classification_metrics
from models.pipeline import DecisionPipeline, split_snapshot
from models.shrinkage import DEFAULT_STRENGTH, LiftPrior, fit_lift_prior


class TrainingError(ValueError):
    """The data cannot support training; the message says what is missing."""


@dataclass(frozen=True)
class TrainingConfig:
    """How training splits time and sizes the models."""

    calibration_share: float = 0.15
    validation_share: float = 0.15
    min_examples: int = 200
    min_conversions: int = 20
    max_examples: int | None = 400_000
    shrinkage_strength: float = DEFAULT_STRENGTH  # 0 = use each account's own estimate only
    prior_accounts: int = 5000  # accounts sampled at the as-of time to measure each action's average lift
    baseline_offset: bool = False
    #: How the effect of an action is estimated (``models.learners``): "s", "t" or "x".
    learner: str = "s"
    #: Untreated windows per account drawn from the whole history as extra `none` examples
    #: (``models.baseline_examples``); 0 = logged holdouts only.
    history_windows: int = 4
    #: LightGBM's monotone-constraint method of the pooled conversion model (S-learner).
    monotone_method: str = "intermediate"
    #: Calibration of the pooled conversion model: "pooled" (one Platt map), "action"
    #: (per-action-group offsets on the calibration rows, ``models.calibration``) or "crossfit" (the
    #: same offsets on cross-fitted scores of the training rows too, touches weighted by 1/propensity).
    #: None (default): "crossfit" for the S-learner, "pooled" for the others and with ``baseline_offset``.
    calibration: str | None = None
    #: Folds (by account) of the cross-fitted calibration.
    calibration_folds: int = 3
    #: L2 penalty of the per-action calibration offsets ("action", "crossfit"), in log-likelihood units.
    calibration_l2: float = DEFAULT_L2
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {', '.join(LEARNERS)}; got {self.learner!r}")
        if self.calibration is None:
            default = "crossfit" if self.learner == "s" and not self.baseline_offset else "pooled"
            object.__setattr__(self, "calibration", default)
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}; got {self.calibration!r}")
        if self.calibration != "pooled" and self.learner != "s":
            raise ValueError(f"calibration={self.calibration!r} applies to the pooled S-learner only; "
                             f"got learner={self.learner!r}")
        if self.calibration_l2 < 0:
            raise ValueError(f"calibration_l2 must be >= 0, got {self.calibration_l2}")
        if self.calibration_folds < 2:
            raise ValueError(f"calibration_folds must be >= 2, got {self.calibration_folds}")
        if self.calibration == "crossfit" and self.baseline_offset:
            raise ValueError("calibration='crossfit' does not support baseline_offset=True")
        if self.history_windows < 0:
            raise ValueError(f"history_windows must be >= 0, got {self.history_windows}")


@dataclass
class TrainingResult:
    pipeline: DecisionPipeline
    metrics: dict[str, float]
    params: dict[str, object]
    data_summary: dict[str, float]
    validation: pd.DataFrame = field(repr=False)


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


def _split(examples: pd.DataFrame, cfg: TrainingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def train_pipeline(dataset: Dataset, as_of: pd.Timestamp | None = None,
                   config: TrainingConfig | None = None) -> TrainingResult:
    """Fit the conversion and value models and assemble the decision pipeline."""
    cfg = config or TrainingConfig()
    started = time.perf_counter()
    if as_of is None:
        latest = dataset.latest_time()
        if latest is None:
            raise TrainingError("no orders, touches or web events: nothing to learn from")
        as_of = latest.normalize() + pd.Timedelta(days=1)
    as_of = pd.Timestamp(as_of)
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
    train, calib, valid = _split(examples, cfg)
    n_logged = len(examples)
    history = _untreated_rows(data, as_of, specs, sorted(set(actions["category"].astype(str))),
                              examples, train, calib, cfg)
    if len(history):
        examples = pd.concat([examples, history.drop(columns=["split"])], ignore_index=True)
        train = np.r_[train, history["split"].to_numpy() == "train"]
        calib = np.r_[calib, history["split"].to_numpy() == "calib"]
        valid = np.r_[valid, np.zeros(len(history), dtype=bool)]
    design = DesignMatrix(specs).fit(examples)
    X = design.transform(examples)
    y = examples["converted"].to_numpy(dtype=float)
    clf = conversion_model(cfg, design)
    fit_kwargs = {}
    if cfg.learner == "x":
        fit_kwargs["sample_weight"] = inverse_propensity_weights(examples.loc[train, "propensity"].to_numpy(dtype=float))
    if cfg.calibration == "crossfit":
        propensity = examples["propensity"].to_numpy(dtype=float)
        fit_kwargs.update(groups=examples.loc[train, "account_id"].to_numpy(dtype=object),
                          propensity=propensity[train], propensity_calib=propensity[calib])
    clf.fit(X[train], y[train], X_calib=X[calib], y_calib=y[calib], **fit_kwargs)
    conv = (y == 1) & ~valid & (examples["list_revenue"].to_numpy(dtype=float) > 0)
    value_model = ConversionValueRegressor(random_state=cfg.random_state).fit(
        X.loc[conv, design.account_columns], examples.loc[conv, "list_revenue"].to_numpy(dtype=float))

    p_valid = clf.predict_proba(X[valid])[:, 1]
    metrics = {f"valid_{k}": v for k, v in classification_metrics(y[valid], p_valid).items()}
    p_train = clf.predict_proba(X[train])[:, 1]
    metrics.update({f"train_{k}": v for k, v in classification_metrics(y[train], p_train).items()
                    if k in ("auc", "log_loss")})
    metrics["best_iteration"] = float(clf.best_iteration_)
    offers = data.offers[["offer_id", "name", "product_category"]].copy() if "name" in data.offers \
        else data.offers[["offer_id", "product_category"]].assign(name=None)
    pipeline = DecisionPipeline(
        specs=specs, design=design, classifier=clf, value_model=value_model, actions=actions,
        offers=offers, policy=data.policy.to_dict(), category_margin=data.category_margin_rates(),
        trained_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"), as_of=as_of.isoformat(),
    )
    validation = examples.loc[valid, ["touch_id", "account_id", "touched_at", "category", "channel",
                                      "offer_id", "discount_pct", "propensity", "converted"]].copy()
    validation["p_convert"] = p_valid
    metrics["training_seconds"] = time.perf_counter() - started
    summary = {
        "accounts": float(len(data.accounts)), "orders": float(len(data.orders)),
        "touches": float(len(data.touches)), "web_events": float(len(data.web_events)),
        "offers_active": float(int(data.offers["active"].sum())), "actions": float(len(actions)),
        "examples_train": float(train.sum()), "examples_calibration": float(calib.sum()),
        "examples_validation": float(valid.sum()), "conversion_rate": float(y.mean()),
        "none_share": float((examples["channel"].iloc[:n_logged] == NONE_CHANNEL).mean()),
        "examples_untreated_history": float(len(history)),
    }
    params = {"as_of": as_of.isoformat(), "features": len(specs), **cfg.__dict__,
              **{f"clf_{k}": v for k, v in clf.get_params().items() if k not in ("monotone_constraints", "account_columns", "baseline_columns")}}
    if cfg.shrinkage_strength > 0:
        seen = examples[~valid & (examples["channel"] != NONE_CHANNEL)]
        evidence = seen.groupby(["channel", "offer_id"]).size()
        pipeline.lift_prior = reference_lift_prior(
            data, as_of, pipeline, {(str(c), str(o)): int(n) for (c, o), n in evidence.items()}, cfg)
    pipeline.metrics = dict(metrics)
    return TrainingResult(pipeline, metrics, params, summary, validation)


def conversion_model(cfg: TrainingConfig, design: DesignMatrix
                     ) -> ConversionClassifier | TLearnerClassifier | XLearnerClassifier:
    """The unfitted conversion model of the configured learner (``models.learners``)."""
    monotone = design.monotone_constraints()
    if cfg.learner == "t":
        return TLearnerClassifier(account_columns=design.account_columns, monotone_constraints=monotone,
                                  random_state=cfg.random_state)
    if cfg.learner == "x":
        return XLearnerClassifier(account_columns=design.account_columns, monotone_constraints=monotone,
                                  random_state=cfg.random_state)
    return ConversionClassifier(monotone_constraints=monotone,
                                baseline_columns=design.account_columns if cfg.baseline_offset else None,
                                monotone_method=cfg.monotone_method, calibration=cfg.calibration,
                                calibration_folds=cfg.calibration_folds, calibration_l2=cfg.calibration_l2,
                                random_state=cfg.random_state)


def _untreated_rows(data: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec], categories: list[str],
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


def reference_lift_prior(data: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline,
                         evidence: dict[tuple[str, str], int], cfg: TrainingConfig) -> LiftPrior:
    """Each action's average lift over (a sample of) the accounts as of training time."""
    accounts = data.accounts
    if len(accounts) > cfg.prior_accounts:
        accounts = accounts.sample(cfg.prior_accounts, random_state=cfg.random_state)
    sample = replace(data, accounts=accounts.reset_index(drop=True))
    frame, state = split_snapshot(build_snapshot(sample, as_of, pipeline.specs, pipeline.categories))
    everything = np.ones((len(state), len(pipeline.actions)), dtype=bool)
    scored = score_actions(frame, everything, pipeline.actions, design=pipeline.design,
                           classifier=pipeline.classifier, value_model=pipeline.value_model,
                           category_margin=pipeline.category_margin)
    return fit_lift_prior(pipeline.actions, scored.pair_action, scored.p_convert, scored.p_baseline,
                          evidence, cfg.shrinkage_strength)
