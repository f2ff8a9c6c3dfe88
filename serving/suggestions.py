"""The in-memory suggestion service: ranked candidates precomputed once, filtered per request.

At start the model scores every account of the snapshot once (``candidates`` ranked actions per
account, plus ``none`` where fewer pay off). With exploration (``explore`` > 0), each account's
first candidate is, with that probability, a random eligible action or a ``none`` holdout, drawn
once per snapshot (a rep sees a stable list); the exact probability of the account's decision is
its ``propensity``, logged with every suggestion shown. A request never scores: it takes the account's
candidates, drops actions suppressed by recent feedback (dismissed or done, per account ×
channel × offer) and actions on channels whose contact cap is used up once accepted rep actions
are counted as touches, and returns the first ``k`` with ``none`` appended where fewer remain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.actions import TOUCH_COUNT_PREFIX, contact_state
from features.dataset import Dataset
from features.policy import NONE_CHANNEL, ChannelRule
from features.reason_texts import Reason
from models.pipeline import REASON_CODES, DecisionPipeline
from models.recommend import score_dataset
from models.suggestion import Suggestion, split_reasons, suggestion_id
from serving.directory import none_if_na
from serving.store.feedback import FeedbackEffects
from serving.store.tables import Decision

#: Without exploration the ranking is deterministic: every decision is taken with probability 1.
PROPENSITY = 1.0
NO_FURTHER_ACTION_REASON = Reason("no_further_action")
NO_FURTHER_ACTION = NO_FURTHER_ACTION_REASON.text()
_SEP = "\x1f"


@dataclass(frozen=True)
class Shown:
    """Suggestions picked for some accounts: candidate row positions (or -1 for a synthesized
    ``none``), the account position of each and its rank after filtering."""

    rows: np.ndarray
    accounts: np.ndarray
    ranks: np.ndarray


class SuggestionService:
    """Precomputed, ranked candidates for every account of one snapshot and one model."""

    def __init__(self, candidates: pd.DataFrame, state: pd.DataFrame, channels: dict[str, ChannelRule],
                 *, model_version: str, as_of: pd.Timestamp) -> None:
        self.model_version = model_version
        self.as_of = pd.Timestamp(as_of)
        self.accounts = pd.Index(state.index.astype(str), name="account_id")
        cand = candidates.loc[candidates["account_id"].isin(self.accounts)]
        pos = self.accounts.get_indexer(cand["account_id"].astype(str))
        order = np.lexsort((cand["rank"].to_numpy(), pos))
        cand = cand.iloc[order].reset_index(drop=True)
        self.account_pos = pos[order]
        self.cols: dict[str, np.ndarray] = {
            name: cand[name].to_numpy(dtype=object) for name in
            ("account_id", "channel", "offer_id", "executed_by", "reasons", "category", "offer_name")
        }
        codes = cand[REASON_CODES] if REASON_CODES in cand else pd.Series(None, index=cand.index, dtype=object)
        self.cols[REASON_CODES] = codes.to_numpy(dtype=object)
        for name in ("discount_pct", "p_convert", "p_convert_baseline", "expected_incremental_margin"):
            self.cols[name] = cand[name].to_numpy(dtype=np.float64)
        explored = cand["explored"] if "explored" in cand else pd.Series(False, index=cand.index)
        self.cols["explored"] = explored.fillna(False).to_numpy(dtype=bool)
        for name in ("offer_id", "executed_by", "offer_name"):
            self.cols[name] = none_if_na(self.cols[name])
        self.cols["suggestion_id"] = np.array(
            [suggestion_id(model_version, self.as_of, a, c, o, d) for a, c, o, d in zip(
                self.cols["account_id"], self.cols["channel"], self.cols["offer_id"],
                self.cols["discount_pct"], strict=True)], dtype=object)
        channel = cand["channel"].astype(str)
        offer = cand["offer_id"].astype(object).where(cand["offer_id"].notna(), "")
        self._key_offer = (cand["account_id"].astype(str) + _SEP + channel + _SEP + offer.astype(str)) \
            .to_numpy(dtype=object)
        self._key_channel = (cand["account_id"].astype(str) + _SEP + channel).to_numpy(dtype=object)
        self._is_none = (channel == NONE_CHANNEL).to_numpy(dtype=np.float64)
        self.account_ids = self.accounts.to_numpy(dtype=object)
        self._positions = {a: i for i, a in enumerate(self.account_ids.tolist())}
        n = len(self.accounts)
        self._start = np.searchsorted(self.account_pos, np.arange(n), side="left")
        self._end = np.searchsorted(self.account_pos, np.arange(n), side="right")
        # The probability of each account's decision: its first candidate's propensity.
        self.propensity = np.full(n, PROPENSITY)
        if "propensity" in cand:
            first = self._start[self._start < self._end]
            given = cand["propensity"].to_numpy(dtype=np.float64)[first]
            self.propensity[self.account_pos[first]] = np.where(np.isnan(given), PROPENSITY, given)
        self.rep_id = none_if_na(state["rep_id"])
        #: The policy's channels with a contact cap, and each account's touches on them before as-of.
        self.capped = {name: rule for name, rule in channels.items() if rule.max_per_30d is not None}
        self.touches = {ch: state[TOUCH_COUNT_PREFIX + ch].to_numpy(dtype=np.int64)
                        for ch in self.capped if TOUCH_COUNT_PREFIX + ch in state}

    @classmethod
    def build(cls, dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
              model_version: str, candidates: int = 20, explain_depth: int = 3, explore: float = 0.0,
              seed: int | None = None) -> SuggestionService:
        """Score every account of ``dataset`` at ``as_of`` once and keep ``candidates`` per account.

        ``explore`` > 0 mixes random eligible actions and ``none`` holdouts into the first place
        (``models.exploration``), drawn with ``seed`` (a fresh one when None).

        Reasons from the account's history (feature contributions, the costly part) are computed
        for the first ``explain_depth`` candidates of each account; deeper candidates, shown only
        when feedback removed better ones, carry the value sentence alone.
        """
        as_of = pd.Timestamp(as_of)
        recs = score_dataset(dataset, as_of, pipeline, top_k=candidates, model_version=model_version,
                             explain=explain_depth > 0, explain_depth=explain_depth, reason_codes=True,
                             explore_epsilon=explore, seed=seed)
        contact = contact_state(dataset.before(as_of), as_of)
        return cls(recs, contact, dataset.policy.channels, model_version=model_version, as_of=as_of)

    def position(self, account_id: str) -> int:
        """Position of ``account_id`` in the snapshot, -1 when unknown."""
        return self._positions.get(account_id, -1)

    def reason_codes(self, account_id: str) -> dict[str, str]:
        """suggestion_id -> reasons as JSON data (``features.reason_texts``) of the account's
        candidates that carry them."""
        pos = self.position(account_id)
        if pos < 0:
            return {}
        rows = range(self._start[pos], self._end[pos])
        codes, ids = self.cols[REASON_CODES], self.cols["suggestion_id"]
        return {ids[r]: codes[r] for r in rows if isinstance(codes[r], str)}

    def pick(self, positions: np.ndarray, k: int, effects: FeedbackEffects) -> Shown:
        """The first ``k`` suggestions of each account at ``positions`` (distinct) after feedback,
        grouped by account in the order of ``positions``, best first."""
        positions = np.asarray(positions, dtype=np.int64)
        starts, ends = self._start[positions], self._end[positions]
        rows = _concat_ranges(starts, ends)
        group = np.repeat(np.arange(len(positions)), ends - starts)  # index into positions
        keep = self._allowed(rows, effects)
        rows, group = rows[keep], group[keep]
        # Rank within account after filtering (rows come grouped by account, in rank order).
        first = np.concatenate([[True], group[1:] != group[:-1]]) if len(group) else np.zeros(0, dtype=bool)
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(group)), 0)) if len(group) else group
        ranks = np.arange(len(group)) - group_start + 1
        top = ranks <= k
        rows, group, ranks = rows[top], group[top], ranks[top]
        # Accounts with fewer than k left and no `none` among them get a `none` appended.
        counts = np.bincount(group, minlength=len(positions))
        has_none = np.bincount(group, weights=self._is_none[rows], minlength=len(positions)) > 0
        need = np.flatnonzero((counts < k) & ~has_none)
        rows = np.concatenate([rows, np.full(len(need), -1, dtype=np.int64)])
        group = np.concatenate([group, need])
        ranks = np.concatenate([ranks, counts[need] + 1])
        order = np.lexsort((ranks, group))
        return Shown(rows[order], positions[group[order]], ranks[order].astype(np.int64))

    def _allowed(self, rows: np.ndarray, effects: FeedbackEffects) -> np.ndarray:
        keep = np.ones(len(rows), dtype=bool)
        if not len(rows):
            return keep
        if effects.suppressed:
            keys = [_SEP.join([a, c, o or ""]) for a, c, o in effects.suppressed]
            keep &= ~pd.Index(self._key_offer[rows]).isin(keys)
        if effects.contacts:
            capped = []
            for (account, channel), used in effects.contacts.items():
                rule = self.capped.get(channel)
                pos = self.position(account)
                if rule is None or pos < 0 or channel not in self.touches:
                    continue
                if rule.cap_reached(self.touches[channel][pos] + used):
                    capped.append(account + _SEP + channel)
            if capped:
                keep &= ~pd.Index(self._key_channel[rows]).isin(capped)
        return keep

    def best_value(self, shown: Shown, positions: np.ndarray) -> np.ndarray:
        """Rank-1 expected incremental margin of each account at ``positions`` (0 for ``none``)."""
        first = shown.ranks == 1
        value = np.where(shown.rows[first] >= 0,
                         self.cols["expected_incremental_margin"][np.maximum(shown.rows[first], 0)], 0.0)
        return pd.Series(value, index=shown.accounts[first]).reindex(positions, fill_value=0.0).to_numpy()

    def records(self, shown: Shown) -> list[Suggestion]:
        """The shown suggestions, grouped by account, best first."""
        return [self._record(row, pos, rank) for row, pos, rank in
                zip(shown.rows.tolist(), shown.accounts.tolist(), shown.ranks.tolist(), strict=True)]

    def candidate(self, account_id: str, suggestion_id: str) -> Suggestion | None:
        """The snapshot's candidate ``suggestion_id`` of ``account_id`` (rank 1), None when it has none."""
        pos = self.position(account_id)
        if pos < 0:
            return None
        rows = np.arange(self._start[pos], self._end[pos])
        hits = rows[self.cols["suggestion_id"][rows] == suggestion_id]
        return self._record(int(hits[0]), pos, 1) if len(hits) else None

    def _record(self, row: int, pos: int, rank: int) -> Suggestion:
        account = str(self.account_ids[pos])
        propensity = float(self.propensity[pos])
        if row < 0:
            baseline = self._baseline(pos)
            return Suggestion(
                suggestion_id=suggestion_id(self.model_version, self.as_of, account, NONE_CHANNEL, None, 0.0),
                account_id=account, rank=rank, channel=NONE_CHANNEL, offer_id=None, discount_pct=0.0,
                p_convert=baseline, p_convert_baseline=baseline, expected_incremental_margin=0.0,
                executed_by=None, reasons=(NO_FURTHER_ACTION,), propensity=propensity)
        c = self.cols
        return Suggestion(
            suggestion_id=c["suggestion_id"][row], account_id=account, rank=rank, channel=c["channel"][row],
            offer_id=c["offer_id"][row], discount_pct=float(c["discount_pct"][row]),
            p_convert=float(c["p_convert"][row]), p_convert_baseline=float(c["p_convert_baseline"][row]),
            expected_incremental_margin=float(c["expected_incremental_margin"][row]),
            executed_by=c["executed_by"][row], reasons=split_reasons(c["reasons"][row]),
            offer_name=c["offer_name"][row], category=c["category"][row], propensity=propensity,
            explored=bool(c["explored"][row]))

    def _baseline(self, pos: int) -> float:
        start = self._start[pos]
        if start < self._end[pos]:
            return float(self.cols["p_convert_baseline"][start])
        return 0.0


def _concat_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``np.r_[starts[0]:ends[0], starts[1]:ends[1], ...]`` without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def logged_suggestion(decision: Decision) -> Suggestion:
    """The suggestion a decision-log row recorded (without its reasons, which are not logged)."""
    return Suggestion(suggestion_id=decision.suggestion_id, account_id=decision.account_id, rank=decision.rank,
                      channel=decision.channel, offer_id=decision.offer_id, discount_pct=decision.discount_pct,
                      p_convert=decision.p_convert, p_convert_baseline=decision.p_convert_baseline,
                      expected_incremental_margin=decision.expected_incremental_margin,
                      executed_by=decision.executed_by, propensity=decision.propensity)
