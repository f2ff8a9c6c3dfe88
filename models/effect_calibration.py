"""Calibrating the baseline and the effect of every action on cross-fitted predictions.

A learner's raw probabilities get two maps, both fitted on out-of-fold predictions of logged
decisions (``models.selection``), so they correct what the learner does on data it did not see:

- the **baseline** P(convert | none) by a Platt map on the `none` rows:
  ``logit p0 = a + b · logit(p̂0)``;
- the **effect** of an action by a monotone map of the learner's own estimated effect
  ``τ̂ = p̂(a) − p̂0``:

      p(a) = p0 · (1 + alpha_g) + f_c(τ̂)

  ``f_c`` is an isotonic (non-decreasing) regression of ``y − p0`` on ``τ̂`` over the logged touches
  of channel c (inverse logged propensity weights within each action group), or over all touches
  for a channel with few of them; ``alpha_g`` a relative offset per channel × offer g for what
  ``f_c`` leaves, pulled toward 0 by a ridge penalty worth ``strength`` touches, so an action seen
  rarely leans on its channel's map.

Why a monotone map rather than a straight line: a learner's estimated effects are often right in
their order and wrong in their scale, and not by one factor — the bulk of small estimates is mostly
noise while the top is real (the Starbucks experiment: the top four deciles of a pooled model's
effects respond, the bottom four not at all). A line fitted through all of them shrinks the real top
as much as the noisy bulk; the isotonic map keeps what each level of the estimate is worth on held-out
data. ``f_c`` is non-decreasing, so conversion stays non-decreasing in the discount whenever the
learner's estimate is. This is the calibration of heterogeneous effects of Chernozhukov et al., made
monotone and per channel; it replaces the older evidence-weighted lift shrinkage
(``models.shrinkage``), whose weight was a fixed guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6
#: Touches' worth of evidence at which a group's own offset gets half its weight.
DEFAULT_STRENGTH = 1000.0
#: A channel with fewer logged touches than this uses the map fitted on every touch.
MIN_CHANNEL_TOUCHES = 1000
#: The effect map is fitted on bins of at least this many touches (at most MAX_BINS bins by quantile
#: of the raw effect), so no step of it rests on a handful of conversions.
MIN_BIN_TOUCHES = 200
MAX_BINS = 20

Knots = tuple[tuple[float, ...], tuple[float, ...]]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _isotonic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Knots:
    """Knots (x, f(x)) of a non-decreasing map of ``y`` on ``x``: weighted means of quantile bins of
    ``x`` (at least MIN_BIN_TOUCHES rows each), made monotone by isotonic regression."""
    n_bins = int(min(MAX_BINS, max(1, len(x) // MIN_BIN_TOUCHES)))
    if n_bins < 2 or w.sum() <= 0:
        mean = float(np.average(y, weights=w)) if w.sum() > 0 else 0.0
        return (float(np.median(x)),), (mean,)
    edges = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
    b = np.searchsorted(edges, x, side="right")
    frame = pd.DataFrame({"b": b, "wx": w * x, "wy": w * y, "w": w}).groupby("b").sum()
    frame = frame[frame["w"] > 0]
    centers, means = (frame["wx"] / frame["w"]).to_numpy(), (frame["wy"] / frame["w"]).to_numpy()
    iso = IsotonicRegression(increasing=True).fit(centers, means, sample_weight=frame["w"].to_numpy())
    return tuple(map(float, centers)), tuple(map(float, iso.predict(centers)))


def _apply(knots: Knots, x: np.ndarray) -> np.ndarray:
    """The map at ``x``: linear between knots, flat beyond the first and the last."""
    xs, ys = knots
    if not xs:
        return np.zeros(len(x))
    return np.interp(x, xs, ys)


@dataclass(frozen=True)
class EffectCalibration:
    """Fitted baseline and effect maps (module docstring); ``fit`` builds one."""

    baseline_coef: tuple[float, float] = (0.0, 1.0)
    pooled_map: Knots = ((), ())
    channel_maps: dict[str, Knots] = field(default_factory=dict)
    pair_alpha: dict[tuple[str, str], float] = field(default_factory=dict)
    touches: int = 0
    #: Logged touches behind each channel × offer's own offset, and the ridge strength it was weighed with.
    evidence: dict[tuple[str, str], int] = field(default_factory=dict)
    strength: float = DEFAULT_STRENGTH

    def baseline(self, p0_raw: np.ndarray) -> np.ndarray:
        """Calibrated P(convert | none) for raw baseline probabilities."""
        a, b = self.baseline_coef
        return 1.0 / (1.0 + np.exp(-(a + b * _logit(p0_raw))))

    def evidence_weight(self, channel: np.ndarray, offer: np.ndarray) -> np.ndarray:
        """n / (n + strength) of each action's channel × offer: how much its own offset counts."""
        n = np.array([self.evidence.get((str(c), str(o)), 0) for c, o in zip(channel, offer, strict=True)], dtype=float)
        return n / (n + self.strength) if self.strength > 0 else np.ones(len(n))

    def effect(self, tau_raw: np.ndarray, channel: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """f_c(τ̂) of each row. ``which`` (optional): ``channel`` then holds one entry per action and
        row r is about action ``which[r]`` (no per-row strings for many rows of few actions)."""
        tau_raw = np.asarray(tau_raw, dtype=float)
        channel = np.asarray(channel, dtype=object).astype(str)
        out = _apply(self.pooled_map, tau_raw) if self.pooled_map[0] else tau_raw.copy()
        for name, knots in self.channel_maps.items():
            on = channel == name
            if which is not None:
                on = on[which]
            if on.any():
                out[on] = _apply(knots, tau_raw[on])
        return out

    def actions(self, p_raw: np.ndarray, p0_raw: np.ndarray, channel: np.ndarray, offer: np.ndarray,
                p0: np.ndarray | None = None, which: np.ndarray | None = None) -> np.ndarray:
        """Calibrated P(convert | action) from the raw action and baseline probabilities of the same
        rows (``p0``: their calibrated baseline, computed when not given). With ``which``,
        ``channel`` and ``offer`` hold one entry per action and row r is about action ``which[r]``."""
        p0 = self.baseline(p0_raw) if p0 is None else p0
        channel = np.asarray(channel, dtype=object).astype(str)
        offer = np.asarray(offer, dtype=object).astype(str)
        alpha = np.array([self.pair_alpha.get((c, o), 0.0) for c, o in zip(channel, offer, strict=True)])
        if which is not None:
            alpha = alpha[which]
        f = self.effect(np.asarray(p_raw, dtype=float) - np.asarray(p0_raw, dtype=float), channel, which)
        return np.clip(p0 * (1 + alpha) + f, 0.0, 1.0)

    def describe(self) -> dict[str, float]:
        """Flat summary for logs: the baseline map, and per channel the calibrated effect at the
        median and the top of the raw effects it was fitted on."""
        out = {"baseline_a": self.baseline_coef[0], "baseline_b": self.baseline_coef[1]}
        for name, (_xs, ys) in sorted(self.channel_maps.items()):
            if ys:
                out[f"effect_low_{name}"], out[f"effect_high_{name}"] = ys[0], ys[-1]
        return out

    @classmethod
    def fit(cls, *, p0_none: np.ndarray, y_none: np.ndarray, p_touch: np.ndarray, p0_touch: np.ndarray,
            y_touch: np.ndarray, channel: np.ndarray, offer: np.ndarray, weight_touch: np.ndarray | None = None,
            strength: float = DEFAULT_STRENGTH) -> EffectCalibration:
        """Fit both maps: ``p0_none``/``y_none`` are raw baseline predictions and outcomes of `none`
        rows; ``p_touch``/``p0_touch``/``y_touch`` raw predictions (under the logged action and under
        `none`) and outcomes of logged touches, with their ``channel`` and ``offer`` and optional
        weights (e.g. inverse logged propensities, normalized within each group)."""
        p0_none, y_none = np.asarray(p0_none, dtype=float), np.asarray(y_none, dtype=float)
        p_touch, p0_touch, y_touch = (np.asarray(a, dtype=float) for a in (p_touch, p0_touch, y_touch))
        if strength < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        if len(p0_none) != len(y_none):
            raise ValueError(f"p0_none has {len(p0_none)} rows, y_none {len(y_none)}")
        if not (len(p_touch) == len(p0_touch) == len(y_touch) == len(channel) == len(offer)):
            raise ValueError("p_touch, p0_touch, y_touch, channel and offer must have one length; got "
                             f"{len(p_touch)}, {len(p0_touch)}, {len(y_touch)}, {len(channel)}, {len(offer)}")
        baseline = _platt(p0_none, y_none)
        if len(y_touch) == 0:
            return cls(baseline_coef=baseline)
        w = np.ones(len(y_touch)) if weight_touch is None else np.asarray(weight_touch, dtype=float)
        if w.shape != y_touch.shape or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"weight_touch must hold {len(y_touch)} finite weights >= 0")
        a, b = baseline
        p0 = 1.0 / (1.0 + np.exp(-(a + b * _logit(p0_touch))))
        tau = p_touch - p0_touch
        resid = y_touch - p0
        channel = np.asarray(channel, dtype=object).astype(str)
        offer = np.asarray(offer, dtype=object).astype(str)
        pooled = _isotonic(tau, resid, w)
        maps = {c: _isotonic(tau[channel == c], resid[channel == c], w[channel == c])
                for c in sorted(set(channel)) if (channel == c).sum() >= MIN_CHANNEL_TOUCHES}
        cal = cls(baseline_coef=baseline, pooled_map=pooled, channel_maps=maps)
        left = resid - cal.effect(tau, channel)
        scale = strength * float(np.average(p0 ** 2, weights=w)) if w.sum() > 0 else 0.0
        alpha, evidence = {}, {}
        pairs = pd.Series(np.arange(len(channel))).groupby([channel, offer]).indices
        for key, rows in pairs.items():
            num, den = float(np.sum(w[rows] * left[rows] * p0[rows])), float(np.sum(w[rows] * p0[rows] ** 2))
            alpha[key] = num / (den + scale) if den + scale > 0 else 0.0
            evidence[key] = int(len(rows))
        return cls(baseline_coef=baseline, pooled_map=pooled, channel_maps=maps, pair_alpha=alpha,
                   touches=int(len(y_touch)), evidence=evidence, strength=float(strength))


def _platt(p_raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of ``logit p = a + b · logit(p_raw)``; identity when it cannot be fitted or b <= 0."""
    if len(y) < 2 or len(np.unique(y)) < 2:
        return 0.0, 1.0
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(p_raw).reshape(-1, 1), y)
    a, b = float(lr.intercept_[0]), float(lr.coef_[0, 0])
    return (a, b) if b > 0 else (0.0, 1.0)
