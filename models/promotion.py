"""Champion/challenger: the promotion gate as code, and the promotion that applies it.

The challenger (the latest trained version) and the champion (the served version) are evaluated
on the same holdout, the challenger's. :func:`decide` compares the two metric dicts with
:class:`PromotionThresholds`; :func:`run_promotion` moves ``champion`` only when every check
passes (or when forced) and records each decision in MLflow: a run with both sets of metrics
and the checks, and tags on the challenger version.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.dataset import Dataset
from features.errors import SymbioseError
from models.pipeline import DecisionPipeline
from models.pyfunc import load_pipeline
from models.registry import (
    MODEL_NAME,
    challenger_version,
    champion_version,
    configure_tracking,
    ensure_experiment,
    make_champion,
    tag_version,
    utc_now,
    version_label,
)

#: Keys of an evaluation's ``metrics()`` dict the gate reads.
REQUIRED_METRICS = ("auc", "calibration_error", "dr_policy_value", "dr_policy_value_low",
                    "dr_policy_value_high", "holdout_decisions", "dr_policy_gain_vs_none_low",
                    "dr_policy_gain_vs_best_single_low")

Metrics = Mapping[str, float]


class PromotionError(SymbioseError, RuntimeError):
    """A promotion cannot be attempted; the message says what is missing."""


@dataclass(frozen=True)
class PromotionThresholds:
    """What a challenger must show, on the challenger's holdout, to replace the champion."""

    #: Logged decisions the holdout must hold; fewer make policy values too noisy to compare.
    min_holdout_decisions: int = 200
    #: The challenger's doubly robust policy value may not fall below the champion's lower
    #: confidence bound minus this amount (per decision, in the policy's currency).
    policy_value_tolerance: float = 0.0
    #: The challenger's calibration error may exceed the champion's by at most this much ...
    calibration_slack: float = 0.01
    #: ... but a calibration error up to this bound is always acceptable.
    calibration_floor: float = 0.02
    #: The challenger's AUC may be lower than the champion's by at most this much.
    max_auc_drop: float = 0.02

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not (isinstance(value, numbers.Real) and math.isfinite(value) and float(value) >= 0):
                raise ValueError(f"PromotionThresholds.{item.name}: expected a finite number >= 0, "
                                 f"got {value!r}")


@dataclass(frozen=True)
class Check:
    """One comparison of the gate, with what was compared in plain words."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's verdict: promote only when every check passed."""

    promote: bool
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]


def decide(challenger: Metrics, champion: Metrics,
           thresholds: PromotionThresholds | None = None) -> PromotionDecision:
    """Compare the challenger's and the champion's metrics (evaluated on the same holdout).

    A metric that is missing from a dict is an error; one that is not a finite number (e.g. no
    decision matched) makes its check fail.
    """
    t = thresholds or PromotionThresholds()
    for who, metrics in (("challenger", challenger), ("champion", champion)):
        missing = [k for k in REQUIRED_METRICS if k not in metrics]
        if missing:
            raise ValueError(f"{who} metrics: missing {', '.join(missing)}; expected at least "
                             f"{', '.join(REQUIRED_METRICS)}")
    checks = [_holdout_check(challenger, t), _policy_value_check(challenger, champion, t),
              _beats_check(challenger, "none", "doing nothing"),
              _beats_check(challenger, "best_single", "the best single action"),
              _calibration_check(challenger, champion, t), _auc_check(challenger, champion, t)]
    return PromotionDecision(all(c.passed for c in checks), checks)


def _number(metrics: Metrics, key: str) -> float:
    try:
        value = float(metrics[key])
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _unavailable(name: str, values: dict[str, float]) -> Check | None:
    bad = [k for k, v in values.items() if math.isnan(v)]
    if not bad:
        return None
    return Check(name, False, f"not available: {', '.join(bad)} is not a number")


def _holdout_check(challenger: Metrics, t: PromotionThresholds) -> Check:
    name = "holdout size"
    n = _number(challenger, "holdout_decisions")
    if (missing := _unavailable(name, {"holdout decisions": n})) is not None:
        return missing
    return Check(name, n >= t.min_holdout_decisions,
                 f"the holdout has {n:,.0f} logged decisions; at least {t.min_holdout_decisions:,} "
                 "are needed to compare policy values")


def _policy_value_check(challenger: Metrics, champion: Metrics, t: PromotionThresholds) -> Check:
    name = "policy value"
    new, old = _number(challenger, "dr_policy_value"), _number(champion, "dr_policy_value")
    low, high = _number(champion, "dr_policy_value_low"), _number(champion, "dr_policy_value_high")
    values = {"challenger's DR policy value": new, "champion's DR policy value": old,
              "champion's lower bound": low}
    if (missing := _unavailable(name, values)) is not None:
        return missing
    bound = low - t.policy_value_tolerance
    slack = f" minus tolerance {t.policy_value_tolerance:,.2f}" if t.policy_value_tolerance else ""
    return Check(name, new >= bound,
                 f"challenger's DR policy value {new:,.2f} per decision vs champion's {old:,.2f} "
                 f"(interval {low:,.2f} to {high:,.2f}); must not be below the champion's lower "
                 f"bound{slack}, {bound:,.2f}")


def _beats_check(challenger: Metrics, reference: str, words: str) -> Check:
    """The challenger's policy must beat ``reference`` beyond the interval of their paired difference."""
    name = f"beats {words}"
    value = _number(challenger, f"dr_policy_gain_vs_{reference}")
    low = _number(challenger, f"dr_policy_gain_vs_{reference}_low")
    high = _number(challenger, f"dr_policy_gain_vs_{reference}_high")
    if (missing := _unavailable(name, {f"the gain over {words}": value, "its lower bound": low})) is not None:
        return missing
    return Check(name, low > 0,
                 f"challenger's DR policy value minus {words}: {value:,.4f} per decision (interval {low:,.4f} to "
                 f"{high:,.4f}); its lower bound must be above 0")


def _calibration_check(challenger: Metrics, champion: Metrics, t: PromotionThresholds) -> Check:
    name = "calibration"
    new, old = _number(challenger, "calibration_error"), _number(champion, "calibration_error")
    values = {"challenger's calibration error": new, "champion's calibration error": old}
    if (missing := _unavailable(name, values)) is not None:
        return missing
    bound = max(old + t.calibration_slack, t.calibration_floor)
    return Check(name, new <= bound,
                 f"challenger's calibration error {new:.4f} vs champion's {old:.4f}; must be at most "
                 f"{bound:.4f} (the champion's + {t.calibration_slack:g}, or {t.calibration_floor:g} "
                 "if that is larger)")


def _auc_check(challenger: Metrics, champion: Metrics, t: PromotionThresholds) -> Check:
    name = "AUC"
    new, old = _number(challenger, "auc"), _number(champion, "auc")
    if (missing := _unavailable(name, {"challenger's AUC": new, "champion's AUC": old})) is not None:
        return missing
    bound = old - t.max_auc_drop
    return Check(name, new >= bound,
                 f"challenger's AUC {new:.4f} vs champion's {old:.4f}; must be at least {bound:.4f} "
                 f"(the champion's minus {t.max_auc_drop:g})")


# ---------------------------------------------------------------- evaluation on one holdout


Window = tuple[pd.Timestamp, pd.Timestamp]


@dataclass(frozen=True)
class Evaluator:
    """How pipelines are evaluated: the holdout window of a pipeline on a data set, and the
    metrics of a pipeline on a given window (a dict with at least REQUIRED_METRICS)."""

    holdout_window: Callable[[DecisionPipeline, Dataset], Window]
    evaluate: Callable[[DecisionPipeline, Dataset, pd.Timestamp, pd.Timestamp], Metrics]


def default_evaluator() -> Evaluator:
    """The evaluation report of ``models.evaluation.report`` (DR policy value with a bootstrap
    interval, AUC, calibration error on the holdout)."""
    try:
        from models.evaluation import report
    except ImportError as exc:
        raise PromotionError("model evaluation is not available in this installation "
                             f"(models.evaluation.report: {exc})") from exc

    def evaluate(pipeline: DecisionPipeline, dataset: Dataset, start: pd.Timestamp,
                 end: pd.Timestamp) -> Metrics:
        return report.evaluate_pipeline(pipeline, dataset, holdout_from=start, holdout_to=end).metrics()

    return Evaluator(holdout_window=report.holdout_window, evaluate=evaluate)


# ---------------------------------------------------------------- promotion and its record


@dataclass(frozen=True)
class PromotionOutcome:
    """What ``promote`` did: the versions involved, the gate's decision and whether it moved."""

    challenger: int
    champion: int | None
    promoted: bool
    forced: bool = False
    decision: PromotionDecision | None = None
    window: Window | None = None
    challenger_metrics: Metrics | None = None
    champion_metrics: Metrics | None = None
    run_id: str | None = None
    note: str = ""


def training_data_dir(version: int) -> Path | None:
    """The data directory the version was trained on (its run's ``data_dir`` tag), if recorded."""
    client = MlflowClient()
    try:
        run_id = client.get_model_version(MODEL_NAME, str(version)).run_id
        value = client.get_run(run_id).data.tags.get("data_dir") if run_id else None
    except MlflowException:
        return None
    return Path(value) if value else None


def run_promotion(load_dataset: Callable[[Path], Dataset], *, data: Path | None = None,
                  evaluator: Evaluator | None = None, thresholds: PromotionThresholds | None = None,
                  force: bool = False, reason: str | None = None) -> PromotionOutcome:
    """Evaluate challenger and champion on the challenger's holdout and promote when the gate
    passes (or ``force``). ``data`` defaults to the challenger's training data directory."""
    configure_tracking()
    thresholds = thresholds or PromotionThresholds()
    challenger = challenger_version()
    if challenger is None:
        raise PromotionError(f"{MODEL_NAME!r} has no challenger: run `symbiose train --data DIR` first")
    champion = champion_version()
    if champion == challenger:
        return PromotionOutcome(challenger, champion, promoted=False,
                                note=f"the challenger {version_label(challenger)} is already the champion; "
                                     "nothing to promote")
    if champion is None:
        tags = {"promotion": "no champion to compare with", "promoted_by_force": str(force).lower()}
        make_champion(challenger, {**tags, **({"promotion_reason": reason} if reason else {})})
        return PromotionOutcome(challenger, None, promoted=True, forced=force,
                                note=f"there was no champion: {version_label(challenger)} is the champion now")
    data = data or training_data_dir(challenger)
    if data is None:
        raise PromotionError(f"pass --data DIR: the training run of {version_label(challenger)} "
                             "records no data directory")
    evaluator = evaluator or default_evaluator()
    dataset = load_dataset(Path(data))
    new_pipeline = load_pipeline(f"models:/{MODEL_NAME}/{challenger}")
    old_pipeline = load_pipeline(f"models:/{MODEL_NAME}/{champion}")
    start, end = evaluator.holdout_window(new_pipeline, dataset)
    new_metrics = dict(evaluator.evaluate(new_pipeline, dataset, start, end))
    old_metrics = dict(evaluator.evaluate(old_pipeline, dataset, start, end))
    decision = decide(new_metrics, old_metrics, thresholds)
    promoted = decision.promote or force
    forced = force and not decision.promote
    run_id = _log_decision(challenger, champion, decision, (start, end), new_metrics, old_metrics,
                           thresholds, data=Path(data), promoted=promoted, forced=forced, reason=reason)
    verdict = "forced" if forced else ("promoted" if promoted else "refused")
    record = {"promotion_decision": verdict, "promotion_checked_at": utc_now(),
              "promotion_compared_with": version_label(champion), "promotion_run_id": run_id,
              "promotion_failed_checks": ", ".join(c.name for c in decision.failed) or "none"}
    if reason:
        record["promotion_reason"] = reason
    tag_version(challenger, record)
    if promoted:
        make_champion(challenger, {"promoted_by_force": str(forced).lower()})
    return PromotionOutcome(challenger, champion, promoted=promoted, forced=forced, decision=decision,
                            window=(start, end), challenger_metrics=new_metrics,
                            champion_metrics=old_metrics, run_id=run_id)


def _log_decision(challenger: int, champion: int, decision: PromotionDecision, window: Window,
                  new: Metrics, old: Metrics, thresholds: PromotionThresholds, *, data: Path,
                  promoted: bool, forced: bool, reason: str | None) -> str:
    """One MLflow run per promotion decision: both metric sets, the thresholds and the checks."""
    name = f"promote {version_label(challenger)} over {version_label(champion)}"
    with mlflow.start_run(experiment_id=ensure_experiment(), run_name=name) as run:
        mlflow.set_tags({"purpose": "promotion", "challenger": version_label(challenger),
                         "champion": version_label(champion), "promoted": str(promoted).lower(),
                         "promoted_by_force": str(forced).lower(), "data_dir": str(data),
                         "holdout_from": str(window[0]), "holdout_to": str(window[1]),
                         **({"reason": reason} if reason else {})})
        mlflow.log_params({f"threshold_{k}": v for k, v in asdict(thresholds).items()})
        for prefix, metrics in (("challenger", new), ("champion", old)):
            mlflow.log_metrics({f"{prefix}_{k}": float(v) for k, v in metrics.items()
                                if isinstance(v, numbers.Real) and math.isfinite(float(v))})
        mlflow.log_text(json.dumps({"promote": decision.promote, "promoted": promoted, "forced": forced,
                                    "checks": [asdict(c) for c in decision.checks]}, indent=2),
                        "promotion.json")
    return run.info.run_id
