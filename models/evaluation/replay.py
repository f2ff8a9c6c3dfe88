"""Replay a decision pipeline on logged decisions: what would it have done, and what did it expect?

For each logged decision with a propensity, the pipeline scores every eligible action with the data
it would have had at that moment (features as of the decision time, contact state at the start of
the decision's day). The reward of a decision is the margin of all the account's order lines in the
attribution window minus the contact cost. The reward model for the doubly robust estimator follows
the pipeline's own arithmetic: the expected window margin without outreach,
``sum_c P(convert_c | none) * E[rev_c] * m_c``, plus the action's expected incremental margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.actions import contact_state, eligible_mask
from features.builder import build_features
from features.dataset import Dataset, restrict_accounts
from features.definitions import FeatureSpec
from features.outcomes import window_outcomes
from features.policy import NONE_CHANNEL, Policy
from models.decision import rank_actions, score_actions
from models.evaluation.incremental import CategoryDecisions
from models.evaluation.off_policy import LoggedDecisions, TargetPolicy
from models.pipeline import DecisionPipeline

MAX_DECISIONS = 10_000
#: ``logged_action`` codes besides action indices.
LOGGED_NONE = -1
LOGGED_OTHER = -2  # a generic contact or an action the pipeline does not know


def logged_decisions(holdout: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """One row per logged decision with a propensity, and its reward (window margin − contact cost)."""
    dec = holdout.drop_duplicates("touch_id")
    dec = dec[dec["propensity"].notna()].reset_index(drop=True)
    if dec.empty:
        return dec
    out = window_outcomes(dataset, pd.DataFrame({"account_id": dec["account_id"], "at": dec["touched_at"],
                                                 "category": pd.Series([None] * len(dec), dtype=object)}))
    cost = dec["channel"].map({n: r.cost for n, r in dataset.policy.channels.items()}).fillna(0.0)
    dec["reward"] = out["margin"].to_numpy(dtype=float) - cost.to_numpy(dtype=float)
    return dec


def category_margins(dataset: Dataset, dec: pd.DataFrame, categories: list[str]) -> np.ndarray:
    """(decisions, categories) margin of each category's order lines in each decision's window."""
    k = len(categories)
    outcome = window_outcomes(dataset, pd.DataFrame({
        "account_id": np.repeat(dec["account_id"].to_numpy(dtype=object), k),
        "at": np.repeat(dec["touched_at"].to_numpy(), k),
        "category": np.tile(np.asarray(categories, dtype=object), len(dec))}))
    return outcome["margin"].to_numpy(dtype=float).reshape(len(dec), k)


def decisions_accounts(dataset: Dataset, dec: pd.DataFrame) -> Dataset:
    """``dataset`` cut to the accounts of the decisions ``dec`` when they are at most half of its
    accounts: every replayed quantity of a decision (features, contact state, window margins) comes
    from its own account's rows, so the values are the same at a fraction of the cost (the contact
    state is computed once per decision day)."""
    accounts = pd.unique(dec["account_id"].astype(object))
    if 2 * len(accounts) > len(dataset.accounts):
        return dataset
    return restrict_accounts(dataset, pd.Series(accounts, dtype=object))


def decision_snapshot(dataset: Dataset, dec: pd.DataFrame, specs: list[FeatureSpec], cats: list[str]
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(feature frame, state) with one "account" per decision, keyed by touch_id, in ``dec`` order:
    features (``specs``) of each category in ``cats`` as of the decision time, contact state at the
    start of the decision's day."""
    n = len(dec)
    queries = pd.DataFrame({"account_id": np.repeat(dec["account_id"].to_numpy(dtype=object), len(cats)),
                            "at": np.repeat(dec["touched_at"].to_numpy(), len(cats)),
                            "category": np.tile(np.asarray(cats, dtype=object), n)})
    feats = build_features(dataset, queries, specs).reset_index(drop=True)
    feats = feats.drop(columns=[c for c in ("account_id", "category") if c in feats.columns])
    frame = pd.concat([pd.DataFrame({"account_id": np.repeat(dec["touch_id"].to_numpy(dtype=object), len(cats)),
                                     "category": queries["category"]}), feats], axis=1)
    days = dec["touched_at"].dt.floor("D")
    states = []
    for day, idx in dec.groupby(days).groups.items():
        st = contact_state(dataset, day)
        part = st.reindex(dec.loc[idx, "account_id"].to_numpy())
        part.index = dec.loc[idx, "touch_id"].to_numpy()
        states.append(part)
    state = pd.concat(states).reindex(dec["touch_id"].to_numpy())
    reps = dataset.accounts.set_index("account_id")["rep_id"]
    state["rep_id"] = reps.reindex(dec["account_id"].to_numpy()).to_numpy()
    return frame, state


@dataclass(frozen=True)
class Replay:
    """The pipeline's view of each logged decision; matrices are (decisions, actions), NaN = not eligible."""

    decisions: pd.DataFrame     # logged decisions with reward, in replay order
    actions: pd.DataFrame       # the pipeline's action space
    value: np.ndarray           # predicted expected incremental margin
    lift: np.ndarray            # predicted conversion lift over `none`
    baseline: np.ndarray        # predicted reward of `none` (expected window margin, no outreach)
    logged_action: np.ndarray   # action index, LOGGED_NONE or LOGGED_OTHER
    chosen: np.ndarray          # the pipeline's first choice: action index or LOGGED_NONE
    available: int = 0          # logged decisions with a propensity before sampling
    margin: np.ndarray | None = None         # (decisions, categories) realized margin in the window
    expected_none: np.ndarray | None = None  # (decisions, categories) expected margin without outreach

    def category_decisions(self) -> CategoryDecisions:
        """The decisions seen by the category each action targets (``models.evaluation.incremental``)."""
        if self.margin is None or self.expected_none is None:
            raise ValueError("this replay has no per-category margins")
        cats = pd.Index(sorted(set(self.actions["category"].astype(str)))).get_indexer(self.actions["category"].astype(str))
        cost = self.actions["cost"].to_numpy(dtype=float)
        expected = self.value + self.expected_none[:, cats] + cost[None, :]
        return CategoryDecisions(self.margin, self.logged_action, self.decisions["propensity"].to_numpy(dtype=float),
                                 expected, self.expected_none, cats, cost)

    @property
    def eligible(self) -> np.ndarray:
        return ~np.isnan(self.value)

    def logged(self) -> LoggedDecisions:
        """The decisions with the reward model's prediction for each logged action."""
        rows = np.arange(len(self.decisions))
        known = self.logged_action >= 0
        action_value = np.zeros(len(rows))
        action_value[known] = np.nan_to_num(self.value[rows[known], self.logged_action[known]], nan=0.0)
        return LoggedDecisions(self.decisions["reward"].to_numpy(dtype=float),
                               self.decisions["propensity"].to_numpy(dtype=float),
                               self.baseline + action_value)

    def action_policy(self, name: str, action: np.ndarray, description: str = "") -> TargetPolicy:
        """Deterministic policy taking ``action[i]`` (an action index or LOGGED_NONE) at decision i."""
        rows = np.arange(len(self.decisions))
        takes = action >= 0
        prob = np.where(takes, self.logged_action == action, self.logged_action == LOGGED_NONE)
        gain = np.zeros(len(rows))
        gain[takes] = self.value[rows[takes], action[takes]]
        return TargetPolicy(name, prob.astype(float), self.baseline + np.nan_to_num(gain), description)

    def model_policy(self) -> TargetPolicy:
        return self.action_policy("model", self.chosen, "the pipeline's first suggestion")

    def none_policy(self) -> TargetPolicy:
        return self.action_policy("none", np.full(len(self.decisions), LOGGED_NONE),
                                  "no outreach for anyone")

    def logging_policy(self) -> TargetPolicy:
        """The policy that produced the log (weights 1: every estimator gives the mean reward)."""
        logged = self.logged()
        return TargetPolicy("logging", logged.propensity, logged.model_reward,
                            "what was actually done (on-policy mean reward)")

    def random_policy(self) -> TargetPolicy:
        """Uniformly random among each decision's eligible actions and `none`."""
        eligible = self.eligible
        options = eligible.sum(axis=1) + 1.0
        rows = np.arange(len(self.decisions))
        known = self.logged_action >= 0
        possible = self.logged_action == LOGGED_NONE
        possible[known] = eligible[rows[known], self.logged_action[known]]
        mean_gain = np.nansum(self.value, axis=1) / options
        return TargetPolicy("random", possible / options, self.baseline + mean_gain,
                            "a uniformly random eligible action or none")

    def single_action_policy(self, j: int) -> TargetPolicy:
        """Action ``j`` wherever it is eligible, `none` elsewhere."""
        action = np.where(self.eligible[:, j], j, LOGGED_NONE)
        return self.action_policy(action_label(self.actions.iloc[j]), action)


def action_label(action: pd.Series) -> str:
    """"channel / offer / discount%" of an action row."""
    return f"{action['channel']} / {action['offer_id']} / {float(action['discount_pct']):g}%"


def replay(pipeline: DecisionPipeline, dataset: Dataset, holdout: pd.DataFrame, *,
           max_decisions: int = MAX_DECISIONS, seed: int = 0) -> Replay | None:
    """Replay ``pipeline`` on the logged decisions of ``holdout`` (touch rows as from
    ``models.training.training_examples``); None when no decision has a propensity.
    With more than ``max_decisions`` decisions a seeded uniform sample is replayed."""
    dec = logged_decisions(holdout, dataset)
    if dec.empty:
        return None
    available = len(dec)
    if len(dec) > max_decisions:
        dec = dec.sample(max_decisions, random_state=seed).sort_values("touched_at", kind="mergesort")
        dec = dec.reset_index(drop=True)
    dataset = decisions_accounts(dataset, dec)
    frame, state = decision_snapshot(dataset, dec, pipeline.specs, pipeline.categories)
    actions = pipeline.actions.reset_index(drop=True)
    eligible = eligible_mask(state, actions, Policy.from_dict(pipeline.policy))
    scored = score_actions(frame, eligible, actions, design=pipeline.design, classifier=pipeline.classifier,
                           value_model=pipeline.value_model, category_margin=pipeline.category_margin,
                           prior=pipeline.lift_prior, calibration=pipeline.calibration)
    n, n_act = len(dec), len(actions)
    value = np.full((n, n_act), np.nan)
    lift = np.full((n, n_act), np.nan)
    value[scored.pair_account, scored.pair_action] = scored.value
    lift[scored.pair_account, scored.pair_action] = scored.p_convert - scored.p_baseline
    first = rank_actions(pipeline.restrict(scored, actions), actions, top_k=1)  # the policy the pipeline ships
    chosen = np.full(n, LOGGED_NONE, dtype=np.int64)
    chosen[first["account"].to_numpy(dtype=np.int64)] = first["action"].to_numpy(dtype=np.int64)
    expected_none = _expected_none(pipeline, frame, scored.base_p, n)
    return Replay(dec, actions, value, lift, np.nansum(expected_none, axis=1), logged_action_index(dec, actions),
                  chosen, available, category_margins(dataset, dec, pipeline.categories), expected_none)


def _expected_none(pipeline: DecisionPipeline, frame: pd.DataFrame, base_p: np.ndarray, n: int) -> np.ndarray:
    """(decisions, categories) expected window margin without outreach: p0 · rev · m_c."""
    cats = pipeline.categories
    encoded = pipeline.design.encode(frame)
    rev = pipeline.value_model.predict(encoded[:, :len(pipeline.design.account_columns)]).reshape(n, len(cats))
    margin = np.array([pipeline.category_margin.get(c, np.nan) for c in cats])
    margin = np.where(np.isnan(margin), np.nanmean(margin) if np.isfinite(margin).any() else 0.0, margin)
    return np.nan_to_num(base_p, nan=0.0) * rev * margin[None, :]


def logged_action_index(dec: pd.DataFrame, actions: pd.DataFrame) -> np.ndarray:
    """Index into ``actions`` of each decision's logged action; LOGGED_NONE or LOGGED_OTHER."""
    def keys(channel: pd.Series, offer: pd.Series, discount: pd.Series) -> pd.Series:
        return (channel.astype(str) + "|" + offer.astype(object).fillna("").astype(str) + "|"
                + discount.fillna(0).astype(float).round(6).astype(str))

    index = pd.Index(keys(actions["channel"], actions["offer_id"], actions["discount_pct"]))
    logged = keys(dec["channel"], dec["offer_id"], dec["discount_pct"])
    found = index.get_indexer(logged)
    is_none = (dec["channel"] == NONE_CHANNEL).to_numpy()
    return np.where(is_none, LOGGED_NONE, np.where(found >= 0, found, LOGGED_OTHER)).astype(np.int64)
