"""Training: labelled logged decisions → fitted DecisionPipeline, metrics and (with "auto") the
learner chosen on the data.

With the default effect calibration, the development rows (everything before the validation period)
are cross-fitted over time-ordered blocks (``models.crossfit``): each candidate learner's out-of-fold
predictions fit its calibration maps and value its policy on held-out logged decisions
(``models.selection``); the chosen learner is then refitted on all development rows. The older
calibrations of the pooled S-learner ("pooled", "action", "crossfit") train on the earliest period
and calibrate on the next. The latest period (validation) only measures, so metrics and the verdict
against doing nothing are honest about the future.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from features.dataset import Dataset, restrict_accounts
from features.policy import NONE_CHANNEL
from features.snapshot import build_snapshot
from models.account_sample import AccountSample
from models.candidates import fit_learner, make_learner
from models.crossfit import cross_fit, replay_block, time_folds
from models.decision import score_actions
from models.design import DesignMatrix
from models.effect_calibration import EffectCalibration
from models.estimators import ConversionValueRegressor
from models.metrics import classification_metrics
from models.pipeline import DecisionPipeline, split_snapshot
from models.selection import Selection, fit_calibration, select
from models.shrinkage import LiftPrior, fit_lift_prior
from models.training_config import TrainingConfig
from models.training_data import Prepared, TrainingError, prepare, training_examples

__all__ = ["TrainingConfig", "TrainingError", "TrainingResult", "train_pipeline", "training_examples"]


@dataclass
class TrainingResult:
    pipeline: DecisionPipeline
    metrics: dict[str, float]
    params: dict[str, object]
    data_summary: dict[str, float]
    validation: pd.DataFrame = field(repr=False)
    selection: Selection | None = field(default=None, repr=False)
    #: The accounts training used: all, or a stratified sample (``TrainingConfig.sample_accounts``).
    sample: AccountSample | None = field(default=None, repr=False)


@dataclass
class _Fitted:
    classifier: Any
    calibration: EffectCalibration | None
    learner: str
    selection: Selection | None = None
    policy_mode: str = "personalized"
    single_action: tuple[str, str, float] | None = None
    single_value: float | None = None


def train_pipeline(dataset: Dataset, as_of: pd.Timestamp | None = None,
                   config: TrainingConfig | None = None) -> TrainingResult:
    """Fit (or choose and fit) the conversion model and the value model; assemble the pipeline."""
    cfg = config or TrainingConfig()
    started = time.perf_counter()
    prep = prepare(dataset, as_of, cfg)
    value_model = _value_model(prep, ~prep.valid, cfg)
    fitted = _fit_effect(prep, cfg, value_model) if cfg.effective_calibration == "effect" else _fit_legacy(prep, cfg)
    data, examples, X, y = prep.data, prep.examples, prep.X, prep.y
    offers = data.offers[["offer_id", "name", "product_category"]].copy() if "name" in data.offers \
        else data.offers[["offer_id", "product_category"]].assign(name=None)
    pipeline = DecisionPipeline(
        specs=prep.specs, design=prep.design, classifier=fitted.classifier, value_model=value_model,
        actions=prep.actions, offers=offers, policy=data.policy.to_dict(),
        category_margin=data.category_margin_rates(),
        trained_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"), as_of=prep.as_of.isoformat(),
        calibration=fitted.calibration, learner=fitted.learner, policy_mode=fitted.policy_mode,
        single_action=fitted.single_action, single_value=fitted.single_value,
    )
    fit_rows = prep.train if cfg.effective_calibration != "effect" else ~prep.valid
    p_all = conversion_probabilities(pipeline, X, examples, prep.valid | fit_rows)
    p_valid = p_all[prep.valid]
    metrics = {f"valid_{k}": v for k, v in classification_metrics(y[prep.valid], p_valid).items()}
    p_fit = p_all[fit_rows]
    metrics.update({f"train_{k}": v for k, v in classification_metrics(y[fit_rows], p_fit).items()
                    if k in ("auc", "log_loss")})
    metrics["best_iteration"] = float(getattr(fitted.classifier, "best_iteration_", np.nan))
    if cfg.effective_calibration != "effect" and cfg.shrinkage_strength > 0:
        seen = examples[~prep.valid & (examples["channel"] != NONE_CHANNEL)]
        evidence = seen.groupby(["channel", "offer_id"]).size()
        pipeline.lift_prior = reference_lift_prior(
            data, prep.as_of, pipeline, {(str(c), str(o)): int(n) for (c, o), n in evidence.items()}, cfg)
    validation = examples.loc[prep.valid, ["touch_id", "account_id", "touched_at", "category", "channel",
                                           "offer_id", "discount_pct", "propensity", "converted"]].copy()
    validation["p_convert"] = p_valid
    metrics["training_seconds"] = time.perf_counter() - started
    summary = {
        "accounts": float(len(data.accounts)), "orders": float(len(data.orders)),
        "touches": float(len(data.touches)), "web_events": float(len(data.web_events)),
        "offers_active": float(int(data.offers["active"].sum())), "actions": float(len(prep.actions)),
        "examples_train": float(fit_rows.sum()),
        "examples_calibration": float(prep.calib.sum()) if cfg.effective_calibration != "effect" else 0.0,
        "examples_validation": float(prep.valid.sum()), "conversion_rate": float(y.mean()),
        "none_share": float((examples["channel"].iloc[:prep.n_logged] == NONE_CHANNEL).mean()),
        "examples_untreated_history": float(prep.n_history),
        "accounts_sampled": float(prep.sample.sampled),
    }
    params = {"as_of": prep.as_of.isoformat(), "features": len(prep.specs), **cfg.as_params(),
              **prep.sample.as_params(),
              "learner_chosen": fitted.learner, "policy_mode": fitted.policy_mode,
              **{f"clf_{k}": v for k, v in _learner_params(fitted.classifier).items()}}
    if fitted.calibration is not None:
        metrics.update({f"calibration_{k}": v for k, v in fitted.calibration.describe().items()})
    pipeline.metrics = dict(metrics)
    return TrainingResult(pipeline, metrics, params, summary, validation, fitted.selection, prep.sample)


#: Rows whose conversion probabilities are computed together (bounds the scoring matrices' memory).
SCORING_CHUNK = 200_000


def conversion_probabilities(pipeline: DecisionPipeline, X: pd.DataFrame, examples: pd.DataFrame,
                             rows: np.ndarray) -> np.ndarray:
    """The pipeline's calibrated P(convert) of the design rows ``X[rows]`` (NaN elsewhere), chunk by
    chunk of :data:`SCORING_CHUNK` rows (each row's probability depends on that row only)."""
    out = np.full(len(X), np.nan)
    positions = np.flatnonzero(rows)
    for start in range(0, len(positions), SCORING_CHUNK):
        chunk = positions[start:start + SCORING_CHUNK]
        out[chunk] = pipeline.conversion_probability(X.iloc[chunk], examples.iloc[chunk])
    return out


def conversion_model(cfg: TrainingConfig, design: DesignMatrix) -> Any:
    """The unfitted conversion model of a configuration with one learner (``models.candidates``)."""
    learner = "s" if cfg.learner == "auto" else cfg.learner
    return make_learner(learner, design, calibration=cfg.effective_calibration, monotone_method=cfg.monotone_method,
                        baseline_offset=cfg.baseline_offset, calibration_folds=cfg.calibration_folds,
                        calibration_l2=cfg.calibration_l2, random_state=cfg.random_state)


def _fit_legacy(prep: Prepared, cfg: TrainingConfig) -> _Fitted:
    """The learner's own calibration: train on the training period, calibrate on the next."""
    model = fit_learner(conversion_model(cfg, prep.design), prep.X, prep.y, prep.examples, prep.train, prep.calib)
    return _Fitted(model, None, cfg.learner)


def _fit_effect(prep: Prepared, cfg: TrainingConfig, value_model: ConversionValueRegressor) -> _Fitted:
    """Cross-fit the candidates, calibrate each on its out-of-fold predictions, choose (with "auto"),
    and refit the chosen learner on every development row."""
    dev = ~prep.valid
    ex = prep.examples
    window = pd.Timedelta(days=prep.data.policy.attribution_window_days)
    folds = time_folds(ex["touched_at"], ex["touch_id"], dev, cfg.selection_folds, window, cfg.random_state)
    names = list(cfg.candidates) if cfg.learner == "auto" else [cfg.learner]
    categories = sorted(set(prep.actions["category"].astype(str)))
    blocks = []
    for j in range(folds.k):
        fold_value = _value_model(prep, folds.train[j], cfg) if cfg.learner == "auto" else value_model
        blocks.append(replay_block(prep.data, ex, folds.block == j, prep.specs, categories, prep.design,
                                   prep.actions, prep.data.policy, fold_value,
                                   max(cfg.selection_decisions // folds.k, 1), cfg.random_state + j)
                      if cfg.learner == "auto" else None)

    def make(name: str) -> Any:
        return make_learner(name, prep.design, monotone_method=cfg.monotone_method, random_state=cfg.random_state)

    cap = cfg.selection_max_examples if cfg.learner == "auto" else None
    sampled = cap is not None and any(f.sum() > cap for f in folds.train)
    if sampled:  # every candidate of a block trains on the same seeded sample of its rows
        folds = replace(folds, train=[_sample(rows, cap, cfg.random_state + j) for j, rows in enumerate(folds.train)])
    baselines: dict[int, Any] = {}

    def fit(model: Any, rows: np.ndarray) -> Any:
        return fit_learner(model, prep.X, prep.y, ex, rows, baselines=baselines)

    oof = cross_fit(names, make, fit, prep.X, folds, blocks, prep.design, prep.actions)
    strength = cfg.shrinkage_strength
    selection = None
    if cfg.learner == "auto":
        margins = _category_margins(prep, categories)
        cost = prep.actions["cost"].to_numpy(dtype=float)
        per_block = {name: {j: fit_calibration(o, ex, prep.y, dev & (folds.block != j) & (folds.block >= 0), strength)
                            for j in range(folds.k)} for name, o in oof.items() if not o.error}
        selection = select(oof, per_block, folds, blocks, prep.actions, margins, cost,
                           level=cfg.selection_level)
        learner = selection.learner
    else:
        learner = cfg.learner
        if oof[learner].error:
            raise TrainingError(f"learner {learner!r} cannot be trained on these data: {oof[learner].error}")
    if sampled:  # the candidates saw samples: cross-fit the chosen learner on every row for its calibration
        folds = time_folds(ex["touched_at"], ex["touch_id"], dev, cfg.selection_folds, window, cfg.random_state)
        oof = cross_fit([learner], make, lambda model, rows: fit_learner(model, prep.X, prep.y, ex, rows),
                        prep.X, folds, [None] * folds.k, prep.design, prep.actions)
    calibration = fit_calibration(oof[learner], ex, prep.y, dev & (folds.block >= 0), strength)
    model = fit_learner(make(learner), prep.X, prep.y, ex, dev)
    mode, single, single_value = "personalized", None, None
    if selection is not None and selection.chosen == "none":
        mode = "none"
    elif selection is not None and selection.chosen == "best_single" and selection.single_action is not None:
        mode, single, single_value = "single", selection.single_action, selection.single_value
    return _Fitted(model, calibration, learner, selection, mode, single, single_value)


def _sample(rows: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """``rows`` (a mask) thinned at random to about ``cap`` rows."""
    n = int(rows.sum())
    if cap is None or n <= cap:
        return rows
    return rows & (np.random.default_rng(seed).random(len(rows)) < cap / n)


def _value_model(prep: Prepared, rows: np.ndarray, cfg: TrainingConfig) -> ConversionValueRegressor:
    """E[list revenue | conversion] from the converted rows among ``rows``."""
    conv = rows & (prep.y == 1) & (prep.examples["list_revenue"].to_numpy(dtype=float) > 0)
    return ConversionValueRegressor(random_state=cfg.random_state).fit(
        prep.X.loc[conv, prep.design.account_columns], prep.examples.loc[conv, "list_revenue"].to_numpy(dtype=float))


def _category_margins(prep: Prepared, categories: list[str]) -> np.ndarray:
    rates = prep.data.category_margin_rates()
    margin = np.array([rates.get(c, np.nan) for c in categories], dtype=float)
    return np.where(np.isnan(margin), np.nanmean(margin) if np.isfinite(margin).any() else 0.0, margin)


def _learner_params(model: Any) -> dict[str, Any]:
    skip = ("monotone_constraints", "account_columns", "baseline_columns", "design")
    return {k: v for k, v in model.get_params().items() if k not in skip}


def reference_lift_prior(data: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline,
                         evidence: dict[tuple[str, str], int], cfg: TrainingConfig) -> LiftPrior:
    """Each action's average lift over (a sample of) the accounts as of training time.

    A sample keeps its accounts' events only (each account's features come from its own rows), so
    its cost does not grow with the data set's other accounts."""
    sample = data
    if len(data.accounts) > cfg.prior_accounts:
        accounts = data.accounts.sample(cfg.prior_accounts, random_state=cfg.random_state).reset_index(drop=True)
        sample = replace(restrict_accounts(data, accounts["account_id"]), accounts=accounts)
    frame, state = split_snapshot(build_snapshot(sample, as_of, pipeline.specs, pipeline.categories))
    everything = np.ones((len(state), len(pipeline.actions)), dtype=bool)
    scored = score_actions(frame, everything, pipeline.actions, design=pipeline.design,
                           classifier=pipeline.classifier, value_model=pipeline.value_model,
                           category_margin=pipeline.category_margin)
    return fit_lift_prior(pipeline.actions, scored.pair_action, scored.p_convert, scored.p_baseline,
                          evidence, cfg.shrinkage_strength)
