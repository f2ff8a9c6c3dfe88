"""Decision quality on generated worlds, measured against the generator's ground truth.

For each (accounts, seed): generate, train as of the generator's as-of date, recommend, and
print V(policy), V(random), V(best single action), V(rank by raw conversion probability),
V(oracle), the normalized value (V - V_random) / (V_oracle - V_random), the Spearman
correlation between predicted and true incremental margin of the chosen actions, and the
number of ineligible suggestions.

    python benchmarks/policy_value.py                       # 3 seeds x 3,000 accounts
    python benchmarks/policy_value.py --sizes 3000 20000 --seeds 0 1 2
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
from features.sample_data import DEFAULT_AS_OF, generate
from models.evaluation.ground_truth import KEY, compare_policies
from models.recommend import recommend_dataset
from models.training import train_pipeline


def run_one(n_accounts: int, seed: int, workdir: Path) -> dict[str, float | int | str]:
    data_dir, truth_path = workdir / f"w{n_accounts}-{seed}", workdir / f"w{n_accounts}-{seed}.truth.parquet"
    generate(data_dir, n_accounts=n_accounts, seed=seed, truth_path=truth_path)
    dataset = load_dataset(data_dir)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    started = time.perf_counter()
    result = train_pipeline(dataset, as_of)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    recs = recommend_dataset(dataset, as_of, result.pipeline, top_k=3)
    rec_s = time.perf_counter() - started
    by_p = recommend_dataset(dataset, as_of, result.pipeline, top_k=1, rank_by="conversion")
    truth = pd.read_parquet(truth_path)
    cmp = compare_policies(recs, truth, by_probability=by_p)
    chosen = recs[(recs["rank"] == 1) & (recs["channel"] != "none")].merge(truth, on=KEY)
    rho = spearmanr(chosen["expected_incremental_margin"], chosen["true_expected_incremental_margin"])[0] \
        if len(chosen) > 2 else float("nan")
    return {"accounts": n_accounts, "seed": seed, "V_policy": cmp.policy, "V_random": cmp.random,
            "V_best_single": cmp.best_single_action, "V_by_p_convert": cmp.by_conversion_probability,
            "V_oracle": cmp.oracle, "normalized": cmp.normalized, "spearman_chosen": rho,
            "ineligible": cmp.ineligible_suggestions, "contact_share": float((recs.query("rank == 1")["channel"] != "none").mean()),
            "train_s": train_s, "recommend_s": rec_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for seed in args.seeds:
                rows.append(run_one(n, seed, Path(tmp)))
                print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print("\nResults (values are true incremental margin in EUR per account):")
    print(table_text(table.round(3)))
    summary = table.groupby("accounts")[["normalized", "spearman_chosen", "ineligible"]].agg(["mean", "min"])
    print("\nBy size:")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
