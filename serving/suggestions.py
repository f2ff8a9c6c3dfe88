"""The in-memory suggestion service: ranked candidates precomputed once, filtered per request.

At start the model scores every account of the snapshot once (``candidates`` ranked actions per
account, plus ``none`` where fewer pay off). With exploration (``explore`` > 0), each account's
first candidate is, with that probability, a random eligible action or a ``none`` holdout, drawn
once per snapshot (a rep sees a stable list); the exact probability of the account's decision is
its ``propensity``, logged with every suggestion shown. A request never scores: it takes the account's
candidates, drops actions suppressed by recent feedback (dismissed or done, per account ×
channel × offer) and actions on channels whose contact cap is used up once accepted rep actions
are counted as touches, and returns the first ``k`` with ``none`` appended where fewer remain.

With ``later_days`` > 0 the service also holds, after each account's candidates, the rep actions
(call, visit) that the contact caps or the quiet days block at as-of but allow within that many
days (``later`` rows; from a scores file, those ``recommend --later-days`` wrote beside it):
requests never get them; the rep's day lists them with the day they become possible
(:meth:`SuggestionService.free_day`).
"""

from __future__ import annotations

import copy
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from features.actions import TOUCH_COUNT_PREFIX, contact_state, contact_state_on, latest_contacts
from features.dataset import Dataset, restrict_accounts
from features.policy import NONE_CHANNEL, ChannelRule, Policy
from features.reason_texts import Reason
from models.pipeline import REASON_CODES, DecisionPipeline
from models.recommend import score_dataset
from models.suggestion import Suggestion, split_reasons, suggestion_id, suggestion_ids
from serving.directory import none_if_na, shared_strings
from serving.store.feedback import FeedbackEffects
from serving.store.tables import Decision

#: Without exploration the ranking is deterministic: every decision is taken with probability 1.
PROPENSITY = 1.0
NO_FURTHER_ACTION_REASON = Reason("no_further_action")
NO_FURTHER_ACTION = NO_FURTHER_ACTION_REASON.text()
#: Candidate column: a rep action blocked at as-of that becomes possible later (see the module).
LATER = "later"
#: Rank offset of the later rows: after every candidate of the account.
LATER_RANK = 1000
_SEP = "\x1f"
#: Suggestion records kept for reuse at most (all are dropped when reached).
MAX_KEPT_RECORDS = 500_000
#: Records kept since they were last moved out of the garbage collector's view at which they are
#: moved again (see :meth:`SuggestionService.records`).
FREEZE_EVERY_RECORDS = 4096


@dataclass(frozen=True)
class Shown:
    """Suggestions picked for some accounts: candidate row positions (or -1 for a synthesized
    ``none``), the account position of each and its rank after filtering."""

    rows: np.ndarray
    accounts: np.ndarray
    ranks: np.ndarray


@dataclass(frozen=True)
class _Table:
    """The candidate rows and their per-account index at one moment. Rows are only ever appended
    (accounts scored on demand), so row positions taken from one table stay valid in later ones."""

    cols: dict[str, np.ndarray]
    account_pos: np.ndarray
    key_offer: np.ndarray
    key_channel: np.ndarray
    is_none: np.ndarray
    start: np.ndarray
    end: np.ndarray
    propensity: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.is_none)


#: Scores the named accounts on demand: their candidate rows, as ``score_dataset`` returns them.
Scorer = Callable[[list[str]], pd.DataFrame]


class SuggestionService:
    """Precomputed, ranked candidates for every account of one snapshot and one model.

    ``candidates`` may leave accounts out (a recommendations file that misses some): with a
    ``scorer`` those are scored the first time a request needs them, and kept."""

    def __init__(self, candidates: pd.DataFrame, state: pd.DataFrame, channels: dict[str, ChannelRule],
                 *, model_version: str, as_of: pd.Timestamp, scorer: Scorer | None = None,
                 policy: Policy | None = None, latest: dict[str, np.ndarray] | None = None) -> None:
        self.model_version = model_version
        self.as_of = pd.Timestamp(as_of)
        self.accounts = pd.Index(state.index.astype(str), name="account_id")
        self.account_ids = self.accounts.to_numpy(dtype=object)
        self._positions = {a: i for i, a in enumerate(self.account_ids.tolist())}
        self._index_candidates(candidates, scorer)
        self.rep_id = none_if_na(state["rep_id"])
        #: The policy's channels with a contact cap, and each account's touches on them before as-of.
        self.capped = {name: rule for name, rule in channels.items() if rule.max_per_30d is not None}
        self.touches = {ch: state[TOUCH_COUNT_PREFIX + ch].to_numpy(dtype=np.int64)
                        for ch in self.capped if TOUCH_COUNT_PREFIX + ch in state}
        #: The rules, each account's latest touches per capped channel (``latest_contacts``) and
        #: its last order before as-of: what :meth:`free_day` needs.
        self.policy = policy if policy is not None else Policy(channels=dict(channels))
        self.latest = latest or {}
        days = state["days_since_last_order"].to_numpy(dtype=np.float64) if "days_since_last_order" in state \
            else np.full(len(self.accounts), np.nan)
        self.last_order = pd.DatetimeIndex(self.as_of - pd.to_timedelta(days, unit="D"))

    def _index_candidates(self, candidates: pd.DataFrame, scorer: Scorer | None) -> None:
        """Hold ``candidates`` (rows as ``score_dataset`` returns them) as the ranked rows of each
        account, and nothing built from earlier ones."""
        n = len(self.accounts)
        rows, pos = self._candidate_rows(candidates)
        start = np.searchsorted(pos, np.arange(n), side="left")
        end = np.searchsorted(pos, np.arange(n), side="right")
        # The probability of each account's decision: its first candidate's propensity.
        propensity = np.full(n, PROPENSITY)
        first = start[start < end]
        propensity[pos[first]] = rows.pop("_propensity")[first]
        self._table = _Table(propensity=propensity, start=start, end=end, **rows)
        self._scorer = scorer
        self._scoring = threading.Lock()
        #: Suggestions built so far, by (candidate row, rank shown at).
        self._records: dict[tuple[int, int], Suggestion] = {}
        self._freeze_at = FREEZE_EVERY_RECORDS
        #: Accounts scored on demand since start (the file missed them).
        self.scored_on_demand = 0

    def with_candidates(self, candidates: pd.DataFrame, *, model_version: str) -> SuggestionService:
        """The service of another model over the same accounts, as-of, policy and contact state:
        ``candidates`` (rows as ``score_dataset`` returns them, e.g. another model's batch scores)
        indexed anew, everything that does not depend on the model shared with this service.
        Accounts ``candidates`` miss get no suggestions (there is no scorer)."""
        service = copy.copy(self)
        service.model_version = model_version
        service._index_candidates(candidates, scorer=None)
        return service

    def _candidate_rows(self, candidates: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray]:
        """The row arrays of ``candidates`` (accounts of this snapshot only), sorted by account
        position and rank, and the account position of each row."""
        cand = candidates.loc[candidates["account_id"].astype(str).isin(self.accounts)]
        pos = self.accounts.get_indexer(cand["account_id"].astype(str))
        order = np.lexsort((cand["rank"].to_numpy(), pos))
        cand = cand.iloc[order].reset_index(drop=True)
        cols: dict[str, np.ndarray] = {
            name: shared_strings(cand[name]) for name in
            ("channel", "offer_id", "executed_by", "reasons", "category", "offer_name")
        }
        cols["account_id"] = shared_strings(cand["account_id"].astype(str))
        codes = cand[REASON_CODES] if REASON_CODES in cand else pd.Series(None, index=cand.index, dtype=object)
        cols[REASON_CODES] = none_if_na(shared_strings(codes))
        for name in ("offer_id", "executed_by", "offer_name"):
            cols[name] = none_if_na(cols[name])
        for name in ("discount_pct", "p_convert", "p_convert_baseline", "expected_incremental_margin"):
            cols[name] = cand[name].to_numpy(dtype=np.float64)
        explored = cand["explored"] if "explored" in cand else pd.Series(False, index=cand.index)
        cols["explored"] = explored.fillna(False).to_numpy(dtype=bool)
        later = cand[LATER] if LATER in cand else pd.Series(False, index=cand.index)
        cols[LATER] = later.fillna(False).to_numpy(dtype=bool)
        cols["suggestion_id"] = np.array(suggestion_ids(
            self.model_version, self.as_of, cols["account_id"], cols["channel"], cols["offer_id"],
            cols["discount_pct"]), dtype=object)
        channel = cand["channel"].astype(str)
        offer = cand["offer_id"].astype(object).where(cand["offer_id"].notna(), "")
        account = pd.Series(cols["account_id"], index=cand.index)
        given = cand["propensity"].to_numpy(dtype=np.float64) if "propensity" in cand \
            else np.full(len(cand), np.nan)
        rows: dict[str, Any] = {
            "cols": cols,
            "account_pos": pos[order],
            "key_offer": (account + _SEP + channel + _SEP + offer.astype(str)).to_numpy(dtype=object),
            "key_channel": (account + _SEP + channel).to_numpy(dtype=object),
            "is_none": (channel == NONE_CHANNEL).to_numpy(dtype=np.float64),
            "_propensity": np.where(np.isnan(given), PROPENSITY, given),
        }
        return rows, pos[order]

    @classmethod
    def build(cls, dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
              model_version: str, candidates: int = 20, explain_depth: int = 3, explore: float = 0.0,
              seed: int | None = None, later_days: int = 0) -> SuggestionService:
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
        recs = with_later(recs, dataset, as_of, pipeline, contact, later_days, model_version=model_version,
                          candidates=candidates, explain_depth=explain_depth)
        return cls(recs, contact, dataset.policy.channels, model_version=model_version, as_of=as_of,
                   policy=dataset.policy, latest=latest_contacts(dataset.before(as_of), as_of))

    @classmethod
    def from_scores(cls, scores: pd.DataFrame, dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline,
                    *, model_version: str, candidates: int = 20, explain_depth: int = 3, explore: float = 0.0,
                    seed: int | None = None) -> SuggestionService:
        """The service over batch scores already written (``scores``: rows as ``score_dataset``
        returns them, for the same model, data and as-of); accounts they miss are scored with
        ``pipeline`` the first time they are asked for (:func:`score_accounts`)."""
        as_of = pd.Timestamp(as_of)
        contact = contact_state(dataset.before(as_of), as_of)
        known = pd.Index(scores["account_id"].astype(str).unique())
        scorer = None
        if not contact.index.astype(str).isin(known).all():
            def scorer(account_ids: list[str]) -> pd.DataFrame:
                return score_accounts(dataset, account_ids, as_of, pipeline, model_version=model_version,
                                      candidates=candidates, explain_depth=explain_depth, explore=explore,
                                      seed=seed)
        # Later rows only as the file brings them (``recommend --later-days``): serving a scores
        # file scores nothing at start.
        return cls(scores, contact, dataset.policy.channels, model_version=model_version, as_of=as_of,
                   scorer=scorer, policy=dataset.policy, latest=latest_contacts(dataset.before(as_of), as_of))

    @property
    def cols(self) -> dict[str, np.ndarray]:
        """Column arrays of every candidate row held now (rows grouped by account, best first)."""
        return self._table.cols

    @property
    def account_pos(self) -> np.ndarray:
        """Account position of every candidate row held now."""
        return self._table.account_pos

    @property
    def propensity(self) -> np.ndarray:
        """Each account's probability of its first suggestion (1 without exploration)."""
        return self._table.propensity

    @property
    def first_rows(self) -> np.ndarray:
        """Row of each account's first candidate (the next row's start for an account not scored yet)."""
        return self._table.start

    @property
    def unscored(self) -> int:
        """How many accounts have no candidates yet (they are scored when first asked for)."""
        table = self._table
        return int((table.start >= table.end).sum()) if self._scorer is not None else 0

    def ensure_scored(self, positions: np.ndarray) -> None:
        """Score the accounts at ``positions`` that have no candidates yet (with the scorer; a
        no-op without one). One scoring at a time; requests for other accounts keep being served."""
        if self._scorer is None:
            return
        positions = np.asarray(positions, dtype=np.int64)
        table = self._table
        if not (table.start[positions] >= table.end[positions]).any():
            return
        with self._scoring:
            table = self._table
            missing = np.unique(positions[table.start[positions] >= table.end[positions]])
            if not len(missing):
                return
            ids = self.account_ids[missing].astype(str).tolist()
            found = self._scorer(ids)
            rows, pos = self._candidate_rows(found)
            if not len(pos):
                raise RuntimeError(f"scoring accounts {ids[:5]} on demand returned no suggestions")
            self._table = _appended(table, rows, pos)
            self.scored_on_demand += len(np.unique(pos))

    def score_all(self) -> None:
        """Score every account not scored yet, in one pass (for readers of all candidates at once)."""
        self.ensure_scored(np.arange(len(self.accounts)))

    def position(self, account_id: str) -> int:
        """Position of ``account_id`` in the snapshot, -1 when unknown."""
        return self._positions.get(account_id, -1)

    def candidate_rows(self, account_id: str) -> list[int]:
        """Row positions of the account's candidates held now, best first (empty when unknown);
        without the rows of actions possible only later."""
        pos = self.position(account_id)
        if pos < 0:
            return []
        table = self._table
        later = table.cols[LATER]
        return [r for r in range(int(table.start[pos]), int(table.end[pos])) if not later[r]]

    def reason_codes(self, account_id: str) -> dict[str, str]:
        """suggestion_id -> reasons as JSON data (``features.reason_texts``) of the account's
        candidates that carry them."""
        pos = self.position(account_id)
        if pos < 0:
            return {}
        table = self._table
        rows = range(table.start[pos], table.end[pos])
        codes, ids = table.cols[REASON_CODES], table.cols["suggestion_id"]
        return {ids[r]: codes[r] for r in rows if isinstance(codes[r], str)}

    def pick(self, positions: np.ndarray, k: int, effects: FeedbackEffects, later: bool = False) -> Shown:
        """The first ``k`` suggestions of each account at ``positions`` (distinct) after feedback,
        grouped by account in the order of ``positions``, best first. ``later``: also the rows
        of actions that become possible later, and actions whose contact cap the feedback used up
        (the caller asks :meth:`free_day` when each is possible)."""
        positions = np.asarray(positions, dtype=np.int64)
        self.ensure_scored(positions)
        table = self._table
        if len(positions) == 1:
            return self._pick_one(table, int(positions[0]), k, effects, later)
        starts, ends = table.start[positions], table.end[positions]
        rows = _concat_ranges(starts, ends)
        group = np.repeat(np.arange(len(positions)), ends - starts)  # index into positions
        keep = self._allowed(table, rows, effects, later)
        rows, group = rows[keep], group[keep]
        # Rank within account after filtering (rows come grouped by account, in rank order).
        first = np.concatenate([[True], group[1:] != group[:-1]]) if len(group) else np.zeros(0, dtype=bool)
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(group)), 0)) if len(group) else group
        ranks = np.arange(len(group)) - group_start + 1
        top = ranks <= k
        rows, group, ranks = rows[top], group[top], ranks[top]
        # Accounts with fewer than k left and no `none` among them get a `none` appended.
        counts = np.bincount(group, minlength=len(positions))
        has_none = np.bincount(group, weights=table.is_none[rows], minlength=len(positions)) > 0
        need = np.flatnonzero((counts < k) & ~has_none)
        rows = np.concatenate([rows, np.full(len(need), -1, dtype=np.int64)])
        group = np.concatenate([group, need])
        ranks = np.concatenate([ranks, counts[need] + 1])
        order = np.lexsort((ranks, group))
        return Shown(rows[order], positions[group[order]], ranks[order].astype(np.int64))

    def _pick_one(self, table: _Table, pos: int, k: int, effects: FeedbackEffects, later: bool = False) -> Shown:
        """:meth:`pick` for one account (the account endpoint's case): the same answer, with plain
        Python over its few rows instead of a dozen array operations."""
        rows = list(range(int(table.start[pos]), int(table.end[pos])))
        if rows and (effects.suppressed or effects.contacts or table.cols[LATER][rows[-1]]):
            keep = self._allowed(table, np.asarray(rows, dtype=np.int64), effects, later).tolist()
            rows = [r for r, ok in zip(rows, keep, strict=True) if ok]
        rows = rows[:k]
        if len(rows) < k and not any(table.is_none[r] for r in rows):
            rows.append(-1)
        n = len(rows)
        return Shown(np.asarray(rows, dtype=np.int64), np.full(n, pos, dtype=np.int64),
                     np.arange(1, n + 1, dtype=np.int64))

    def _allowed(self, table: _Table, rows: np.ndarray, effects: FeedbackEffects, later: bool = False) -> np.ndarray:
        keep = np.ones(len(rows), dtype=bool)
        if not len(rows):
            return keep
        if not later:
            keep &= ~table.cols[LATER][rows]
        if effects.suppressed:
            keys = [_SEP.join([a, c, o or ""]) for a, c, o in effects.suppressed]
            keep &= ~pd.Index(table.key_offer[rows]).isin(keys)
        if effects.contacts and not later:
            capped = []
            for (account, channel), used in effects.contacts.items():
                rule = self.capped.get(channel)
                pos = self.position(account)
                if rule is None or pos < 0 or channel not in self.touches:
                    continue
                if rule.cap_reached(self.touches[channel][pos] + used):
                    capped.append(account + _SEP + channel)
            if capped:
                keep &= ~pd.Index(table.key_channel[rows]).isin(capped)
        return keep

    def free_day(self, pos: int, channel: str, effects: FeedbackEffects,
                 suggestion_id: str | None = None) -> tuple[pd.Timestamp | None, str | None]:
        """When the contact cap and the quiet days first allow ``channel`` for the account at
        ``pos``, counting its touches before as-of and the rep actions accepted or done in
        ``effects`` as contacts (but not ``suggestion_id`` itself while only accepted: the
        planned contact does not hold itself back): (as-of, None) when now; (a later day,
        "contact_cap" or "quiet_period", whichever ends last); (None, "contact_cap") when never
        (a cap of 0)."""
        rule = self.policy.channels.get(channel)
        if rule is None or channel == NONE_CHANNEL:
            return self.as_of, None
        account = str(self.account_ids[pos])
        known = self.latest[channel][pos] if channel in self.latest else np.zeros(0, dtype="datetime64[ns]")
        reported = np.array([at for at, sid in effects.contact_times.get((account, channel), ())
                             if not (sid == suggestion_id and sid in effects.planned)], dtype="datetime64[ns]")
        capped = rule.free_from(np.concatenate([known, reported]), self.as_of)
        if capped is None:
            return None, "contact_cap"
        quiet = self.policy.quiet_until(self.last_order[pos], self.as_of)
        if capped <= self.as_of and quiet <= self.as_of:
            return self.as_of, None
        return (capped, "contact_cap") if capped >= quiet else (quiet, "quiet_period")

    def best_value(self, shown: Shown, positions: np.ndarray) -> np.ndarray:
        """Rank-1 expected incremental margin of each account at ``positions`` (0 for ``none``)."""
        first = shown.ranks == 1
        value = np.where(shown.rows[first] >= 0,
                         self._table.cols["expected_incremental_margin"][np.maximum(shown.rows[first], 0)], 0.0)
        return pd.Series(value, index=shown.accounts[first]).reindex(positions, fill_value=0.0).to_numpy()

    def records(self, shown: Shown) -> list[Suggestion]:
        """The shown suggestions, grouped by account, best first.

        A candidate row shown at a rank is the same value every time (rows are never changed,
        only appended), so it is built once and kept.

        Each time :data:`FREEZE_EVERY_RECORDS` more records are kept, every object alive is moved
        out of the cyclic garbage collector's view (``gc.freeze``, as the snapshot's are at load):
        a full collection visits every field of every record it tracks, and with tens of
        thousands of records kept it paused all requests for 20-50 ms every 1-2 s under load.
        Reference counting still frees them when dropped; a reference cycle among the objects the
        requests in flight hold at that moment stays until the next full
        ``serving.runtime.settle_heap`` (a reload)."""
        table, kept = self._table, self._records
        out = []
        for row, pos, rank in zip(shown.rows.tolist(), shown.accounts.tolist(), shown.ranks.tolist(), strict=True):
            record = kept.get((row, rank)) if row >= 0 else None
            if record is None:
                record = self._record(table, row, pos, rank)
                if row >= 0:
                    if len(kept) >= MAX_KEPT_RECORDS:
                        kept.clear()
                        self._freeze_at = FREEZE_EVERY_RECORDS
                    kept[(row, rank)] = record
            out.append(record)
        if len(kept) >= self._freeze_at:
            self._freeze_at = len(kept) + FREEZE_EVERY_RECORDS
            gc.freeze()
        return out

    def candidate(self, account_id: str, suggestion_id: str) -> Suggestion | None:
        """The snapshot's candidate ``suggestion_id`` of ``account_id`` (rank 1), None when it has none."""
        pos = self.position(account_id)
        if pos < 0:
            return None
        self.ensure_scored(np.array([pos]))
        table = self._table
        rows = np.arange(table.start[pos], table.end[pos])
        hits = rows[table.cols["suggestion_id"][rows] == suggestion_id]
        return self._record(table, int(hits[0]), pos, 1) if len(hits) else None

    def _record(self, table: _Table, row: int, pos: int, rank: int) -> Suggestion:
        account = str(self.account_ids[pos])
        propensity = float(table.propensity[pos])
        if row < 0:
            baseline = _baseline(table, pos)
            return Suggestion(
                suggestion_id=suggestion_id(self.model_version, self.as_of, account, NONE_CHANNEL, None, 0.0),
                account_id=account, rank=rank, channel=NONE_CHANNEL, offer_id=None, discount_pct=0.0,
                p_convert=baseline, p_convert_baseline=baseline, expected_incremental_margin=0.0,
                executed_by=None, reasons=(NO_FURTHER_ACTION,), propensity=propensity)
        c = table.cols
        return Suggestion(
            suggestion_id=c["suggestion_id"][row], account_id=account, rank=rank, channel=c["channel"][row],
            offer_id=c["offer_id"][row], discount_pct=float(c["discount_pct"][row]),
            p_convert=float(c["p_convert"][row]), p_convert_baseline=float(c["p_convert_baseline"][row]),
            expected_incremental_margin=float(c["expected_incremental_margin"][row]),
            executed_by=c["executed_by"][row], reasons=split_reasons(c["reasons"][row]),
            offer_name=c["offer_name"][row], category=c["category"][row], propensity=propensity,
            explored=bool(c["explored"][row]))


def score_accounts(dataset: Dataset, account_ids: list[str], as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
                   model_version: str, candidates: int = 20, explain_depth: int = 3, explore: float = 0.0,
                   seed: int | None = None) -> pd.DataFrame:
    """Candidate rows of the accounts ``account_ids`` alone, as scoring the whole data set gives
    them (an account's features come from its own rows, offers and policy)."""
    wanted = pd.Index(account_ids, dtype=object)
    tables = {name: frame.loc[frame["account_id"].astype(str).isin(wanted)].reset_index(drop=True)
              for name, frame in (("accounts", dataset.accounts), ("orders", dataset.orders),
                                  ("touches", dataset.touches), ("web_events", dataset.web_events))}
    return score_dataset(replace(dataset, **tables), pd.Timestamp(as_of), pipeline, top_k=candidates,
                         model_version=model_version, explain=explain_depth > 0, explain_depth=explain_depth,
                         reason_codes=True, explore_epsilon=explore, seed=seed)


def with_later(rows: pd.DataFrame, dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline,
               contact: pd.DataFrame, later_days: int, *, model_version: str, candidates: int = 20,
               explain_depth: int = 3) -> pd.DataFrame:
    """The candidate ``rows`` with, after each account's rows, its :func:`later_rows`."""
    later = later_rows(dataset, as_of, pipeline, contact, later_days, model_version=model_version,
                       candidates=candidates, explain_depth=explain_depth)
    return rows if later.empty else pd.concat([rows.assign(**{LATER: False}), later], ignore_index=True)


def later_rows(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, contact: pd.DataFrame,
               later_days: int, *, model_version: str, candidates: int = 20, explain_depth: int = 3) -> pd.DataFrame:
    """The rep actions (rank + :data:`LATER_RANK`, column ``later`` true) that the contact caps or
    the quiet days block at ``as_of`` but allow within ``later_days`` days (scored at ``as_of``,
    eligible as on that day: ``score_dataset(eligible_on=...)``); only accounts of ``contact``
    (their contact state now). Empty when there are none."""
    none = pd.DataFrame()
    if later_days <= 0 or not len(contact):
        return none
    day = as_of.normalize() + pd.Timedelta(days=later_days)
    then = contact_state_on(dataset, as_of, day).reindex(contact.index)
    quiet_now = contact["in_quiet_period"].to_numpy(dtype=bool)
    quiet_then = then["in_quiet_period"].to_numpy(dtype=bool)
    reachable = ~contact["do_not_contact"].to_numpy(dtype=bool)
    opening: dict[str, np.ndarray] = {}  # rep channel -> accounts blocked now, allowed on ``day``
    for channel, rule in dataset.policy.channels.items():
        column = TOUCH_COUNT_PREFIX + channel
        if rule.executed_by != "rep" or column not in contact:
            continue
        now = rule.cap_reached(contact[column].to_numpy()) | quiet_now
        opening[channel] = now & ~rule.cap_reached(then[column].to_numpy()) & ~quiet_then & reachable
    if not any(o.any() for o in opening.values()):
        return none
    accounts = contact.index[np.logical_or.reduce(list(opening.values()))]
    recs = score_dataset(restrict_accounts(dataset, accounts), as_of, pipeline, top_k=candidates,
                         model_version=model_version, explain=explain_depth > 0, explain_depth=explain_depth,
                         reason_codes=True, eligible_on=day)
    pairs = {(str(a), channel) for channel, o in opening.items() for a in contact.index[o]}
    keys = zip(recs["account_id"].astype(str), recs["channel"].astype(str), strict=True)
    recs = recs.loc[np.array([key in pairs for key in keys], dtype=bool)].copy()
    if recs.empty:
        return none
    recs["rank"] = recs["rank"] + LATER_RANK
    recs[LATER] = True
    recs["propensity"] = np.nan
    recs["explored"] = False
    return recs.reset_index(drop=True)


def _baseline(table: _Table, pos: int) -> float:
    start = table.start[pos]
    if start < table.end[pos]:
        return float(table.cols["p_convert_baseline"][start])
    return 0.0


def _appended(table: _Table, rows: dict[str, Any], pos: np.ndarray) -> _Table:
    """``table`` with the rows of newly scored accounts (at positions ``pos``, sorted) after its own."""
    offset = table.rows
    cols = {name: np.concatenate([table.cols[name], rows["cols"][name]]) for name in table.cols}
    accounts, first = np.unique(pos, return_index=True)
    counts = np.diff(np.append(first, len(pos)))
    start, end, propensity = table.start.copy(), table.end.copy(), table.propensity.copy()
    start[accounts] = offset + first
    end[accounts] = offset + first + counts
    propensity[accounts] = rows["_propensity"][first]
    return _Table(cols=cols, account_pos=np.concatenate([table.account_pos, rows["account_pos"]]),
                  key_offer=np.concatenate([table.key_offer, rows["key_offer"]]),
                  key_channel=np.concatenate([table.key_channel, rows["key_channel"]]),
                  is_none=np.concatenate([table.is_none, rows["is_none"]]),
                  start=start, end=end, propensity=propensity)


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
