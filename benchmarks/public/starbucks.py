"""Starbucks promotion experiment: cross-validated IRR and NIR against the published reference.

Trains with the normal path on K-1 folds of customers, recommends for the held-out fold as
never-seen customers; the policy promotes the held-out customers whose rank-1 action is the
e-mail promotion. Over them: IRR = purchase rate of treated − of controls, NIR = 10 × purchases
of treated − 0.15 × treated − 10 × purchases of controls (treated / controls as assigned in the
experiment). The reference (IRR 0.0188, NIR 189.45 on 41,650 test customers) is scaled to the
held-out size; promoting everyone and nobody are shown for context (bootstrap 95 % intervals).

    python -m benchmarks.public.starbucks                     # 5 folds over all 84,534 rows
    python -m benchmarks.public.starbucks --rows 20000 --folds 3
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.public.convert import DEFAULT_DATA_DIR, STARBUCKS_CSV, starbucks_experiment
from benchmarks.public.cv import run_command_line
from benchmarks.public.metrics import bootstrap, irr_nir
from benchmarks.report import table_text

REFERENCE_IRR = 0.0188
REFERENCE_NIR = 189.45
REFERENCE_CUSTOMERS = 41_650


def strategy_scores(held: pd.DataFrame, replicates: int = 1000, seed: int = 0) -> pd.DataFrame:
    """IRR, NIR, NIR per customer and promoted share of the policy, promote-everyone and
    promote-nobody, with bootstrap intervals; one row per (strategy, metric)."""
    treated = (held["arm"] != "none").to_numpy()
    purchase = held["purchase"].to_numpy(float)
    strategies = {"policy": (held["policy_arm"] != "none").to_numpy(),
                  "promote everyone": np.ones(len(held), dtype=bool),
                  "promote nobody": np.zeros(len(held), dtype=bool)}

    def statistic(idx: np.ndarray) -> dict[str, float]:
        values: dict[str, float] = {}
        for name, promote in strategies.items():
            s = irr_nir(promote[idx], treated[idx], purchase[idx])
            values.update({f"{name}|IRR": s.irr, f"{name}|NIR": s.nir,
                           f"{name}|NIR per customer": s.nir / len(idx),
                           f"{name}|promoted share": s.promoted / len(idx)})
        values["policy - reference|NIR per customer"] = (
            values["policy|NIR per customer"] - REFERENCE_NIR / REFERENCE_CUSTOMERS)
        return values

    out = bootstrap(statistic, len(held), replicates, seed)
    out[["strategy", "metric"]] = out["name"].str.split("|", expand=True)
    reference = pd.DataFrame({
        "strategy": "published reference (scaled)",
        "metric": ["IRR", "NIR", "NIR per customer"],
        "estimate": [REFERENCE_IRR, REFERENCE_NIR * len(held) / REFERENCE_CUSTOMERS,
                     REFERENCE_NIR / REFERENCE_CUSTOMERS],
        "ci_low": np.nan, "ci_high": np.nan})
    return pd.concat([out[["strategy", "metric", "estimate", "ci_low", "ci_high"]], reference],
                     ignore_index=True)


def main() -> None:
    args, held, folds, seconds = run_command_line(__doc__, DEFAULT_DATA_DIR / STARBUCKS_CSV, starbucks_experiment)
    scores = strategy_scores(held, args.replicates, args.seed)
    print(f"\nStarbucks: {len(held):,} held-out customers, {args.folds} folds, seed {args.seed}, "
          f"{seconds:.0f} s in all")
    print("\nPer fold:")
    print(table_text(folds.round(4)))
    print("\nScores over the promoted customers (95 % bootstrap interval):")
    print(table_text(scores, floatfmt=".4f"))


if __name__ == "__main__":
    main()
