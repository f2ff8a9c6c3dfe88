"""Offline metrics for conversion models and policies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Weighted mean |observed rate − mean prediction| over equal-count bins of the predictions."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    bins = np.array_split(order, min(n_bins, len(y)))
    return float(sum(len(b) * abs(y[b].mean() - p[b].mean()) for b in bins if len(b)) / len(y))


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, log loss, Brier score, calibration error, base rate and mean prediction."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(np.mean((p - y) ** 2)),
        "calibration_error": expected_calibration_error(y, p),
        "base_rate": float(y.mean()),
        "mean_prediction": float(p.mean()),
        "n": float(len(y)),
    }


@dataclass(frozen=True)
class SelfNormalizedIPS:
    """Self-normalized inverse propensity estimate of a deterministic policy's mean reward.

    ``match`` marks logged decisions where the evaluated policy chose the logged action;
    ``pscore`` is the logging policy's probability of that action.
    """

    min_matches: int = 1

    def estimate_policy_value(self, *, reward: np.ndarray, match: np.ndarray, pscore: np.ndarray) -> float:
        reward = np.asarray(reward, dtype=float)
        match = np.asarray(match, dtype=bool)
        pscore = np.asarray(pscore, dtype=float)
        if not (len(reward) == len(match) == len(pscore)):
            raise ValueError(f"reward, match and pscore must have equal length, got "
                             f"{len(reward)}, {len(match)}, {len(pscore)}")
        if ((pscore <= 0) | (pscore > 1)).any():
            raise ValueError("pscore must be in (0, 1]")
        if match.sum() < self.min_matches:
            return float("nan")
        w = match / pscore
        return float(np.sum(w * reward) / np.sum(w))
