"""Policy value on randomized experiments: IPS value, the published IRR / NIR, bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


def ips_terms(reward: np.ndarray, propensity: np.ndarray, match: np.ndarray) -> np.ndarray:
    """Per-row IPS terms ``match * reward / propensity``; their mean is the policy value.

    ``match`` is 1 where the policy's arm equals the logged arm (or, for a stochastic policy,
    the probability that it chooses the logged arm).
    """
    reward, propensity, match = (np.asarray(a, dtype=float) for a in (reward, propensity, match))
    if not (reward.shape == propensity.shape == match.shape):
        raise ValueError(f"reward, propensity and match must have one shape; got {reward.shape}, "
                         f"{propensity.shape}, {match.shape}")
    if np.any(~(propensity > 0) | (propensity > 1)):
        raise ValueError("propensity must lie in (0, 1]; got values outside it")
    if np.any((match < 0) | (match > 1)):
        raise ValueError("match must lie in [0, 1] (an indicator or a probability)")
    return match * reward / propensity


def ips_value(reward: np.ndarray, propensity: np.ndarray, match: np.ndarray) -> float:
    """IPS policy value: mean over rows of ``match * reward / propensity``."""
    return float(ips_terms(reward, propensity, match).mean())


@dataclass(frozen=True)
class UpliftScore:
    """The published scoring over the customers a strategy promotes."""

    promoted: int
    treated: int
    controls: int
    irr: float
    nir: float


def irr_nir(promote: np.ndarray, treated: np.ndarray, purchase: np.ndarray,
            price: float = 10.0, cost: float = 0.15) -> UpliftScore:
    """IRR and NIR over the promoted customers.

    IRR = purchase rate of treated − purchase rate of controls; NIR = price × purchases of
    treated − cost × number treated − price × purchases of controls (treated = customers who got
    the promotion in the experiment, controls = those who did not, both among the promoted).
    IRR is NaN when the promoted set lacks treated or control customers.
    """
    promote, treated = np.asarray(promote, dtype=bool), np.asarray(treated, dtype=bool)
    purchase = np.asarray(purchase, dtype=float)
    if not (promote.shape == treated.shape == purchase.shape):
        raise ValueError(f"promote, treated and purchase must have one shape; got {promote.shape}, "
                         f"{treated.shape}, {purchase.shape}")
    t, c = promote & treated, promote & ~treated
    n_t, n_c = int(t.sum()), int(c.sum())
    buy_t, buy_c = float(purchase[t].sum()), float(purchase[c].sum())
    irr = buy_t / n_t - buy_c / n_c if n_t and n_c else float("nan")
    nir = price * buy_t - cost * n_t - price * buy_c
    return UpliftScore(int(promote.sum()), n_t, n_c, irr, nir)


def bootstrap(statistic: Callable[[np.ndarray], dict[str, float]], n: int, replicates: int = 1000,
              seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Percentile bootstrap over ``n`` rows: ``statistic(indices)`` returns named values.

    Returns one row per name with ``estimate`` (on all rows), ``ci_low`` and ``ci_high``.
    """
    if n < 1 or replicates < 2:
        raise ValueError(f"need n >= 1 rows and replicates >= 2; got n={n}, replicates={replicates}")
    rng = np.random.default_rng(seed)
    estimate = statistic(np.arange(n))
    draws = pd.DataFrame([statistic(rng.integers(0, n, n)) for _ in range(replicates)])
    alpha = (1 - level) / 2

    def quantile(name: str, q: float) -> float:
        values = draws[name].dropna()
        return float(values.quantile(q)) if len(values) else float("nan")

    return pd.DataFrame({"name": list(estimate), "estimate": list(estimate.values()),
                         "ci_low": [quantile(k, alpha) for k in estimate],
                         "ci_high": [quantile(k, 1 - alpha) for k in estimate]})
