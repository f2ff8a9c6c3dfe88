"""Off-policy value estimators: IPS, self-normalized IPS and doubly robust, with bootstrap intervals.

Every estimator reads the same two typed inputs: :class:`LoggedDecisions` (what the logging policy
did, with which probability, and what it earned) and :class:`TargetPolicy` (how likely the
evaluated policy is to take each logged action, and the reward model's expectation of its value).
Each one writes its value as a ratio of sums over decisions, ``sum(numerator) / sum(denominator)``,
so the bootstrap can resample all decisions at once with one matrix product.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

DEFAULT_BOOTSTRAP = 200
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class LoggedDecisions:
    """Logged decisions: the reward each earned and the logging policy's probability of its action.

    ``model_reward`` (optional, needed by :class:`DoublyRobust`) is the reward model's prediction
    for the logged action of each decision.
    """

    reward: np.ndarray
    propensity: np.ndarray
    model_reward: np.ndarray | None = None

    def __post_init__(self) -> None:
        reward = np.asarray(self.reward, dtype=float)
        propensity = np.asarray(self.propensity, dtype=float)
        if reward.ndim != 1 or propensity.shape != reward.shape:
            raise ValueError(f"reward and propensity must be 1-d arrays of equal length, got shapes "
                             f"{reward.shape} and {propensity.shape}")
        if not np.isfinite(reward).all():
            raise ValueError(f"reward must be finite, got {int((~np.isfinite(reward)).sum())} NaN/inf values")
        bad = ~((propensity > 0) & (propensity <= 1))
        if bad.any():
            raise ValueError(f"propensity must be in (0, 1], got {propensity[bad][:5].tolist()} "
                             f"({int(bad.sum())} values outside)")
        object.__setattr__(self, "reward", reward)
        object.__setattr__(self, "propensity", propensity)
        if self.model_reward is not None:
            model_reward = np.asarray(self.model_reward, dtype=float)
            if model_reward.shape != reward.shape or not np.isfinite(model_reward).all():
                raise ValueError(f"model_reward must be finite with shape {reward.shape}, got shape "
                                 f"{model_reward.shape}")
            object.__setattr__(self, "model_reward", model_reward)

    def __len__(self) -> int:
        return len(self.reward)

    def subset(self, rows: np.ndarray) -> LoggedDecisions:
        """The decisions at ``rows`` (indices or a boolean mask)."""
        return LoggedDecisions(self.reward[rows], self.propensity[rows],
                               None if self.model_reward is None else self.model_reward[rows])


@dataclass(frozen=True)
class TargetPolicy:
    """The evaluated policy, seen through the logged decisions.

    ``action_prob[i]``: probability that the policy takes the logged action of decision ``i``
    (1/0 for a deterministic policy). ``model_value[i]`` (optional, needed by
    :class:`DoublyRobust`): the reward model's expected reward of the policy's action(s) for
    decision ``i``, i.e. ``sum_a pi(a | x_i) * q(x_i, a)``.
    """

    name: str
    action_prob: np.ndarray
    model_value: np.ndarray | None = None
    description: str = ""

    def __post_init__(self) -> None:
        prob = np.asarray(self.action_prob, dtype=float)
        if prob.ndim != 1 or ((prob < 0) | (prob > 1) | np.isnan(prob)).any():
            raise ValueError(f"{self.name}: action_prob must be a 1-d array of probabilities in [0, 1]")
        object.__setattr__(self, "action_prob", prob)
        if self.model_value is not None:
            value = np.asarray(self.model_value, dtype=float)
            if value.shape != prob.shape or not np.isfinite(value).all():
                raise ValueError(f"{self.name}: model_value must be finite with shape {prob.shape}, "
                                 f"got shape {value.shape}")
            object.__setattr__(self, "model_value", value)

    def subset(self, rows: np.ndarray) -> TargetPolicy:
        """The policy on the decisions at ``rows``."""
        return TargetPolicy(self.name, self.action_prob[rows],
                            None if self.model_value is None else self.model_value[rows], self.description)


@dataclass(frozen=True)
class Estimate:
    """A policy value with its percentile bootstrap interval; ``n`` = decisions used."""

    value: float
    low: float
    high: float
    n: int
    name: str
    policy: str = ""


@dataclass(frozen=True)
class OffPolicyEstimator(ABC):
    """Shared interface: ``estimate(logged, target) -> Estimate`` with a seeded bootstrap interval."""

    n_boot: int = DEFAULT_BOOTSTRAP
    level: float = DEFAULT_LEVEL
    seed: int = 0
    #: Cap of the importance weights pi / p (None: unclipped). A clipped weight trades the estimate's
    #: unbiasedness for variance; see the module docstring.
    max_weight: float | None = None
    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.n_boot < 0:
            raise ValueError(f"n_boot must be >= 0, got {self.n_boot}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.max_weight is not None and not self.max_weight >= 1:
            raise ValueError(f"max_weight must be >= 1 or None, got {self.max_weight}")

    @abstractmethod
    def terms(self, logged: LoggedDecisions, target: TargetPolicy) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per decision; the estimate is sum(numerator) / sum(denominator)."""

    def estimate(self, logged: LoggedDecisions, target: TargetPolicy, cluster: np.ndarray | None = None) -> Estimate:
        """The policy value of ``target`` from ``logged``, with a bootstrap interval; ``cluster``
        (e.g. the account of each decision) resamples whole clusters, else single decisions."""
        _check_aligned(logged, target)
        num, den = self.terms(logged, target)
        n = len(num)
        value = _ratio(num.sum(), den.sum())
        low = high = float("nan")
        if self.n_boot > 0 and n > 1:
            counts = resample_counts(n, self.n_boot, self.seed, cluster)
            low, high = _interval(_ratio(counts @ num, counts @ den), float(value), self.level)
        return Estimate(float(value), low, high, n, self.name, target.name)

    def compare(self, logged: LoggedDecisions, target: TargetPolicy, reference: TargetPolicy,
                cluster: np.ndarray | None = None) -> Estimate:
        """Value of ``target`` minus value of ``reference``, with a paired bootstrap interval
        (both policies on the same resamples, so what they share cancels out)."""
        _check_aligned(logged, target)
        _check_aligned(logged, reference)
        num_a, den_a = self.terms(logged, target)
        num_b, den_b = self.terms(logged, reference)
        n = len(num_a)
        value = _ratio(num_a.sum(), den_a.sum()) - _ratio(num_b.sum(), den_b.sum())
        low = high = float("nan")
        if self.n_boot > 0 and n > 1:
            counts = resample_counts(n, self.n_boot, self.seed, cluster)
            boot = _ratio(counts @ num_a, counts @ den_a) - _ratio(counts @ num_b, counts @ den_b)
            low, high = _interval(boot, float(value), self.level)
        return Estimate(float(value), low, high, n, self.name, f"{target.name} - {reference.name}")

    def weights(self, logged: LoggedDecisions, target: TargetPolicy) -> np.ndarray:
        """Importance weights pi(a_i | x_i) / p_i, clipped at ``max_weight`` when set."""
        w = target.action_prob / logged.propensity
        return w if self.max_weight is None else np.minimum(w, self.max_weight)


@dataclass(frozen=True)
class IPS(OffPolicyEstimator):
    """Inverse propensity scoring: mean of ``pi(a_i | x_i) / p_i * r_i`` (unbiased, high variance)."""

    name: ClassVar[str] = "ips"

    def terms(self, logged: LoggedDecisions, target: TargetPolicy) -> tuple[np.ndarray, np.ndarray]:
        return self.weights(logged, target) * logged.reward, np.ones(len(logged))


@dataclass(frozen=True)
class SNIPS(OffPolicyEstimator):
    """Self-normalized IPS: ``sum(w * r) / sum(w)``; slightly biased, far less variance than IPS.

    NaN when no logged action has a positive weight (the policy never agrees with the log).
    """

    name: ClassVar[str] = "snips"

    def terms(self, logged: LoggedDecisions, target: TargetPolicy) -> tuple[np.ndarray, np.ndarray]:
        w = self.weights(logged, target)
        return w * logged.reward, w


@dataclass(frozen=True)
class DoublyRobust(OffPolicyEstimator):
    """Doubly robust: the reward model's value of the policy plus the IPS-weighted residual
    ``w_i * (r_i - q(x_i, a_i))`` of the logged actions. Unbiased when the propensities are right,
    exact when the reward model is; its variance shrinks as the reward model improves."""

    name: ClassVar[str] = "dr"

    def terms(self, logged: LoggedDecisions, target: TargetPolicy) -> tuple[np.ndarray, np.ndarray]:
        if logged.model_reward is None or target.model_value is None:
            raise ValueError(f"{self.name}: needs LoggedDecisions.model_reward and "
                             f"TargetPolicy.model_value (policy {target.name!r}), got None")
        w = self.weights(logged, target)
        residual = np.where(w > 0, logged.reward - logged.model_reward, 0.0)
        return target.model_value + w * residual, np.ones(len(logged))


ESTIMATORS: tuple[type[OffPolicyEstimator], ...] = (IPS, SNIPS, DoublyRobust)


@lru_cache(maxsize=2)
def bootstrap_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) read-only float matrix: how often each of ``n`` decisions is drawn in each
    resample. Cached, so every policy and estimator of one evaluation shares the same resamples."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    counts.setflags(write=False)
    return counts


def resample_counts(n: int, n_boot: int, seed: int, cluster: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, n) resampling counts of the decisions: :func:`bootstrap_counts` without clusters,
    else whole clusters drawn with replacement (each decision counts as often as its cluster)."""
    if cluster is None:
        return bootstrap_counts(n, n_boot, seed)
    codes, uniques = pd.factorize(np.asarray(cluster, dtype=object))
    if len(codes) != n:
        raise ValueError(f"cluster has {len(codes)} entries; expected one per decision ({n})")
    return bootstrap_counts(len(uniques), n_boot, seed)[:, codes]


@dataclass(frozen=True)
class PolicyEstimates:
    """Every estimator's estimate for one policy."""

    policy: str
    estimates: dict[str, Estimate] = field(default_factory=dict)
    description: str = ""


def estimate_all(logged: LoggedDecisions, target: TargetPolicy, *, n_boot: int = DEFAULT_BOOTSTRAP,
                 seed: int = 0, level: float = DEFAULT_LEVEL, cluster: np.ndarray | None = None,
                 max_weight: float | None = None) -> PolicyEstimates:
    """IPS, SNIPS and DR (when the reward model is available) for one policy, same resamples
    (of whole ``cluster``s when given)."""
    out: dict[str, Estimate] = {}
    for cls in ESTIMATORS:
        if cls is DoublyRobust and (logged.model_reward is None or target.model_value is None):
            continue
        est = cls(n_boot=n_boot, level=level, seed=seed, max_weight=max_weight)
        out[cls.name] = est.estimate(logged, target, cluster)
    return PolicyEstimates(target.name, out, target.description)


def _check_aligned(logged: LoggedDecisions, target: TargetPolicy) -> None:
    if len(target.action_prob) != len(logged):
        raise ValueError(f"policy {target.name!r} covers {len(target.action_prob)} decisions, "
                         f"the log has {len(logged)}")


def _interval(boot: np.ndarray, value: float, level: float) -> tuple[float, float]:
    """Normal interval around ``value`` with the resamples' standard deviation. Percentile intervals
    of these skewed, weight-driven estimates lean the wrong way for some estimators (DR) and their
    mirror image for others (IPS); the symmetric interval covers best over both (checked against
    truth in ``benchmarks/evaluator_check.py``). (NaN, NaN) without finite resamples."""
    boot = boot[np.isfinite(boot)]
    if len(boot) < 2 or not np.isfinite(value):
        return float("nan"), float("nan")
    half = float(norm.ppf(0.5 + level / 2) * boot.std(ddof=1))
    return value - half, value + half


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
