"""Evaluation of a decision pipeline on a holdout period: one call, one report, flat metrics.

The holdout is, by default, the model's own validation period: the latest ~15 % of the labelled
touches before the model's as-of time (the same time split as training), which it was never
trained on. An explicit window (``holdout_from``, ``holdout_to``) evaluates several models on the
same decisions. The report holds the classification metrics and the reliability curve of the
conversion model, the off-policy values of the pipeline and of reference policies, and Qini curves.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.errors import SymbioseError
from features.outcomes import label_touches
from models.evaluation.calibration import reliability_curve
from models.evaluation.incremental import (
    best_by_lower_bound,
    estimate_mean,
    incremental_terms,
    incremental_variance,
)
from models.evaluation.off_policy import (
    DEFAULT_BOOTSTRAP,
    ESTIMATORS,
    Estimate,
    PolicyEstimates,
    estimate_all,
)
from models.evaluation.replay import LOGGED_NONE, MAX_DECISIONS, Replay, replay
from models.evaluation.uplift import QiniCurve, qini_by_action
from models.evaluation.verdict import verdict
from models.metrics import classification_metrics
from models.pipeline import DecisionPipeline
from models.training_config import TrainingConfig
from models.training_data import split_periods, training_examples

#: Reference policies, in the order the report shows them.
REFERENCES = ("logging", "none", "random", "best_single")


class EvaluationError(SymbioseError, ValueError):
    """The holdout cannot be evaluated; the message says what is missing."""


@dataclass
class EvaluationReport:
    """Everything measured on one holdout; :meth:`metrics` flattens it for MLflow."""

    model_version: str
    as_of: pd.Timestamp
    holdout_from: pd.Timestamp
    holdout_to: pd.Timestamp
    classification: dict[str, float]
    reliability: pd.DataFrame
    policies: list[PolicyEstimates] = field(default_factory=list)
    gain_vs_none: Estimate | None = None
    #: The policy minus the best single action, on the half of the decisions that action was not picked on.
    gain_vs_best_single: Estimate | None = None
    best_single_action: str = ""
    qini: list[QiniCurve] = field(default_factory=list)
    decisions: int = 0
    available_decisions: int = 0  # before sampling down to ``max_decisions``
    matches: int = 0
    contact_share: float = float("nan")
    n_boot: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    seconds: float = 0.0

    def verdict(self, currency: str = "€") -> str:
        """One line: the policy against doing nothing and the best single action (``models.evaluation.verdict``)."""
        return verdict(self.gain_vs_none, self.gain_vs_best_single, self.best_single_action, currency, self.decisions)

    def policy(self, name: str) -> PolicyEstimates | None:
        return next((p for p in self.policies if p.policy == name), None)

    def policy_table(self) -> pd.DataFrame:
        """One row per policy and estimator: value, low, high, n."""
        rows = [{"policy": p.policy, "estimator": e.name, "value": e.value, "low": e.low,
                 "high": e.high, "n": e.n, "description": p.description}
                for p in self.policies for e in p.estimates.values()]
        return pd.DataFrame(rows, columns=["policy", "estimator", "value", "low", "high", "n", "description"])

    def qini_table(self) -> pd.DataFrame:
        rows = [{"channel": q.channel, "offer_id": q.offer_id, "qini": q.coefficient, "uplift": q.uplift,
                 "treated": q.n_treated, "control": q.n_control} for q in self.qini]
        return pd.DataFrame(rows, columns=["channel", "offer_id", "qini", "uplift", "treated", "control"])

    def metrics(self) -> dict[str, float]:
        """Flat MLflow-ready metrics: classification, ``<estimator>_policy_value[_<reference>]``
        with ``_low``/``_high``, ``dr_policy_gain_vs_none``, ``qini_<channel>_<offer>``."""
        nan = float("nan")
        c = self.classification
        out: dict[str, float] = {
            "auc": c.get("auc", nan), "log_loss": c.get("log_loss", nan),
            "calibration_error": c.get("calibration_error", nan), "brier": c.get("brier", nan),
            "base_rate": c.get("base_rate", nan), "mean_prediction": c.get("mean_prediction", nan),
            "holdout_examples": c.get("n", 0.0), "holdout_decisions": float(self.decisions),
            "policy_matches": float(self.matches), "policy_contact_share": self.contact_share,
            "evaluation_seconds": self.seconds,
        }
        for policy in ("model", *REFERENCES):
            found = self.policy(policy)
            suffix = "" if policy == "model" else f"_{policy}"
            for cls in ESTIMATORS:
                est = found.estimates.get(cls.name) if found else None
                key = f"{cls.name}_policy_value{suffix}"
                out[key] = est.value if est else nan
                out[f"{key}_low"] = est.low if est else nan
                out[f"{key}_high"] = est.high if est else nan
        for key, gain in (("none", self.gain_vs_none), ("best_single", self.gain_vs_best_single)):
            out[f"dr_policy_gain_vs_{key}"] = gain.value if gain else nan
            out[f"dr_policy_gain_vs_{key}_low"] = gain.low if gain else nan
            out[f"dr_policy_gain_vs_{key}_high"] = gain.high if gain else nan
        for q in self.qini:
            out[metric_key(f"qini_{q.channel}_{q.offer_id}")] = q.coefficient
        return out


def metric_key(text: str) -> str:
    """An MLflow-safe metric name: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^0-9a-z_]+", "_", text.lower()).strip("_")


def _validation_split(pipeline: DecisionPipeline, dataset: Dataset
                      ) -> tuple[pd.Timestamp, pd.Timestamp, np.ndarray | None]:
    """(start, end, touch ids or None) of the model's validation period, split as in training."""
    if not pipeline.as_of:
        raise EvaluationError("the pipeline has no as_of time; pass holdout_from and holdout_to")
    end = pd.Timestamp(pipeline.as_of)
    labels = label_touches(dataset, end)
    labels = labels[labels["complete"] & labels["category"].notna()]
    if labels.empty:
        raise EvaluationError(f"touches: no labelled touch before the model's as-of time {end:%Y-%m-%d}; "
                              "nothing to evaluate on")
    labels = labels.sort_values("touched_at", kind="mergesort").reset_index(drop=True)
    _, _, valid = split_periods(labels[["touch_id", "touched_at"]], TrainingConfig())
    start = labels.loc[valid, "touched_at"].min()
    by_time = not (labels.loc[~valid, "touched_at"] >= start).any()
    ids = None if by_time else labels.loc[valid, "touch_id"].unique()
    return pd.Timestamp(start), end, ids


def holdout_window(pipeline: DecisionPipeline, dataset: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end) of the model's validation period: start <= touched_at < end.

    When training fell back to a random split of decisions (all touches at nearly one time), the
    window spans the validation decisions and the default evaluation uses exactly those decisions.
    """
    start, end, _ = _validation_split(pipeline, dataset)
    return start, end


def holdout_examples(pipeline: DecisionPipeline, dataset: Dataset, start: pd.Timestamp,
                     end: pd.Timestamp, as_of: pd.Timestamp) -> pd.DataFrame:
    """Labelled rows (touch × category) of the touches in [start, end) whose attribution window
    ended before ``as_of``, with the pipeline's predicted ``p_convert``."""
    data = dataset.before(as_of)
    examples = training_examples(data, as_of, pipeline.specs, window=(start, end))
    if examples.empty:
        return examples.assign(p_convert=pd.Series(dtype=float))
    X = pipeline.design.transform(examples)
    examples["p_convert"] = pipeline.conversion_probability(X, examples)
    return examples


def evaluate_pipeline(pipeline: DecisionPipeline, dataset: Dataset, *, as_of: pd.Timestamp | None = None,
                      holdout_from: pd.Timestamp | None = None, holdout_to: pd.Timestamp | None = None,
                      n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                      max_decisions: int = MAX_DECISIONS) -> EvaluationReport:
    """Evaluate ``pipeline`` on a holdout of ``dataset``.

    Holdout: the touches with ``holdout_from <= touched_at < holdout_to`` (default: the model's
    validation period, :func:`holdout_window`) whose attribution window ended before ``as_of``
    (default: ``holdout_to``). Only data before ``as_of`` is read.
    """
    started = time.perf_counter()
    ids = None
    if holdout_from is None or holdout_to is None:
        start, end, ids = _validation_split(pipeline, dataset)
        holdout_from = start if holdout_from is None else holdout_from
        holdout_to = end if holdout_to is None else holdout_to
    holdout_from, holdout_to = pd.Timestamp(holdout_from), pd.Timestamp(holdout_to)
    as_of = holdout_to if as_of is None else pd.Timestamp(as_of)
    if not holdout_from < holdout_to <= as_of:
        raise EvaluationError(f"holdout window [{holdout_from}, {holdout_to}) and as-of {as_of}: expected "
                              "holdout_from < holdout_to <= as_of")
    examples = holdout_examples(pipeline, dataset, holdout_from, holdout_to, as_of)
    if ids is not None:
        examples = examples[examples["touch_id"].isin(ids)].reset_index(drop=True)
    if examples.empty:
        raise EvaluationError(f"touches: no labelled touch in the holdout [{holdout_from:%Y-%m-%d}, "
                              f"{holdout_to:%Y-%m-%d}) whose attribution window ends before {as_of:%Y-%m-%d}")
    report = evaluate_holdout(pipeline, dataset.before(as_of), examples, n_boot=n_boot, seed=seed,
                              max_decisions=max_decisions)
    report.as_of, report.holdout_from, report.holdout_to = as_of, holdout_from, holdout_to
    report.seconds = time.perf_counter() - started
    return report


def evaluate_holdout(pipeline: DecisionPipeline, dataset: Dataset, holdout: pd.DataFrame, *,
                     n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                     max_decisions: int = MAX_DECISIONS) -> EvaluationReport:
    """The report for already labelled holdout rows (touch_id, account_id, touched_at, category,
    channel, offer_id, discount_pct, propensity, converted, p_convert), e.g. training's validation
    rows. ``dataset`` must hold the outcomes (data up to the evaluation's as-of time)."""
    started = time.perf_counter()
    missing = [c for c in ("touch_id", "account_id", "touched_at", "category", "channel", "offer_id",
                           "discount_pct", "propensity", "converted", "p_convert") if c not in holdout]
    if missing:
        raise EvaluationError(f"holdout rows lack columns {missing}")
    if holdout.empty:
        raise EvaluationError("holdout: no labelled rows to evaluate on")
    y = holdout["converted"].to_numpy(dtype=float)
    p = holdout["p_convert"].to_numpy(dtype=float)
    times = holdout["touched_at"]
    end = pd.Timestamp(pipeline.as_of) if pipeline.as_of else times.max() + pd.Timedelta(microseconds=1)
    report = EvaluationReport(
        model_version=pipeline.model_version, as_of=end, holdout_from=times.min(), holdout_to=end,
        classification=classification_metrics(y, p), reliability=reliability_curve(y, p),
        n_boot=n_boot, seed=seed)
    rep = replay(pipeline, dataset, holdout, max_decisions=max_decisions, seed=seed)
    if rep is not None:
        _add_policy_values(report, rep, n_boot, seed)
        report.qini = qini_by_action(rep, holdout)
    report.seconds = time.perf_counter() - started
    return report


def _add_policy_values(report: EvaluationReport, rep: Replay, n_boot: int, seed: int) -> None:
    logged = rep.logged()
    model, none = rep.model_policy(), rep.none_policy()
    report.decisions = len(logged)
    report.available_decisions = rep.available
    report.matches = int((model.action_prob > 0).sum())
    report.contact_share = float((rep.chosen != LOGGED_NONE).mean())
    accounts = rep.decisions["account_id"].to_numpy(dtype=object)
    report.policies = [estimate_all(logged, policy, n_boot=n_boot, seed=seed, cluster=accounts)
                       for policy in (model, rep.logging_policy(), none, rep.random_policy())]
    data = rep.category_decisions()
    model_terms = incremental_terms(data, rep.chosen)
    report.gain_vs_none = estimate_mean(model_terms, accounts, variance=incremental_variance(data, rep.chosen),
                                        n_boot=n_boot, seed=seed, policy="model - none")
    best = _best_single(rep, logged, model_terms, n_boot, seed)
    if best is not None:
        estimates, report.gain_vs_best_single = best
        report.best_single_action = estimates.description
        report.policies.append(estimates)


def _best_single(rep: Replay, logged, model_terms: np.ndarray, n_boot: int, seed: int
                 ) -> tuple[PolicyEstimates, Estimate] | None:
    """Best single action, chosen honestly: picked by its incremental margin on a random half of the
    decisions, valued on the other half (its interval is therefore wider); and the pipeline's policy
    minus it on that half (``model_terms``: the pipeline's incremental-margin terms per decision)."""
    n = len(logged)
    if n < 4 or not len(rep.actions):
        return None
    pick = np.random.default_rng(seed).permutation(n) < n // 2
    rows = np.flatnonzero(pick)
    gains = rep.category_decisions()
    j = best_by_lower_bound(np.stack([incremental_terms(gains, np.where(rep.eligible[:, j], j, LOGGED_NONE))[rows]
                                      for j in range(len(rep.actions))]))
    policy = rep.single_action_policy(j)
    held = np.flatnonzero(~pick)
    accounts = rep.decisions["account_id"].to_numpy(dtype=object)
    result = estimate_all(logged.subset(held), policy.subset(held), n_boot=n_boot, seed=seed,
                          cluster=accounts[held])
    label = f"{policy.name} (picked on half of the decisions, valued on the other half)"
    single = np.where(rep.eligible[:, j], j, LOGGED_NONE)
    diff = model_terms - incremental_terms(gains, single)
    variance = incremental_variance(gains, rep.chosen, reference=single)
    gain = estimate_mean(diff[held], accounts[held], variance=variance[held], n_boot=n_boot,
                         seed=seed, policy="model - best_single")
    return PolicyEstimates("best_single", result.estimates, label), gain
