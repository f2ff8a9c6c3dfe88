"""Campaign planning at scale: time to plan, and MILP vs greedy under the same limits.

    python benchmarks/campaign_plan.py --data DIR [--truth FILE] [--as-of 2025-07-01]
        [--budget 3000] [--channel-budget email=800 ...] [--max-accounts 8000]

Uses the registered model (champion, else latest) of ``SYMBIOSE_HOME`` trained on ``DIR``. Prints
two tables: the steps of one plan with their seconds, and the portfolio each method picks under
the same limits (reps' weekly_capacity from the data, the budgets and audience cap given here):
the exact MILP (HiGHS), the greedy pass over all pairs (the fallback), and per-account greedy
ranking (each account's best action, accounts by value, taken while the limits allow). With
``--truth`` (the generator's truth file) each portfolio is also valued with the true expected
incremental margin of its actions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import table_text  # noqa: E402
from features.actions import action_space, contact_state, eligible_mask  # noqa: E402
from features.loading import load_dataset  # noqa: E402
from models.campaigns.candidates import candidates_from_recommendations, score_recommendations  # noqa: E402
from models.campaigns.holdout import assign_holdout  # noqa: E402
from models.campaigns.plan import limits_from_dataset  # noqa: E402
from models.campaigns.portfolio import (  # noqa: E402
    build_resources,
    first_choice_only,
    greedy_select,
    optimize_portfolio,
)
from models.recommend import load_model  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--as-of", default="2025-07-01")
    parser.add_argument("--budget", type=float, default=3000.0)
    parser.add_argument("--channel-budget", action="append", default=["email=800"])
    parser.add_argument("--max-accounts", type=int, default=8000)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--train", action="store_true",
                        help="train a pipeline in-process on --data instead of loading the registered one "
                             "(training time is not part of the plan)")
    parser.add_argument("--values", choices=["model", "truth"], default="model",
                        help="value the pairs with the registered model (default) or, to time the "
                             "optimizer alone, with the truth file's true values")
    args = parser.parse_args(argv)
    if args.values == "truth" and args.truth is None:
        parser.error("--values truth needs --truth")
    as_of = pd.Timestamp(args.as_of)
    budgets = {k: float(v) for k, v in (item.split("=", 1) for item in args.channel_budget)}

    steps = []
    started = time.perf_counter()
    dataset = load_dataset(args.data)
    if args.values == "model" and args.train:
        from models.training import train_pipeline

        steps.append(("load data", time.perf_counter() - started))
        t0 = time.perf_counter()
        pipeline, version = train_pipeline(dataset, as_of).pipeline, "trained in-process"
        steps.append(("train (not part of planning)", time.perf_counter() - t0))
    else:
        if args.values == "model":
            pipeline, version = load_model(None)
        steps.append(("load data and model", time.perf_counter() - started))

    t0 = time.perf_counter()
    if args.values == "model":
        recs = score_recommendations(dataset, as_of, pipeline, model_version=version)
        steps.append(("score every eligible action of every account", time.perf_counter() - t0))
    else:
        recs = truth_recommendations(args.truth, dataset)
        steps.append(("read true values of every eligible action", time.perf_counter() - t0))
    t0 = time.perf_counter()
    candidates = candidates_from_recommendations(recs, dataset.accounts, dataset.policy)
    limits = limits_from_dataset(dataset, total_budget=args.budget, channel_budgets=budgets,
                                 max_accounts=args.max_accounts)
    steps.append(("candidate pairs and limits", time.perf_counter() - t0))
    t0 = time.perf_counter()
    milp = optimize_portfolio(candidates, limits, time_limit=args.time_limit)
    steps.append((f"optimize ({milp.method}, {milp.pairs:,} pairs)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    chosen = candidates.iloc[milp.chosen]
    assign_holdout(chosen["region"].to_numpy(dtype=object),
                   chosen["expected_incremental_margin"].to_numpy(), 0.1, np.random.default_rng(0))
    steps.append(("stratified 10 % holdout", time.perf_counter() - t0))
    plan_seconds = sum(s for name, s in steps if not name.startswith(("load", "train")))
    steps.append(("plan total (without loading)", plan_seconds))

    data = dataset.before(as_of)
    eligible = int(eligible_mask(contact_state(data, as_of), action_space(data), data.policy).sum())
    greedy = optimize_portfolio(candidates, limits, method="greedy")
    t0 = time.perf_counter()
    first = first_choice_only(candidates)
    first_frame = candidates.iloc[first].reset_index(drop=True)
    first_taken = first[greedy_select(first_frame["expected_incremental_margin"].to_numpy(),
                                      build_resources(first_frame, limits))]
    first_seconds = time.perf_counter() - t0

    truth = _truth_values(args.truth, candidates) if args.truth else None
    rows = []
    for name, picked, seconds, gap in (("MILP (HiGHS)", milp.chosen, milp.seconds, milp.gap),
                                        ("greedy over all pairs (fallback)", greedy.chosen, greedy.seconds, None),
                                        ("per-account greedy ranking", first_taken, first_seconds, None)):
        part = candidates.iloc[picked]
        rows.append({
            "method": name, "accounts": len(part), "cost": part["cost"].sum(),
            "rep_actions": int((part["executed_by"] == "rep").sum()),
            "expected_incremental_margin": part["expected_incremental_margin"].sum(),
            "vs_per_account_ranking_pct": np.nan,
            "true_incremental_margin": truth[picked].sum() if truth is not None else np.nan,
            "mip_gap": gap if gap is not None else np.nan, "seconds": seconds})
    methods = pd.DataFrame(rows)
    base = methods.loc[2, "expected_incremental_margin"]
    methods["vs_per_account_ranking_pct"] = (methods["expected_incremental_margin"] / base - 1) * 100

    print(f"{len(dataset.accounts):,} accounts, {eligible:,} eligible (account, action) pairs, "
          f"{len(candidates):,} candidate pairs with positive value (best discount per offer and channel), "
          f"{milp.pairs:,} after pruning; limits: total budget {args.budget:g}, channel budgets {budgets}, "
          f"max accounts {args.max_accounts:,}, {len(limits.rep_capacity)} reps with weekly capacity "
          f"{sum(limits.rep_capacity.values()):,} in total; solver status: {milp.status}\n")
    print(table_text(pd.DataFrame(steps, columns=["step", "seconds"]), floatfmt=".2f"))
    print()
    print(table_text(methods, floatfmt=",.4g"))


def truth_recommendations(path: Path, dataset) -> pd.DataFrame:  # noqa: ANN001
    """Recommendation rows valued with the generator's truth: eligible pairs with a positive true
    value, best discount per account, offer and channel."""
    truth = pd.read_parquet(path)
    truth = truth.loc[truth["eligible"].astype(bool) & (truth["true_expected_incremental_margin"] > 0)]
    truth = truth.sort_values("true_expected_incremental_margin", ascending=False, kind="mergesort")
    truth = truth.drop_duplicates(["account_id", "offer_id", "channel"])
    rep = dataset.accounts.set_index("account_id")["rep_id"]
    return pd.DataFrame({
        "account_id": truth["account_id"].to_numpy(), "channel": truth["channel"].to_numpy(),
        "offer_id": truth["offer_id"].to_numpy(), "discount_pct": truth["discount_pct"].to_numpy(),
        "category": truth["category"].to_numpy(), "p_convert": truth["true_p_convert"].to_numpy(),
        "p_convert_baseline": truth["true_p_baseline"].to_numpy(),
        "expected_incremental_margin": truth["true_expected_incremental_margin"].to_numpy(),
        "executed_by": [dataset.policy.rule(c).executed_by for c in truth["channel"]],
        "rep_id": rep.reindex(truth["account_id"]).to_numpy(dtype=object)})


def _truth_values(path: Path, candidates: pd.DataFrame) -> np.ndarray:
    """The generator's true expected incremental margin of each candidate pair."""
    keys = ["account_id", "channel", "offer_id", "discount_pct"]
    truth = pd.read_parquet(path, columns=[*keys, "true_expected_incremental_margin"])
    merged = candidates[keys].merge(truth, on=keys, how="left")
    return merged["true_expected_incremental_margin"].to_numpy(dtype=np.float64)


if __name__ == "__main__":
    main()
