"""Choosing the learner on the customer's own data: cross-fitted off-policy value of each policy.

Every candidate learner is cross-fitted over time-ordered blocks (``models.crossfit``) and calibrated
on the other blocks' out-of-fold predictions (``models.effect_calibration``); its policy — the action
with the highest positive expected incremental margin per logged decision, else `none` — is then
valued on the block's logged decisions with the doubly robust estimator (one common reward model for
every policy, so that paired differences only reflect the choices). Next to the learners stand two
policies that do not personalize: `none` for everyone, and the best single action (chosen on the
other blocks, valued on this one) wherever it is eligible.

The rule (:func:`choose`): take the policy with the highest value, but walk
:data:`models.candidates.COMPLEXITY` from the simplest acting policy up (the best single action, then
the learners from the simplest) and keep the first one the best does not beat beyond the interval of
their paired difference (one-sided, ``level``): a learner must earn its complexity, and
personalizing must beat one action for everyone. `none` is kept when it has the highest point
estimate, and taken instead of a simpler policy whose whole interval lies below doing nothing. The
promotion gate (``models.promotion``) then refuses any model whose policy does not beat doing nothing
and the best single action beyond its interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL
from models.candidates import COMPLEXITY
from models.crossfit import FoldDecisions, Folds, OutOfFold
from models.effect_calibration import EffectCalibration
from models.evaluation.incremental import (
    LOGGED_NONE,
    CategoryDecisions,
    best_by_lower_bound,
    incremental_terms,
    incremental_variance,
    mean_interval,
)

#: Fewer evaluated decisions than this and the selection does not trust any difference.
MIN_DECISIONS = 200


@dataclass(frozen=True)
class Selection:
    """The selection table and what it chose."""

    table: pd.DataFrame
    chosen: str                                   # "none", "best_single" or a learner name
    learner: str                                  # the learner whose estimates the pipeline uses
    single_action: tuple[str, str, float] | None  # (channel, offer_id, discount_pct) of best_single
    single_value: float | None = None             # its incremental margin per decision where eligible
    calibrations: dict[str, EffectCalibration] = field(default_factory=dict)
    decisions: int = 0
    reason: str = ""

    def text(self) -> str:
        """The table as aligned text, with the choice and its reason underneath."""
        shown = self.table.copy()
        for col in ("value", "low", "high", "vs_best", "vs_best_low", "vs_best_high"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:,.3f}")
        shown["contact_share"] = shown["contact_share"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
        shown["seconds"] = shown["seconds"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
        head = (f"Policies on {self.decisions:,} held-out logged decisions: incremental margin per decision over "
                f"doing nothing, with intervals (cross-fitted, time-ordered blocks)")
        return f"{head}\n{shown.to_string(index=False)}\nchosen: {self.chosen} — {self.reason}"


def fit_calibration(oof: OutOfFold, examples: pd.DataFrame, y: np.ndarray, rows: np.ndarray,
                    strength: float) -> EffectCalibration:
    """Calibration maps fitted on the out-of-fold predictions of ``rows`` (boolean mask)."""
    contact = examples["channel"].astype(str).to_numpy() != NONE_CHANNEL
    have = rows & np.isfinite(oof.p0)
    none = have & ~contact
    touch = have & contact & examples["offer_id"].notna().to_numpy() & np.isfinite(oof.pa)
    channel = examples["channel"].astype(str).to_numpy()
    offer = examples["offer_id"].astype(object).fillna("").astype(str).to_numpy()
    weight = _group_weights(examples["propensity"].to_numpy(dtype=float)[touch], channel[touch], offer[touch])
    return EffectCalibration.fit(p0_none=oof.p0[none], y_none=y[none], p_touch=oof.pa[touch],
                                 p0_touch=oof.p0[touch], y_touch=y[touch], channel=channel[touch],
                                 offer=offer[touch], weight_touch=weight, strength=strength)


def _group_weights(propensity: np.ndarray, channel: np.ndarray, offer: np.ndarray,
                   clip_quantile: float = 0.99) -> np.ndarray:
    """Inverse propensities normalized to mean 1 within each channel × offer (1 where unknown)."""
    w = np.ones(len(propensity))
    known = np.isfinite(propensity) & (propensity > 0)
    group = pd.factorize(pd.Series(channel).astype(str) + "|" + pd.Series(offer).astype(str))[0]
    for g in np.unique(group[known]) if len(group) else []:
        on = np.flatnonzero(known & (group == g))
        inv = 1.0 / propensity[on]
        inv = np.minimum(inv, np.quantile(inv, clip_quantile))
        w[on] = inv / inv.mean()
    return w


@dataclass
class _BlockValues:
    value: np.ndarray      # (n_decisions, n_actions) expected incremental margin, NaN = not eligible
    expected: np.ndarray   # (n_decisions, n_actions) expected margin of the action's category under it
    expected_none: np.ndarray  # (n_decisions, n_categories) expected margin of each category without outreach
    chosen: np.ndarray     # (n_decisions,) action index or LOGGED_NONE


def block_values(block: FoldDecisions, p0_raw: np.ndarray, pa_raw: np.ndarray, cal: EffectCalibration,
                 actions: pd.DataFrame, margins: np.ndarray, cost: np.ndarray) -> _BlockValues:
    """Calibrated expected margins and incremental margins of every eligible action of a replayed block."""
    p0 = cal.baseline(p0_raw)
    cat_of_action = _action_categories(actions)
    d, a = block.pair_decision, block.pair_action
    cats = cat_of_action[a]
    acts = actions.iloc[a]
    pa = cal.actions(pa_raw, p0_raw[d, cats], acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), p0[d, cats])
    rev = block.revenue[d, cats]
    m_o = acts["margin_rate"].to_numpy(dtype=float)
    disc = acts["discount_pct"].to_numpy(dtype=float) / 100.0
    expected = np.full(block.eligible.shape, np.nan)
    expected[d, a] = pa * rev * (m_o - disc)
    expected_none = p0 * block.revenue * margins[None, :]
    value = np.full(block.eligible.shape, np.nan)
    value[d, a] = expected[d, a] - expected_none[d, cats] - cost[a]
    return _BlockValues(value, expected, expected_none, _argmax_positive(value))


def _action_categories(actions: pd.DataFrame) -> np.ndarray:
    return pd.Index(sorted(set(actions["category"].astype(str)))).get_indexer(actions["category"].astype(str))


def _argmax_positive(value: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(value), -np.inf, value)
    if not filled.shape[1]:
        return np.full(len(filled), LOGGED_NONE, dtype=np.int64)
    best = filled.argmax(axis=1)
    top = filled[np.arange(len(filled)), best]
    return np.where(top > 0, best, LOGGED_NONE).astype(np.int64)


def select(oof: dict[str, OutOfFold], calibrations: dict[str, dict[int, EffectCalibration]],
           folds: Folds, blocks: list[FoldDecisions | None], actions: pd.DataFrame, margins: np.ndarray,
           cost: np.ndarray, *, level: float = 0.9) -> Selection:
    """The selection table and choice. ``calibrations[name][j]`` is learner ``name``'s map fitted
    without block j (applied to block j's decisions). Values are incremental margins over doing
    nothing per logged decision (``models.evaluation.incremental``)."""
    fitted = [name for name in COMPLEXITY if name in oof and not oof[name].error]
    failed = {name: o.error for name, o in oof.items() if o.error}
    kept = [j for j in range(folds.k) if blocks[j] is not None]
    if not fitted or not kept:
        why = "no logged decision with a propensity to compare policies on" if fitted else \
            "no learner could be fitted on every block"
        return _unselected(oof, failed, why)
    present = {j: block for j, block in enumerate(blocks) if block is not None}
    values = {name: [block_values(present[j], oof[name].folds[j].p0, oof[name].folds[j].pa, calibrations[name][j],
                                  actions, margins, cost) for j in kept] for name in fitted}
    decisions = pd.concat([present[j].decisions.assign(block=j) for j in kept], ignore_index=True)
    reference = values[fitted[0]]  # the simplest learner's estimates are every policy's reward model
    data = CategoryDecisions(
        margin=np.concatenate([present[j].margin for j in kept]),
        logged_action=np.concatenate([present[j].logged_action for j in kept]),
        propensity=decisions["propensity"].to_numpy(dtype=float),
        expected_action=np.concatenate([v.expected for v in reference]),
        expected_none=np.concatenate([v.expected_none for v in reference]),
        action_category=_action_categories(actions), cost=cost)
    eligible = ~np.isnan(data.expected_action)
    block_of = decisions["block"].to_numpy()
    single_terms = _single_terms(data, eligible)
    policies = {"none": np.full(len(data), LOGGED_NONE, dtype=np.int64),
                "best_single": _best_single(single_terms, eligible, block_of)}
    for name in fitted:
        policies[name] = np.concatenate([v.chosen for v in values[name]])
    terms = {name: incremental_terms(data, chosen) for name, chosen in policies.items()}
    accounts = decisions["account_id"].to_numpy(dtype=object)
    point = {name: float(t.mean()) for name, t in terms.items()}
    best = max(point, key=lambda name: point[name])
    # `level` is two-sided: its lower end is a one-sided test at (1 + level) / 2
    rows_out: list[dict[str, object]] = []
    for name in [*COMPLEXITY, *failed]:
        if name in failed:
            rows_out.append({"policy": name, "kind": "learner", "error": failed[name], "seconds": oof[name].seconds})
            continue
        if name not in point:
            continue
        _, lo, hi = mean_interval(terms[name], accounts, incremental_variance(data, policies[name]), level)
        _, d_lo, d_hi = mean_interval(terms[best] - terms[name], accounts, incremental_variance(
            data, policies[best], policies[name]), level) if name != best else (0.0, 0.0, 0.0)
        rows_out.append({"policy": name, "kind": "learner" if name in oof else "reference",
                         "value": point[name], "low": float(lo), "high": float(hi),
                         "vs_best": point[best] - point[name], "vs_best_low": float(d_lo), "vs_best_high": float(d_hi),
                         "contact_share": float((policies[name] >= 0).mean()),
                         "seconds": oof[name].seconds if name in oof else np.nan, "error": ""})
    table = pd.DataFrame(rows_out)
    enough = len(data) >= MIN_DECISIONS
    chosen = choose(table, best) if enough else fitted[0]
    table["chosen"] = table["policy"] == chosen
    learner = chosen if chosen in oof else max(fitted, key=lambda name: point[name])
    single, single_value = _single_overall(single_terms, eligible)
    single_action = None
    if chosen == "best_single" and single >= 0:
        act = actions.iloc[single]
        single_action = (str(act["channel"]), str(act["offer_id"]), float(act["discount_pct"]))
    return Selection(table, chosen, learner, single_action, single_value if single_action else None,
                     decisions=len(data), reason=_reason(chosen, best, point, level, enough, len(data)))


def choose(table: pd.DataFrame, best: str) -> str:
    """The rule: `none` when it has the highest value; otherwise the simplest acting policy (the best
    single action first, then the learners from the simplest) that the best does not beat beyond the
    interval of their difference. A policy whose whole interval lies below doing nothing is never
    taken: then `none` is."""
    if best == "none":
        return "none"
    rows = table.set_index("policy")
    for name in COMPLEXITY[1:]:
        if name in rows.index and not rows.at[name, "error"] and rows.at[name, "vs_best_low"] <= 0:
            return "none" if rows.at[name, "high"] < 0 else name
    return best


def _single_terms(data: CategoryDecisions, eligible: np.ndarray) -> np.ndarray:
    """(n_actions, n_decisions) terms of "this action wherever eligible, else nothing"."""
    return np.stack([incremental_terms(data, np.where(eligible[:, j], j, LOGGED_NONE))
                     for j in range(eligible.shape[1])]) if eligible.shape[1] else np.zeros((0, len(data)))


def _best_single(terms: np.ndarray, eligible: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The best single action for each block, picked on the other blocks (cross-fitted) from the
    actions' ``terms`` (``_single_terms``)."""
    chosen = np.full(len(block), LOGGED_NONE, dtype=np.int64)
    for b in np.unique(block):
        others = block != b
        if not others.any() or not len(terms):
            continue
        j = best_by_lower_bound(terms[:, others])
        on = (block == b) & eligible[:, j]
        chosen[on] = j
    return chosen


def _single_overall(terms: np.ndarray, eligible: np.ndarray) -> tuple[int, float]:
    """The single action with the highest value over every evaluated decision (-1 when none), and its
    mean incremental margin over the decisions where it is eligible."""
    if not len(terms):
        return -1, float("nan")
    j = best_by_lower_bound(terms)
    return j, float(terms[j, eligible[:, j]].mean()) if eligible[:, j].any() else float("nan")


def _reason(chosen: str, best: str, point: dict[str, float], level: float, enough: bool, n: int) -> str:
    if not enough:
        return (f"only {n} logged decisions with propensities could be evaluated (fewer than {MIN_DECISIONS}); "
                f"kept the simplest learner")
    if chosen == "none" == best:
        return "no policy has a higher estimated incremental margin per decision than doing nothing"
    if chosen == "none":
        return (f"{best} had the highest incremental margin ({point[best]:,.3f}), but the simpler policy it "
                f"does not beat loses against doing nothing beyond the {level:.0%} interval")
    if chosen == best:
        return (f"highest incremental margin per decision ({point[best]:,.3f}), ahead of every simpler policy "
                f"beyond the {level:.0%} interval")
    return (f"{best} had the highest incremental margin ({point[best]:,.3f}) but did not beat {chosen} "
            f"({point[chosen]:,.3f}) beyond the {level:.0%} interval of their difference, so the simpler "
            f"{chosen} is kept")


def _unselected(oof: dict[str, OutOfFold], failed: dict[str, str], why: str) -> Selection:
    table = pd.DataFrame([{"policy": name, "kind": "learner", "error": failed.get(name, ""),
                           "seconds": o.seconds} for name, o in oof.items()])
    for col in ("value", "low", "high", "vs_best", "vs_best_low", "vs_best_high", "contact_share"):
        table[col] = np.nan
    usable = [name for name in COMPLEXITY if name in oof and not oof[name].error]
    learner = usable[0] if usable else "s"
    table["chosen"] = table["policy"] == learner
    return Selection(table, learner, learner, None, reason=f"{why}; kept the simplest learner {learner}")
