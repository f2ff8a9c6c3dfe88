"""Per-action calibration of the pooled conversion model's scores.

One Platt map fitted on all calibration rows together corrects the average level but not how
far apart ``none`` and the actions are: a pooled model that under-learns an action's effect stays
too close to ``none`` after it. :class:`ActionCalibrator` fits, on the calibration rows,

    logit p = a + b · logit(p_raw) + c · contact + g[channel] + h[channel, offer] + Σ d_k · discount

a logistic regression with one intercept per action group. ``c``, ``g`` and ``h`` carry an L2
penalty, so an action with few calibration conversions (``none`` included, through ``c``) shrinks
toward the pooled map (``a`` and ``b`` are not penalized). The discount enters as a shared slope plus one slope per channel, all bounded at
>= 0 (the per-channel ones penalized), so with ``b > 0`` the calibrated probability stays
non-decreasing in the discount whenever the raw score is.

Fitted on the small calibration split alone the offsets are noisy. ``calibration="crossfit"``
(``models.estimators``) fits them on out-of-fold scores of every training decision as well, each
logged touch weighted by its inverse logged propensity (:func:`propensity_weights`), so each
action's average effect against ``none`` is the one the randomized log shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize

CHANNEL, OFFER, DISCOUNT, CONTACT = "action_channel", "action_offer_id", "action_discount_pct", "action_is_contact"
#: Columns of the design matrix the calibrator reads.
ACTION_COLUMNS = (CHANNEL, OFFER, DISCOUNT, CONTACT)
#: Discount in percent is divided by this so its slope is on the scale of the other coefficients.
DISCOUNT_SCALE = 10.0
#: Default L2 penalty of the per-group offsets, in calibration rows' log-likelihood units.
DEFAULT_L2 = 5.0


def _codes(column: pd.Series | np.ndarray) -> np.ndarray:
    """Level codes of a categorical column (DataFrame) or an encoded float column; missing = -1."""
    if isinstance(column, pd.Series) and isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(dtype=np.int64)
    values = np.asarray(column, dtype=float)
    return np.where(np.isnan(values), -1, values).astype(np.int64)


@dataclass
class ActionCalibrator:
    """Maps raw log-odds plus the action columns of a design matrix to calibrated log-odds."""

    l2: float = DEFAULT_L2
    columns: dict[str, int] = field(default_factory=dict)
    channels: list[int] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    coef_: np.ndarray | None = None

    def _action_values(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if isinstance(X, pd.DataFrame):
            cols = [X[c] for c in ACTION_COLUMNS]
        else:
            cols = [X[:, self.columns[c]] for c in ACTION_COLUMNS]
        channel, offer = _codes(cols[0]), _codes(cols[1])
        discount = np.nan_to_num(np.asarray(cols[2], dtype=float)) / DISCOUNT_SCALE
        contact = np.nan_to_num(np.asarray(cols[3], dtype=float))
        return channel, offer, discount, contact

    def _design(self, raw: np.ndarray, X: pd.DataFrame | np.ndarray) -> sparse.csr_matrix:
        channel, offer, discount, contact = self._action_values(X)
        n, k_c, k_p = len(raw), len(self.channels), len(self.pairs)
        rows, cols, vals = [np.arange(n)] * 4, [np.full(n, j) for j in range(4)], \
            [np.ones(n), raw, contact, discount]
        channel_col = pd.Index(self.channels).get_indexer(channel)
        on = np.flatnonzero(channel_col >= 0)
        rows += [on, on]
        cols += [4 + channel_col[on], 4 + k_c + channel_col[on]]
        vals += [np.ones(len(on)), discount[on]]
        pair_col = pd.MultiIndex.from_tuples(self.pairs, names=["c", "o"]).get_indexer(
            pd.MultiIndex.from_arrays([channel, offer])) if k_p else np.full(n, -1)
        on = np.flatnonzero(pair_col >= 0)
        rows.append(on)
        cols.append(4 + 2 * k_c + pair_col[on])
        vals.append(np.ones(len(on)))
        return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(n, 4 + 2 * k_c + k_p))

    def fit(self, raw: np.ndarray, y: np.ndarray, X: pd.DataFrame | np.ndarray,
            feature_names: list[str], sample_weight: np.ndarray | None = None) -> ActionCalibrator:
        """Fit on the calibration rows' raw log-odds ``raw``, 0/1 outcomes ``y`` and design rows ``X``
        (optionally weighted: ``sample_weight``, e.g. :func:`propensity_weights`)."""
        missing = [c for c in ACTION_COLUMNS if c not in feature_names]
        if missing:
            raise ValueError(f"action calibration needs the action columns {missing} in the design matrix; "
                             f"got columns {list(feature_names)[:8]}...")
        if self.l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {self.l2}")
        raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=float)
        if len(raw) != len(y) or len(raw) != len(X):
            raise ValueError(f"raw ({len(raw)}), y ({len(y)}) and X ({len(X)}) must have the same rows")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weight.shape != y.shape or not np.isfinite(weight).all() or (weight < 0).any():
            raise ValueError(f"sample_weight must hold {len(y)} finite weights >= 0; got shape {weight.shape}")
        self.columns = {c: list(feature_names).index(c) for c in ACTION_COLUMNS}
        channel, offer, _, contact = self._action_values(X)
        touched = contact > 0
        self.channels = sorted(int(c) for c in np.unique(channel[touched]) if c >= 0)
        self.pairs = sorted({(int(c), int(o)) for c, o in zip(channel[touched], offer[touched], strict=True)
                             if c >= 0 and o >= 0})
        Z = self._design(raw, X)
        k_c = len(self.channels)
        penalty = np.r_[0.0, 0.0, self.l2, 0.0, np.full(Z.shape[1] - 4, self.l2)]
        bounds = [(None, None), (1e-3, None), (None, None), (0.0, None), *[(None, None)] * k_c,
                  *[(0.0, None)] * k_c, *[(None, None)] * len(self.pairs)]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            eta = Z @ w
            nll = np.sum(weight * (np.logaddexp(0.0, eta) - y * eta)) + 0.5 * np.sum(penalty * w * w)
            grad = Z.T @ (weight * (1.0 / (1.0 + np.exp(-eta)) - y)) + penalty * w
            return float(nll), grad

        start = np.zeros(Z.shape[1])
        start[1] = 1.0
        result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
        self.coef_ = result.x
        return self

    def transform(self, raw: np.ndarray, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated log-odds for raw log-odds ``raw`` of the design rows ``X``: the linear map of
        :meth:`_design` as ``slope * raw + offset`` (:meth:`line`), without building the sparse matrix."""
        slope, offset = self.line(X)
        return np.asarray(raw, dtype=float) * slope + offset

    def line(self, X: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        """(slope, offset of each row of ``X``): the calibrated log-odds of raw log-odds ``r`` are
        ``slope * r + offset``. The offset reads the action columns only, so the design rows of one
        action share it."""
        if self.coef_ is None:
            raise RuntimeError("ActionCalibrator is not fitted; call fit first")
        channel, offer, discount, contact = self._action_values(X)
        w = self.coef_
        k_c = len(self.channels)
        offset = w[0] + contact * w[2] + discount * w[3]
        channel_col = pd.Index(self.channels).get_indexer(channel) if k_c else np.full(len(channel), -1)
        on = channel_col >= 0
        offset[on] += w[4 + channel_col[on]]
        offset[on] += discount[on] * w[4 + k_c + channel_col[on]]
        if self.pairs:
            pair_col = _pair_columns(self.pairs, channel, offer)
            on = pair_col >= 0
            offset[on] += w[4 + 2 * k_c + pair_col[on]]
        return float(w[1]), offset

    def offsets(self) -> dict[str, float]:
        """The fitted coefficients by name (for reports and tests)."""
        if self.coef_ is None:
            return {}
        names = ["intercept", "slope", "contact", "discount",
                 *[f"channel[{c}]" for c in self.channels], *[f"discount[{c}]" for c in self.channels],
                 *[f"offer[{c},{o}]" for c, o in self.pairs]]
        return dict(zip(names, map(float, self.coef_), strict=True))


def _pair_columns(pairs: list[tuple[int, int]], channel: np.ndarray, offer: np.ndarray) -> np.ndarray:
    """Position of each row's (channel code, offer code) in ``pairs`` (-1 = not a fitted pair), by a
    lookup table over the small code ranges rather than hashing every row."""
    pair_ch = np.array([c for c, _ in pairs], dtype=np.int64)
    pair_of = np.array([o for _, o in pairs], dtype=np.int64)
    table = np.full((int(pair_ch.max()) + 1, int(pair_of.max()) + 1), -1, dtype=np.int64)
    table[pair_ch, pair_of] = np.arange(len(pairs))
    inside = (channel >= 0) & (offer >= 0) & (channel < table.shape[0]) & (offer < table.shape[1])
    out = np.full(len(channel), -1, dtype=np.int64)
    out[inside] = table[channel[inside], offer[inside]]
    return out


def propensity_weights(propensity: np.ndarray, X: pd.DataFrame | np.ndarray, feature_names: list[str],
                       clip_quantile: float = 0.99) -> np.ndarray:
    """Inverse logged propensities, normalized to mean 1 within each action group (``none`` or one
    channel × offer), capped at a quantile of the group; rows without a propensity (e.g. untreated
    history windows) weigh 1.

    Within a group the weighted mean of outcomes is then the self-normalized (SNIPS) estimate of the
    group's conversion over the decisions it could have been logged for, and each group keeps its own
    number of rows, so the calibrator's penalty still compares the group's evidence in conversions.
    """
    p = np.asarray(propensity, dtype=float)
    if len(p) != len(X):
        raise ValueError(f"propensity has {len(p)} rows, X has {len(X)}")
    if (p[np.isfinite(p)] <= 0).any() or (p[np.isfinite(p)] > 1).any():
        raise ValueError("propensity must lie in (0, 1] (missing = unknown); got values outside it")
    calibrator = ActionCalibrator(columns={c: list(feature_names).index(c) for c in ACTION_COLUMNS
                                           if c in feature_names})
    if len(calibrator.columns) < len(ACTION_COLUMNS):
        raise ValueError(f"propensity weights need the action columns {list(ACTION_COLUMNS)} in X")
    channel, offer, _, contact = calibrator._action_values(X)
    known = np.isfinite(p)
    group = pd.factorize(pd.MultiIndex.from_arrays([np.where(contact > 0, channel, -2), offer]))[0]
    w = np.ones(len(p))
    for g in np.unique(group[known]):
        rows = np.flatnonzero(known & (group == g))
        inverse = 1.0 / p[rows]
        inverse = np.minimum(inverse, np.quantile(inverse, clip_quantile))
        w[rows] = inverse / inverse.mean()
    return w
