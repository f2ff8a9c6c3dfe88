"""Decision quality on generated worlds, measured against the generator's ground truth.

For each (world preset, accounts, seed): generate, train as of the generator's as-of date,
recommend, and print V(policy), V(random), V(best single action), V(rank by raw conversion
probability), V(oracle), the normalized value (V - V_random) / (V_oracle - V_random) of the
policy and of the best single action, the Spearman correlation between predicted and true
incremental margin of the chosen actions, the number of ineligible suggestions, the share of the
oracle's value that comes from discounts (1 - V(oracle restricted to 0 % steps) / V(oracle)), and
the share of rank-1 suggestions (every account, `none` included) that carry a discount, for the
policy and for the oracle.

    python benchmarks/policy_value.py                       # every preset, 3 seeds x 3,000 accounts
    python benchmarks/policy_value.py --worlds wholesaler --sizes 3000 20000 --seeds 0 1 2
    python benchmarks/policy_value.py --worlds thin --sizes default   # the preset's own size
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from report import table_text
from scipy.stats import spearmanr

from features.loading import load_dataset
from features.policy import NONE_CHANNEL
from features.sample_data import DEFAULT_AS_OF, generate
from features.sample_worlds import WORLDS, world_spec
from models.evaluation.ground_truth import KEY, compare_policies
from models.recommend import score_dataset
from models.training import train_pipeline


def oracle_choice(truth: pd.DataFrame, undiscounted: bool = False) -> pd.DataFrame:
    """The oracle's best eligible action per account with a positive true value (among the 0 %
    steps only when ``undiscounted``); accounts without one are left out (they get `none`)."""
    t = truth[truth["eligible"] & (truth["true_expected_incremental_margin"] > 0)]
    if undiscounted:
        t = t[t["discount_pct"] == 0]
    best = t.loc[t.groupby("account_id", sort=False)["true_expected_incremental_margin"].idxmax()]
    return best[[*KEY, "true_expected_incremental_margin"]]


def discount_metrics(recs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Share of the oracle's value that comes from discounts, and the share of rank-1 suggestions
    (every account, `none` included) with a discount, for the policy and the oracle."""
    n = truth["account_id"].nunique()
    best, undiscounted = oracle_choice(truth), oracle_choice(truth, undiscounted=True)
    v_all = best["true_expected_incremental_margin"].sum()
    v_zero = undiscounted["true_expected_incremental_margin"].sum()
    top = recs[recs["rank"] == 1]
    given = (top["channel"] != NONE_CHANNEL) & (top["discount_pct"].astype(float) > 0)
    return {"oracle_discount_value_share": 1.0 - v_zero / v_all if v_all > 0 else float("nan"),
            "oracle_rank1_discount_share": float((best["discount_pct"] > 0).sum() / n),
            "rank1_discount_share": float(given.sum() / n)}


def run_one(world: str, n_accounts: int | None, seed: int, workdir: Path) -> dict[str, float | int | str]:
    n_accounts = world_spec(world).default_accounts if n_accounts is None else n_accounts
    data_dir = workdir / f"{world}-{n_accounts}-{seed}"
    truth_path = workdir / f"{world}-{n_accounts}-{seed}.truth.parquet"
    started = time.perf_counter()
    generate(data_dir, n_accounts=n_accounts, seed=seed, truth_path=truth_path, world=world)
    generate_s = time.perf_counter() - started
    dataset = load_dataset(data_dir)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    started = time.perf_counter()
    result = train_pipeline(dataset, as_of)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    recs = score_dataset(dataset, as_of, result.pipeline, top_k=3)
    rec_s = time.perf_counter() - started
    by_p = score_dataset(dataset, as_of, result.pipeline, top_k=1, rank_by="conversion")
    truth = pd.read_parquet(truth_path)
    cmp = compare_policies(recs, truth, by_probability=by_p)
    chosen = recs[(recs["rank"] == 1) & (recs["channel"] != "none")].merge(truth, on=KEY)
    rho = spearmanr(chosen["expected_incremental_margin"], chosen["true_expected_incremental_margin"])[0] \
        if len(chosen) > 2 else float("nan")
    scale = cmp.oracle - cmp.random
    return {"world": world, "accounts": n_accounts, "seed": seed, "V_policy": cmp.policy,
            "V_random": cmp.random, "V_best_single": cmp.best_single_action,
            "V_by_p_convert": cmp.by_conversion_probability, "V_oracle": cmp.oracle,
            "normalized": cmp.normalized,
            "best_single_normalized": (cmp.best_single_action - cmp.random) / scale if scale > 0 else float("nan"),
            "spearman_chosen": rho, "ineligible": cmp.ineligible_suggestions,
            "contact_share": float((recs.query("rank == 1")["channel"] != "none").mean()),
            **discount_metrics(recs, truth), "generate_s": generate_s, "train_s": train_s,
            "recommend_s": rec_s}


def size_arg(value: str) -> int | None:
    """An account count, or ``default`` for each preset's own default."""
    return None if value == "default" else int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS), metavar="NAME",
                        help=f"world presets (default: all of {', '.join(WORLDS)})")
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[3000],
                        help="numbers of accounts; 'default' = each preset's default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for n in args.sizes:
                for seed in args.seeds:
                    rows.append(run_one(world, n, seed, Path(tmp)))
                    print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print("\nResults (values are true incremental margin in EUR per account):")
    print(table_text(table.round(3)))
    columns = ["normalized", "best_single_normalized", "spearman_chosen", "ineligible",
               "oracle_discount_value_share", "rank1_discount_share", "oracle_rank1_discount_share"]
    summary = table.groupby(["world", "accounts"], sort=False)[columns].mean()
    print("\nMean by world and size:")
    print(table_text(summary.reset_index().round(3)))


if __name__ == "__main__":
    main()
