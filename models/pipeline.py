"""The whole decision pipeline as one object: eligibility → scoring → ranking → reasons.

A :class:`DecisionPipeline` is what ``symbiose train`` fits and logs to MLflow, what
``symbiose recommend`` runs, and what the HTTP service loads once at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from features.actions import eligible_mask, ineligible_reasons
from features.definitions import FeatureSpec
from features.policy import NONE_CHANNEL, Policy
from features.reason_texts import Reason, json_list, reason_json, reasons_to_json
from models.decision import ScoredActions, best_any, rank_actions, score_actions
from models.design import DesignMatrix, action_frame
from models.effect_calibration import EffectCalibration
from models.estimators import ConversionClassifier, ConversionValueRegressor
from models.explain import THIN_EVIDENCE, Explained, HistoryExplainer, value_reasons
from models.exploration import explore
from models.shrinkage import LiftPrior

#: Columns of the recommendations file (docs/data-contract.md §3), in order.
OUTPUT_COLUMNS = ["account_id", "rank", "channel", "offer_id", "discount_pct", "p_convert",
                  "p_convert_baseline", "expected_incremental_margin", "executed_by", "rep_id",
                  "reasons", "model_version"]
#: Columns the pipeline reads per account besides features (from ``features.actions.contact_state``).
STATE_PREFIX = "touches_30d__"  # contact-state columns: touches per channel in the last 30 days
#: Below this weight of the account-level estimate (about 330 logged touches of the channel and
#: offer at the default strength) a suggestion says that it leans on the action's average effect.
THIN_EVIDENCE_WEIGHT = 0.25
#: Reason of a `none` row that exploration drew at random.
HOLDOUT = Reason("holdout")
HOLDOUT_REASON = HOLDOUT.text()
#: Extra output column with each row's reasons as data (``features.reason_texts.reasons_to_json``).
REASON_CODES = "reason_codes"
_REASON_DATA = "_reason_data"  # working column: each row's reasons as JSON (``reasons_to_json``)
#: Boosting rounds whose feature contributions pick the reasons (the main effects; see predict_contrib).
EXPLAIN_ROUNDS = 60
#: Rows whose feature contributions are computed at once (bounds the contribution matrix's memory).
EXPLAIN_CHUNK_ROWS = 50_000
STATE_COLUMNS = ["consent_email", "do_not_contact", "days_since_last_order", "in_quiet_period"]


def split_snapshot(model_input: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(feature frame, per-account state) from the flat pyfunc input."""
    if "account_id" not in model_input or "category" not in model_input:
        raise ValueError("model input needs columns account_id and category (one row per account × category)")
    state_cols = [c for c in model_input.columns if c in STATE_COLUMNS or c.startswith(STATE_PREFIX)]
    state = model_input.drop_duplicates("account_id").set_index("account_id")[[*state_cols, "rep_id"]]
    return model_input, state


@dataclass
class DecisionPipeline:
    """Fitted models plus the catalog and policy they were trained with."""

    specs: list[FeatureSpec]
    design: DesignMatrix
    classifier: ConversionClassifier
    value_model: ConversionValueRegressor
    actions: pd.DataFrame
    offers: pd.DataFrame
    policy: dict[str, Any]
    category_margin: dict[str, float]
    model_version: str = "unregistered"
    trained_at: str = ""
    as_of: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    lift_prior: LiftPrior | None = None
    #: Baseline and effect maps fitted on cross-fitted predictions (``models.effect_calibration``).
    calibration: EffectCalibration | None = None
    #: The learner behind ``classifier`` ("s", "x", "dr", "t"), as trained or chosen.
    learner: str = ""
    #: "personalized" (the best action per account), "single" (only ``single_action``, where it
    #: pays) or "none" (no outreach): what the learner selection found the data supports.
    policy_mode: str = "personalized"
    single_action: tuple[str, str, float] | None = None
    #: In "single" mode: the action's average incremental margin where eligible, as measured on held-out
    #: decisions — the expected value of a policy that does not personalize, the same for every account.
    single_value: float | None = None

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.actions["category"].astype(str)))

    def conversion_probability(self, X: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated P(convert) of design rows ``X`` under their own action; ``rows`` holds the
        same rows' ``channel`` and ``offer_id`` (the calibration's action groups)."""
        p = self.classifier.predict_proba(X)[:, 1]
        if self.calibration is None:
            return p
        enc = self.design.encoded(X)
        n = len(enc)
        none = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
        p0_raw = self.classifier.predict_proba(self.design.with_actions(enc, none))[:, 1]
        contact = rows["channel"].astype(str).to_numpy() != NONE_CHANNEL
        out = self.calibration.baseline(p0_raw)
        out[contact] = self.calibration.actions(p[contact], p0_raw[contact], rows["channel"].to_numpy()[contact],
                                                rows["offer_id"].to_numpy()[contact], out[contact])
        return out

    def _policy_reason(self, mode: str, offers: pd.DataFrame) -> Reason:
        """Why an account gets `none` when the policy mode left it no action."""
        if mode == "none" or self.single_action is None:
            return Reason("policy_none")
        channel, offer, discount = self.single_action
        act = pd.Series({"channel": channel, "offer_id": offer, "discount_pct": discount})
        return Reason("policy_single", {"channel": channel, "offer": _offer_name(act, offers), "discount_pct": discount})

    def restrict(self, scored: ScoredActions, actions: pd.DataFrame) -> ScoredActions:
        """``scored`` with only the pairs the policy mode allows."""
        mode = getattr(self, "policy_mode", "personalized")
        if mode == "personalized":
            return scored
        allowed = np.zeros(len(actions), dtype=bool)
        if mode == "single" and self.single_action is not None:
            channel, offer, discount = self.single_action
            allowed = ((actions["channel"].astype(str) == channel) & (actions["offer_id"].astype(str) == offer)
                       & np.isclose(actions["discount_pct"].to_numpy(dtype=float), discount)).to_numpy()
        keep = allowed[scored.pair_action]
        value = scored.value[keep]
        if mode == "single" and self.single_value is not None:
            value = np.full(len(value), self.single_value)
        return replace(scored, pair_account=scored.pair_account[keep], pair_action=scored.pair_action[keep],
                       pair_row=scored.pair_row[keep], p_convert=scored.p_convert[keep],
                       p_baseline=scored.p_baseline[keep], value=value)

    def recommend(self, frame: pd.DataFrame, state: pd.DataFrame, *, top_k: int = 3,
                  actions: pd.DataFrame | None = None, policy: Policy | None = None,
                  offers: pd.DataFrame | None = None, category_margin: dict[str, float] | None = None,
                  blocked: pd.DataFrame | None = None, model_version: str | None = None,
                  rank_by: str = "incremental_margin", explain: bool = True,
                  explore_epsilon: float = 0.0, seed: int | None = None,
                  reason_codes: bool = False) -> pd.DataFrame:
        """Recommendations (docs/data-contract.md §3) for every account of ``state``.

        ``frame``: one row per account × category (account_id, category, feature columns);
        ``state``: one row per account indexed by account_id with rep_id and the contact-state
        columns. ``actions``/``policy``/``offers`` default to the training-time catalog and policy;
        pass the data directory's current ones so deactivated offers or new caps apply at once.
        ``explain=False`` skips the reasons (for offline evaluation, where nobody reads them).
        ``explore_epsilon`` > 0 mixes in random eligible actions and ``none`` holdouts
        (``models.exploration``); the output's ``propensity`` column is exact for every first row.
        ``reason_codes=True`` adds the column ``reason_codes``: each row's reasons as JSON data, for
        readers who need them in another language than the English ``reasons``.
        """
        actions = self.actions if actions is None else actions
        policy = Policy.from_dict(self.policy) if policy is None else policy
        offers = self.offers if offers is None else offers
        category_margin = self.category_margin if category_margin is None else category_margin
        version = model_version or self.model_version
        accounts = state.index.to_numpy()
        # Keep only the state's accounts, in the state's order (no copy when the frame is so already).
        order = pd.Index(accounts).get_indexer(frame["account_id"])
        if not ((order >= 0).all() and (order[1:] >= order[:-1]).all()):
            frame, order = frame[order >= 0], order[order >= 0]
            frame = frame.iloc[np.argsort(order, kind="stable")]
        frame = frame.reset_index(drop=True)
        missing = accounts[~pd.Index(accounts).isin(frame["account_id"].unique())]  # hashing, not sorting
        if len(missing):
            filler = pd.DataFrame({"account_id": np.repeat(missing, len(self.categories)),
                                   "category": np.tile(self.categories, len(missing))})
            frame = pd.concat([frame, filler], ignore_index=True)
            order = pd.Index(accounts).get_indexer(frame["account_id"])
            frame = frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
        eligible = eligible_mask(state, actions, policy, blocked)
        scored = score_actions(frame, eligible, actions, design=self.design, classifier=self.classifier,
                               value_model=self.value_model, category_margin=category_margin,
                               prior=self.lift_prior, calibration=self.calibration)
        scored = self.restrict(scored, actions)
        ranked = rank_actions(scored, actions, top_k, rank_by=rank_by)
        n_acc = len(scored.accounts)
        propensity, explored, holdout = np.ones(n_acc), np.zeros(n_acc, bool), np.zeros(n_acc, bool)
        if explore_epsilon > 0:
            acts = actions.iloc[scored.pair_action]
            keys = (acts["offer_id"].astype(str) + "|" + acts["channel"].astype(str)).to_numpy(dtype=object)
            exp = explore(ranked, scored.pair_account, keys, n_acc, top_k, explore_epsilon,
                          np.random.default_rng(seed))
            ranked, propensity, explored, holdout = exp.ranked, exp.propensity, exp.explored, exp.holdout
        out = self._action_rows(scored, ranked, frame, actions, state, explain, policy.currency)
        none_rows = self._none_rows(scored, ranked, actions, state, offers, top_k, policy)
        if holdout.any():
            held = holdout[none_rows["account_order"].to_numpy()]
            none_rows.loc[held, "reasons"] = HOLDOUT_REASON
            none_rows.loc[held, _REASON_DATA] = reasons_to_json([HOLDOUT])
        # An empty part would turn text columns into objects: the dtypes must not depend on whether
        # some accounts got no action (or all did), so that blocks of accounts concatenate alike.
        result = pd.concat([part for part in (out, none_rows) if len(part)] or [out], ignore_index=True)
        first = result["rank"].to_numpy() == 1
        order_ = result["account_order"].to_numpy()
        result["propensity"] = np.where(first, propensity[order_], np.nan)
        result["explored"] = first & (explored[order_] | holdout[order_])
        result["model_version"] = version
        result = result.sort_values(["account_order", "rank"], kind="mergesort").drop(columns="account_order")
        extra = []
        if reason_codes:  # serialized only when asked for: the file and the pyfunc carry the sentences
            result[REASON_CODES] = result[_REASON_DATA]
            extra = [REASON_CODES]
        return result.reset_index(drop=True)[[*OUTPUT_COLUMNS, "category", "offer_name", "propensity",
                                              "explored", *extra]]

    def _action_rows(self, scored: Any, ranked: pd.DataFrame, frame: pd.DataFrame,
                     actions: pd.DataFrame, state: pd.DataFrame, explain: bool, currency: str) -> pd.DataFrame:
        pair = ranked["pair"].to_numpy()
        acts = actions.iloc[scored.pair_action[pair]].reset_index(drop=True)
        history: list[Explained] = [Explained([], "", "")] * len(pair)
        if explain and len(pair):
            history = self._history(scored, pair, ranked["account"].to_numpy(), frame, actions, currency)
        value = scored.value[pair]
        thin = np.zeros(len(acts), dtype=bool)
        if self.calibration is not None:
            thin = self.calibration.evidence_weight(acts["channel"].to_numpy(), acts["offer_id"].to_numpy()) \
                < THIN_EVIDENCE_WEIGHT
        elif self.lift_prior is not None:
            thin = self.lift_prior.arrays(acts)[1] < THIN_EVIDENCE_WEIGHT
        data, texts = [], []
        thin_text, thin_data = THIN_EVIDENCE.text("en", currency), reason_json(THIN_EVIDENCE)
        because, because_data = value_reasons(value, acts["discount_pct"].to_numpy(dtype=float), currency)
        for found, text, item, t in zip(history, because, because_data, thin, strict=True):
            data.append(json_list([*([found.data] if found.data else []), item, *([thin_data] if t else [])]))
            texts.append("; ".join([*([found.text] if found.text else []), text, *([thin_text] if t else [])]))
        account_ids = scored.accounts[ranked["account"].to_numpy()]
        names = self.offers.set_index("offer_id")["name"] if "name" in self.offers else pd.Series(dtype=object)
        return pd.DataFrame({
            "account_id": account_ids,
            "rank": ranked["rank"].to_numpy(dtype=np.int64),
            "channel": acts["channel"].to_numpy(dtype=object),
            "offer_id": acts["offer_id"].to_numpy(dtype=object),
            "discount_pct": acts["discount_pct"].to_numpy(dtype=float),
            "p_convert": scored.p_convert[pair],
            "p_convert_baseline": scored.p_baseline[pair],
            "expected_incremental_margin": value,
            "executed_by": acts["executed_by"].to_numpy(dtype=object),
            "rep_id": state["rep_id"].reindex(account_ids).to_numpy(dtype=object),
            "reasons": texts,
            _REASON_DATA: data,
            "category": acts["category"].to_numpy(dtype=object),
            "offer_name": names.reindex(acts["offer_id"]).to_numpy(dtype=object),
            "account_order": ranked["account"].to_numpy(),
        })

    def _history(self, scored: Any, pair: np.ndarray, account: np.ndarray, frame: pd.DataFrame,
                 actions: pd.DataFrame, currency: str) -> list[Explained]:
        """History reasons (and their sentences) of the ranked pairs ``pair``. They are about the
        account and category: the best-ranked action of each account × category is explained once
        (feature contributions of its design row, ``EXPLAIN_CHUNK_ROWS`` rows at a time) and the
        others reuse its sentences."""
        action = scored.pair_action[pair]
        rows = scored.pair_row[pair]
        category = pd.Index(scored.categories).get_indexer(actions["category"].astype(str).to_numpy()[action])
        group = account.astype(np.int64) * max(1, len(scored.categories)) + category
        _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
        encoded = scored.encoded
        picked_rows = rows[first]
        if encoded is None:  # scores made without their matrix: encode just the rows explained
            encoded, picked_rows = self.design.encode(frame.iloc[rows[first]]), np.arange(len(first))
        used, which = np.unique(action[first], return_inverse=True)
        acts = actions.iloc[used]
        codes = self.design.action_codes(action_frame(acts["channel"].to_numpy(), acts["offer_id"].to_numpy(),
                                                      acts["discount_pct"].to_numpy(), acts["executed_by"].to_numpy()))
        sources = self.design.context_sources(acts["channel"].to_numpy())
        categories = np.asarray(scored.categories, dtype=object)[category[first]]
        explainer = HistoryExplainer(self.specs, self.design.columns, currency=currency)
        explained: list[Explained] = []
        buffer = np.empty((min(len(first), EXPLAIN_CHUNK_ROWS), len(self.design.columns)), dtype=np.float32)
        for start in range(0, len(first), EXPLAIN_CHUNK_ROWS):
            part = slice(start, min(start + EXPLAIN_CHUNK_ROWS, len(first)))
            X = self.design.fill_actions(buffer[: part.stop - start], encoded, picked_rows[part],
                                         codes[which[part]], sources[which[part]])
            contrib = self.classifier.predict_contrib(X, max_rounds=EXPLAIN_ROUNDS)
            explained += explainer.explain(contrib, frame, categories[part], rows=rows[first][part])
        return [explained[g] for g in inverse.ravel()]

    def _none_rows(self, scored: Any, ranked: pd.DataFrame, actions: pd.DataFrame, state: pd.DataFrame,
                   offers: pd.DataFrame, top_k: int, policy: Policy) -> pd.DataFrame:
        currency = policy.currency
        n = len(scored.accounts)
        counts = np.bincount(ranked["account"].to_numpy(dtype=np.int64), minlength=n)
        need = np.flatnonzero(counts < top_k)
        best = best_any(scored).set_index("account")["pair"]
        best_pair = best.reindex(need).to_numpy()
        has_best = ~pd.isna(best_pair)
        best_pair_i = np.where(has_best, best_pair, 0).astype(np.int64)
        # Baseline conversion shown for `none`: the category of the best (even if losing) action,
        # else the account's most likely category.
        base = np.nan_to_num(scored.base_p[need], nan=-1.0)
        top_cat = base.argmax(axis=1) if len(need) else np.zeros(0, dtype=np.int64)
        cat_index = pd.Index(scored.categories)
        if len(scored.pair_action):
            best_cat = cat_index.get_indexer(actions["category"].astype(str).to_numpy()[scored.pair_action[best_pair_i]])
        else:
            best_cat = np.zeros(len(need), dtype=np.int64)
        cat = np.where(has_best, best_cat, top_cat)
        p0 = scored.base_p[need, cat] if len(need) else np.zeros(0)
        p0 = np.where(np.isnan(p0), 0.0, p0)
        st = state.iloc[need]
        any_eligible = scored.eligible[need].any(axis=1) if scored.eligible.size else np.zeros(len(need), bool)
        dnc = st["do_not_contact"].fillna(False).to_numpy(dtype=bool)
        reasons = [Reason("no_further_action")] * len(need)
        first = counts[need] == 0
        dnc_reason = Reason("do_not_contact")
        for i in np.flatnonzero(first & dnc):
            reasons[i] = dnc_reason
        # Why nothing is eligible depends on the account's contact state only: said once per state.
        blocked = np.flatnonzero(first & ~dnc & ~any_eligible)
        state_columns = [c for c in st.columns if c != "rep_id"]
        said: dict[tuple[Any, ...], Reason] = {}
        for i, values in zip(blocked, st[state_columns].iloc[blocked].itertuples(index=False, name=None),
                             strict=True):
            key = tuple(None if _is_missing(v) else v for v in values)
            if key not in said:
                said[key] = _blocked_reason(st.iloc[i], actions, policy)
            reasons[i] = said[key]
        losing = np.flatnonzero(first & ~dnc & any_eligible & has_best)
        if len(losing):
            known = _offer_names(offers)
            names = [known.get(o, str(o)) for o in actions["offer_id"]]
            channels = actions["channel"].astype(str).to_numpy()
            discounts = actions["discount_pct"].to_numpy(dtype=float)
            for i in losing:
                pair = best_pair_i[i]
                a = scored.pair_action[pair]
                reasons[i] = Reason("not_paying_off", {"channel": channels[a], "offer": names[a],
                                                       "discount_pct": float(discounts[a]),
                                                       "amount": float(scored.value[pair])})
        mode = getattr(self, "policy_mode", "personalized")
        for i in np.flatnonzero(first & ~dnc & any_eligible & ~has_best):
            reasons[i] = self._policy_reason(mode, offers) if mode != "personalized" else Reason("no_history")
        texts: dict[int, tuple[str, str]] = {}  # a reason shared by many accounts is rendered once
        for r in reasons:
            if id(r) not in texts:
                texts[id(r)] = (r.text("en", currency), reasons_to_json([r]))
        return pd.DataFrame({
            "account_id": scored.accounts[need],
            "rank": counts[need].astype(np.int64) + 1,
            "channel": NONE_CHANNEL,
            "offer_id": pd.Series([None] * len(need), dtype=object),
            "discount_pct": 0.0,
            "p_convert": p0,
            "p_convert_baseline": p0,
            "expected_incremental_margin": 0.0,
            "executed_by": pd.Series([None] * len(need), dtype=object),
            "rep_id": st["rep_id"].to_numpy(dtype=object),
            "reasons": [texts[id(r)][0] for r in reasons],
            _REASON_DATA: [texts[id(r)][1] for r in reasons],
            "category": np.asarray(scored.categories, dtype=object)[cat] if len(need) else np.zeros(0, object),
            "offer_name": pd.Series([None] * len(need), dtype=object),
            "account_order": need,
        })


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _offer_names(offers: pd.DataFrame) -> dict[Any, str]:
    """Offer id -> the name :func:`_offer_name` gives (the first row's name; offers without one are
    left out, the caller falls back to the id)."""
    if "name" not in offers:
        return {}
    first = offers.drop_duplicates("offer_id")
    named = first[first["name"].notna()]
    return {o: str(n) for o, n in zip(named["offer_id"], named["name"], strict=True)}


def _offer_name(act: pd.Series, offers: pd.DataFrame) -> str:
    match = offers.loc[offers["offer_id"] == act["offer_id"], "name"] if "name" in offers else pd.Series([])
    return str(match.iloc[0] if len(match) and pd.notna(match.iloc[0]) else act["offer_id"])


def _blocked_reason(row: pd.Series, actions: pd.DataFrame, policy: Policy) -> Reason:
    """Why no action is eligible: the rules that block each channel, each said once."""
    rules: list[Reason] = []
    for _, action in actions.drop_duplicates("channel").iterrows():
        for reason in ineligible_reasons(row, action, policy):
            if reason not in rules:
                rules.append(reason)
    return Reason("no_eligible_action", {"rules": rules})
