"""Portfolio optimization: at most one action per account, maximizing total expected incremental
margin under channel and total budgets, offer volume limits, rep weekly capacity and an audience cap.

The exact method is a mixed-integer program solved by HiGHS (``scipy.optimize.milp``) with one
binary per (account, action) pair; beyond ``max_milp_pairs`` pairs (or when the solver returns no
usable solution) a greedy pass takes pairs by value while every limit still holds. The result says
which method ran, why, and the MILP's relative gap to its dual bound.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

#: Above this many pairs (after pruning) the greedy pass is used instead of the MILP.
MAX_MILP_PAIRS = 400_000
DEFAULT_TIME_LIMIT = 30.0
DEFAULT_MIP_REL_GAP = 1e-3
_FEASIBILITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PortfolioLimits:
    """The limits a campaign must respect (None / absent = unlimited).

    ``rep_capacity`` is each rep's weekly capacity for rep-executed actions; reps not listed get
    ``default_rep_capacity`` (the contract's default of 25). ``offer_limits`` caps the accounts one
    offer may go to; ``channel_budgets`` and ``total_budget`` cap the summed contact cost.
    """

    total_budget: float | None = None
    channel_budgets: Mapping[str, float] = field(default_factory=dict)
    offer_limits: Mapping[str, int] = field(default_factory=dict)
    rep_capacity: Mapping[str, int] = field(default_factory=dict)
    default_rep_capacity: int = 25
    max_accounts: int | None = None

    def __post_init__(self) -> None:
        checks = [("total_budget", self.total_budget), ("max_accounts", self.max_accounts),
                  ("default_rep_capacity", self.default_rep_capacity),
                  *((f"channel_budgets[{k}]", v) for k, v in self.channel_budgets.items()),
                  *((f"offer_limits[{k}]", v) for k, v in self.offer_limits.items()),
                  *((f"rep_capacity[{k}]", v) for k, v in self.rep_capacity.items())]
        for name, value in checks:
            if value is not None and not (np.isfinite(float(value)) and float(value) >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")


@dataclass(frozen=True)
class Portfolio:
    """The chosen pairs (indices into the candidates) and how they were found."""

    chosen: np.ndarray
    method: str              # "milp" or "greedy"
    reason: str              # why this method
    objective: float         # total expected incremental margin of the chosen pairs
    dual_bound: float | None  # MILP upper bound on the objective (None for greedy)
    gap: float | None        # MILP relative gap (dual_bound - objective) / |objective|
    status: str
    seconds: float
    pairs: int               # pairs given to the solver after pruning dominated ones


@dataclass(frozen=True)
class Resources:
    """What each pair uses (sparse rows x pairs) and how much of each row is available."""

    matrix: sparse.csr_matrix
    upper: np.ndarray
    labels: list[str]


def prune_dominated(candidates: pd.DataFrame, limits: PortfolioLimits) -> np.ndarray:
    """Indices (sorted) of the pairs worth offering the solver.

    A pair is dropped when another pair of the same account is worth at least as much and uses no
    more of any limit (contact cost toward each budget that applies, the offer's volume limit, rep
    capacity). Any solution using the dropped pair stays feasible and gets no worse with the other
    one instead, so the optimum is unchanged. Ties keep the earlier pair."""
    usage = _usage(candidates, limits)
    value = candidates["expected_incremental_margin"].to_numpy(dtype=np.float64)
    account = pd.factorize(candidates["account_id"].astype(str))[0]
    n = len(candidates)
    # Identical usage: keep the most valuable pair (a cheap pre-pass that removes most pairs).
    key = pd.DataFrame(usage).assign(_account=account)
    order = np.lexsort((np.arange(n), -value))
    first = ~key.iloc[order].duplicated().to_numpy()
    kept = np.sort(order[first])
    # Remaining pairs: compare every two pairs of an account.
    frame = pd.DataFrame({"account": account[kept], "p": kept})
    both = frame.merge(frame.rename(columns={"p": "q"}), on="account")
    both = both[both["p"] != both["q"]]
    p, q = both["p"].to_numpy(), both["q"].to_numpy()
    better = (value[q] > value[p]) | ((value[q] == value[p]) & (q < p))
    dominated = better & np.all(usage[q] <= usage[p] + _FEASIBILITY_TOLERANCE, axis=1)
    return np.setdiff1d(kept, p[dominated])


def _usage(candidates: pd.DataFrame, limits: PortfolioLimits) -> np.ndarray:
    """(pairs, limits) how much of each limit a pair uses (the per-account and audience rows aside,
    which every pair uses once)."""
    cost = candidates["cost"].to_numpy(dtype=np.float64)
    channel = candidates["channel"].astype(str).to_numpy()
    offer = candidates["offer_id"].astype(str).to_numpy()
    columns = [cost if limits.total_budget is not None else np.zeros(len(cost))]
    columns += [np.where(channel == name, cost, 0.0) for name in sorted(limits.channel_budgets)]
    columns += [(offer == name).astype(np.float64) for name in sorted(limits.offer_limits)]
    columns.append(((candidates["executed_by"] == "rep").to_numpy() & candidates["rep_id"].notna().to_numpy())
                   .astype(np.float64))
    return np.column_stack(columns)


def build_resources(candidates: pd.DataFrame, limits: PortfolioLimits) -> Resources:
    """One row per account with several pairs (at most one action), per budget, per limited offer, per rep with
    rep-executed pairs, and the audience cap."""
    n = len(candidates)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[float] = []
    labels: list[str] = []
    pair = np.arange(n)

    def add(block_rows: np.ndarray, block_cols: np.ndarray, block_vals: np.ndarray,
            block_upper: list[float], block_labels: list[str]) -> None:
        rows.append(block_rows + len(upper))
        cols.append(block_cols)
        vals.append(block_vals)
        upper.extend(block_upper)
        labels.extend(block_labels)

    account_codes, accounts = pd.factorize(candidates["account_id"].astype(str))
    # An account with a single pair needs no row: the pair's bound 0..1 already says "at most once".
    several = np.bincount(account_codes, minlength=len(accounts)) > 1
    row_of = np.cumsum(several) - 1
    hit = np.flatnonzero(several[account_codes])
    add(row_of[account_codes[hit]], hit, np.ones(len(hit)), [1.0] * int(several.sum()),
        [f"account {a}" for a in accounts[several]])
    cost = candidates["cost"].to_numpy(dtype=np.float64)
    if limits.total_budget is not None:
        add(np.zeros(n, dtype=np.int64), pair, cost, [float(limits.total_budget)], ["total budget"])
    channel = candidates["channel"].astype(str).to_numpy()
    for name, budget in sorted(limits.channel_budgets.items()):
        hit = np.flatnonzero(channel == name)
        add(np.zeros(len(hit), dtype=np.int64), hit, cost[hit], [float(budget)], [f"budget {name}"])
    offer = candidates["offer_id"].astype(str).to_numpy()
    for name, limit in sorted(limits.offer_limits.items()):
        hit = np.flatnonzero(offer == name)
        add(np.zeros(len(hit), dtype=np.int64), hit, np.ones(len(hit)), [float(limit)], [f"offer {name}"])
    by_rep = (candidates["executed_by"] == "rep").to_numpy() & candidates["rep_id"].notna().to_numpy()
    rep_rows = np.flatnonzero(by_rep)
    if len(rep_rows):
        rep_codes, reps = pd.factorize(candidates["rep_id"].astype(str).to_numpy()[rep_rows])
        add(rep_codes, rep_rows, np.ones(len(rep_rows)),
            [float(limits.rep_capacity.get(r, limits.default_rep_capacity)) for r in reps],
            [f"rep {r} capacity" for r in reps])
    if limits.max_accounts is not None:
        add(np.zeros(n, dtype=np.int64), pair, np.ones(n), [float(limits.max_accounts)], ["max accounts"])
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(len(upper), n))
    return Resources(matrix, np.asarray(upper, dtype=np.float64), labels)


def optimize_portfolio(candidates: pd.DataFrame, limits: PortfolioLimits, *, method: str = "auto",
                       max_milp_pairs: int = MAX_MILP_PAIRS, time_limit: float = DEFAULT_TIME_LIMIT,
                       mip_rel_gap: float = DEFAULT_MIP_REL_GAP) -> Portfolio:
    """Choose at most one pair per account maximizing the summed ``expected_incremental_margin``.

    ``method``: "auto" (MILP up to ``max_milp_pairs`` pairs after pruning, else greedy), "milp" or
    "greedy". Only pairs with a positive value are considered.
    """
    if method not in ("auto", "milp", "greedy"):
        raise ValueError(f"method must be 'auto', 'milp' or 'greedy', got {method!r}")
    started = time.perf_counter()
    positive = np.flatnonzero(candidates["expected_incremental_margin"].to_numpy(dtype=np.float64) > 0)
    kept = positive[prune_dominated(candidates.iloc[positive].reset_index(drop=True), limits)]
    subset = candidates.iloc[kept].reset_index(drop=True)
    resources = build_resources(subset, limits)
    value = subset["expected_incremental_margin"].to_numpy(dtype=np.float64)
    if method == "greedy":
        reason = "greedy requested"
    elif len(kept) > max_milp_pairs:
        reason = f"{len(kept):,} pairs exceed the MILP size limit of {max_milp_pairs:,}"
    else:
        solved = _solve_milp(value, resources, time_limit, mip_rel_gap)
        if solved.chosen is not None:
            chosen = solved.chosen
            objective = float(value[chosen].sum())
            bound = solved.dual_bound if solved.dual_bound is not None else objective
            gap = (bound - objective) / max(abs(objective), 1e-9) if solved.dual_bound is not None else None
            return Portfolio(kept[chosen], "milp", "exact MILP (HiGHS)", objective, bound,
                             max(gap, 0.0) if gap is not None else None, solved.status,
                             time.perf_counter() - started, len(kept))
        if method == "milp":
            raise RuntimeError(f"MILP returned no usable solution ({solved.status})")
        reason = f"MILP returned no usable solution ({solved.status})"
    chosen = greedy_select(value, resources)
    return Portfolio(kept[chosen], "greedy", reason, float(value[chosen].sum()), None, None, "greedy",
                     time.perf_counter() - started, len(kept))


@dataclass(frozen=True)
class _Solved:
    chosen: np.ndarray | None
    dual_bound: float | None
    status: str


def _solve_milp(value: np.ndarray, resources: Resources, time_limit: float, mip_rel_gap: float) -> _Solved:
    n = len(value)
    if n == 0:
        return _Solved(np.zeros(0, dtype=np.int64), 0.0, "no pairs")
    constraint = LinearConstraint(resources.matrix, -np.inf, resources.upper)
    result = milp(-value, constraints=constraint, integrality=np.ones(n), bounds=Bounds(0, 1),
                  # HiGHS' presolve took minutes on 20,000-account budget problems and ignored the
                  # time limit; without it the same problems solve in seconds.
                  options={"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap),
                           "disp": False, "presolve": False})
    status = str(result.message)
    if result.x is None:
        return _Solved(None, None, status)
    chosen = np.flatnonzero(np.round(result.x) > 0.5)
    x = np.zeros(n)
    x[chosen] = 1.0
    if np.any(resources.matrix @ x > resources.upper + _FEASIBILITY_TOLERANCE):
        return _Solved(None, None, f"{status}; rounded solution breaks a limit")
    dual = getattr(result, "mip_dual_bound", None)
    dual_bound = -float(dual) if dual is not None and np.isfinite(dual) else None
    return _Solved(chosen, dual_bound, status)


def greedy_select(value: np.ndarray, resources: Resources) -> np.ndarray:
    """Pairs by decreasing value, each taken while every row still has room (indices, sorted)."""
    csc = resources.matrix.tocsc()
    room = resources.upper.astype(np.float64).copy()
    indptr, indices, data = csc.indptr, csc.indices, csc.data
    taken = []
    for j in np.argsort(-value, kind="mergesort").tolist():
        if value[j] <= 0:
            break
        rows = indices[indptr[j]:indptr[j + 1]]
        use = data[indptr[j]:indptr[j + 1]]
        if np.all(room[rows] >= use - _FEASIBILITY_TOLERANCE):
            room[rows] -= use
            taken.append(j)
    return np.sort(np.asarray(taken, dtype=np.int64))


def first_choice_only(candidates: pd.DataFrame) -> np.ndarray:
    """Indices of each account's most valuable pair (the per-account ranking's rank 1)."""
    value = candidates["expected_incremental_margin"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame({"account": candidates["account_id"].astype(str).to_numpy(), "value": value})
    order = frame.sort_values("value", ascending=False, kind="mergesort").index
    first = ~frame.loc[order].duplicated("account")
    return np.sort(order[first.to_numpy()].to_numpy())
