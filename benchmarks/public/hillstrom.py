"""Hillstrom e-mail experiment: cross-validated IPS policy value against the fixed arms.

Trains with the normal path on K-1 folds of customers, recommends for the held-out fold as
never-seen customers, and estimates on the pooled held-out rows, by inverse propensity
weighting (mean of 1[policy arm = assigned arm] × outcome × 3), the spend and the visits per
customer of: the policy, all men's e-mail, all women's e-mail, no e-mail, a uniformly random
arm, and the difference policy − all men's (paired bootstrap 95 % intervals).

    python -m benchmarks.public.hillstrom                    # 5 folds over all 32,191 rows
    python -m benchmarks.public.hillstrom --rows 6000 --folds 3
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.public.convert import DEFAULT_DATA_DIR, HILLSTROM_CSV, hillstrom_experiment
from benchmarks.public.cv import run_command_line
from benchmarks.public.metrics import bootstrap, ips_terms
from benchmarks.report import table_text

ARMS = ("mens", "womens", "none")
OUTCOMES = ("spend", "visit")


def policy_values(held: pd.DataFrame, replicates: int = 1000, seed: int = 0) -> pd.DataFrame:
    """IPS value per customer (spend and visits) of the policy and the reference policies,
    and of policy − all men's, with bootstrap intervals; one row per (outcome, policy)."""
    n_arms = held["arm"].nunique()
    matches = {"policy": (held["policy_arm"] == held["arm"]).to_numpy(float),
               **{f"all {a}": (held["arm"] == a).to_numpy(float) for a in ARMS},
               "random": np.full(len(held), 1.0 / n_arms)}
    terms = {(o, name): ips_terms(held[o].to_numpy(), held["propensity"].to_numpy(), m)
             for o in OUTCOMES for name, m in matches.items()}

    def statistic(idx: np.ndarray) -> dict[str, float]:
        values = {f"{o}|{name}": float(t[idx].mean()) for (o, name), t in terms.items()}
        for o in OUTCOMES:
            values[f"{o}|policy - all mens"] = values[f"{o}|policy"] - values[f"{o}|all mens"]
        return values

    out = bootstrap(statistic, len(held), replicates, seed)
    out[["outcome", "policy"]] = out["name"].str.split("|", expand=True)
    return out[["outcome", "policy", "estimate", "ci_low", "ci_high"]]


def main() -> None:
    args, held, folds, seconds = run_command_line(__doc__, DEFAULT_DATA_DIR / HILLSTROM_CSV, hillstrom_experiment)
    values = policy_values(held, args.replicates, args.seed)
    print(f"\nHillstrom: {len(held):,} held-out customers, {args.folds} folds, seed {args.seed}, "
          f"{seconds:.0f} s in all")
    print("\nPer fold:")
    print(table_text(folds.round(4)))
    print("\nPolicy's arms (share of held-out customers) and mean predicted incremental margin:")
    arms = held.groupby("policy_arm").agg(share=("account_id", "size"),
                                          predicted_eim=("expected_incremental_margin", "mean"))
    arms["share"] = arms["share"] / len(held)
    print(table_text(arms.reset_index()))
    print("\nIPS value per customer (95 % bootstrap interval):")
    print(table_text(values, floatfmt=".4f"))


if __name__ == "__main__":
    main()
