"""Policy value of a trained pipeline on the validation period, as training's ``valid_policy_*`` metrics.

The replay of the logged decisions and the estimators live in ``models.evaluation`` (``replay``,
``off_policy``, ``report``); this module names the self-normalized IPS values the way training
reports them: the pipeline's policy, `none` for everyone and the logging policy (mean reward).
"""

from __future__ import annotations

import pandas as pd

from features.dataset import Dataset
from models.evaluation.report import EvaluationReport, evaluate_holdout
from models.pipeline import DecisionPipeline


def policy_value_metrics(report: EvaluationReport) -> dict[str, float]:
    """``valid_policy_*`` metrics (SNIPS) from an evaluation report; empty without logged propensities."""
    model, none, logging = (report.policy(name) for name in ("model", "none", "logging"))
    if model is None or none is None or logging is None:
        return {}
    v_policy = model.estimates["snips"].value
    v_none = none.estimates["snips"].value
    return {
        "valid_policy_value": v_policy,
        "valid_policy_value_none": v_none,
        "valid_policy_value_logging": logging.estimates["snips"].value,
        "valid_policy_incremental_value": v_policy - v_none,
        "valid_policy_matches": float(report.matches),
        "valid_policy_decisions": float(report.decisions),
        "valid_policy_contact_share": report.contact_share,
    }


def validation_policy_value(dataset: Dataset, pipeline: DecisionPipeline, validation: pd.DataFrame,
                            seed: int = 0) -> dict[str, float]:
    """SNIPS policy values per decision: the pipeline's policy, `none` for everyone, the logging policy."""
    return policy_value_metrics(evaluate_holdout(pipeline, dataset, validation, n_boot=0, seed=seed))
