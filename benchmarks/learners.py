"""S- vs T- vs X-learner on generated worlds, measured against the generator's ground truth.

Each world is generated once; every learner variant is trained on it as of the generator's as-of
date and recommends for the same date. Per world and variant: normalized policy value (as in
``benchmarks/policy_value.py``), Spearman correlation between predicted and true incremental margin
of the chosen actions, ineligible suggestions, share of contacted accounts whose action carries a
discount, training seconds; then the discount depth: the true incremental margin per account of the
chosen rank-1 actions as chosen, with the largest discount step the guardrail allows for the same
offer and channel, and with no discount.

    python benchmarks/learners.py                                   # seeds 1 2 3 x 3,000 and 500 accounts
    python benchmarks/learners.py --sizes 1000 --seeds 1 --variants s x+h4
Variants: learner letter (s, t, x), optionally ``+hN`` for N untreated history windows per account
as extra `none` examples, ``+noshrink`` to switch off lift shrinkage, ``+advanced`` / ``+basic`` for
LightGBM's monotone-constraint method of the S-learner (default intermediate), ``+pooled`` /
``+action`` / ``+crossfit`` for its calibration (``TrainingConfig.calibration``), ``+cvN`` for N folds
of the cross-fitted calibration, ``+lN`` for an L2 penalty of N on its offsets, ``+kN`` for a
lift-shrinkage strength of N touches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from report import table_text
from scipy.stats import spearmanr

from features.actions import action_space, eligible_mask
from features.loading import load_dataset
from features.sample_data import DEFAULT_AS_OF, generate
from features.snapshot import build_snapshot
from models.decision import score_actions
from models.evaluation.ground_truth import KEY, compare_policies
from models.pipeline import split_snapshot
from models.recommend import recommend_dataset
from models.training import TrainingConfig, train_pipeline

DEFAULT_VARIANTS = ["s", "s+h4", "t+h4", "x+h4"]


def config_of(variant: str) -> TrainingConfig:
    """TrainingConfig for a variant name such as ``x+h4`` or ``s+noshrink``."""
    learner, *options = variant.split("+")
    kwargs: dict[str, object] = {"learner": learner}
    for opt in options:
        if opt.startswith("h") and opt[1:].isdigit():
            kwargs["history_windows"] = int(opt[1:])
        elif opt == "noshrink":
            kwargs["shrinkage_strength"] = 0.0
        elif opt in ("basic", "advanced"):
            kwargs["monotone_method"] = opt
        elif opt in ("pooled", "action", "crossfit"):
            kwargs["calibration"] = opt
        elif opt.startswith("k") and opt[1:].isdigit():
            kwargs["shrinkage_strength"] = float(opt[1:])
        elif opt.startswith("l") and opt[1:].isdigit():
            kwargs["calibration_l2"] = float(opt[1:])
        elif opt.startswith("cv") and opt[2:].isdigit():
            kwargs["calibration_folds"] = int(opt[2:])
        else:
            raise ValueError(f"unknown variant option {opt!r} in {variant!r}; "
                             "expected hN, noshrink, basic, advanced, pooled, action, crossfit, cvN, lN or kN")
    return TrainingConfig(**kwargs)  # type: ignore[arg-type]


def discount_depth(recs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """True incremental margin per account of the rank-1 actions: as chosen, at the largest
    eligible discount step of the same offer and channel, and at 0 %."""
    n = truth["account_id"].nunique()
    top = recs[(recs["rank"] == 1) & (recs["channel"] != "none")][KEY].copy()
    top["discount_pct"] = top["discount_pct"].astype(float)
    t = truth[truth["eligible"]][[*KEY, "true_expected_incremental_margin"]].copy()
    t["discount_pct"] = t["discount_pct"].astype(float)
    keys = ["account_id", "channel", "offer_id"]
    chosen = top.merge(t, on=KEY, how="left")["true_expected_incremental_margin"].fillna(0).sum()
    steps = top[keys].merge(t, on=keys)
    deepest = steps.loc[steps.groupby(keys)["discount_pct"].idxmax(), "true_expected_incremental_margin"].sum()
    none = steps.loc[steps["discount_pct"] == 0, "true_expected_incremental_margin"].sum()
    best = steps.groupby(keys)["true_expected_incremental_margin"].max().sum()
    return {"V_chosen_discount": chosen / n, "V_largest_discount": deepest / n, "V_no_discount": none / n,
            "V_best_step": best / n}


def step_lifts(dataset, truth: pd.DataFrame, pipeline) -> pd.DataFrame:
    """Mean predicted and true extra conversion of each discount step over the 0 % step of the same
    account, offer and channel, over every eligible pair, after shrinkage: is the response to
    deeper discounts learned?"""
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    data = dataset.before(as_of)
    actions = action_space(data)
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, pipeline.categories))
    eligible = eligible_mask(state, actions, data.policy)
    scored = score_actions(frame, eligible, actions, design=pipeline.design, classifier=pipeline.classifier,
                           value_model=pipeline.value_model, category_margin=data.category_margin_rates(),
                           prior=pipeline.lift_prior)
    acts = actions.iloc[scored.pair_action]
    pred = pd.DataFrame({"account_id": scored.accounts[scored.pair_account],
                         "channel": acts["channel"].to_numpy(), "offer_id": acts["offer_id"].to_numpy(),
                         "discount_pct": acts["discount_pct"].to_numpy(dtype=float),
                         "pred_lift": scored.p_convert - scored.p_baseline})
    t = truth.assign(discount_pct=truth["discount_pct"].astype(float),
                     true_lift=truth["true_p_convert"] - truth["true_p_baseline"])
    merged = pred.merge(t[[*KEY, "true_lift"]], on=KEY)
    keys = ["account_id", "channel", "offer_id"]
    zero = merged[merged["discount_pct"] == 0].set_index(keys)[["pred_lift", "true_lift"]]
    steps = merged[merged["discount_pct"] > 0].join(zero, on=keys, rsuffix="_0").dropna()
    steps["pred_lift"] -= steps["pred_lift_0"]
    steps["true_lift"] -= steps["true_lift_0"]
    return steps.groupby("discount_pct")[["pred_lift", "true_lift"]].mean()


def run_variant(dataset, truth: pd.DataFrame, variant: str, n_accounts: int, seed: int) -> tuple[dict, dict]:
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    started = time.perf_counter()
    result = train_pipeline(dataset, as_of, config_of(variant))
    train_s = time.perf_counter() - started
    recs = recommend_dataset(dataset, as_of, result.pipeline, top_k=1)
    cmp = compare_policies(recs, truth)
    chosen = recs[(recs["rank"] == 1) & (recs["channel"] != "none")].merge(truth, on=KEY)
    rho = spearmanr(chosen["expected_incremental_margin"], chosen["true_expected_incremental_margin"])[0] \
        if len(chosen) > 2 else float("nan")
    contacted = recs[(recs["rank"] == 1) & (recs["channel"] != "none")]
    row = {"accounts": n_accounts, "seed": seed, "variant": variant, "V_policy": cmp.policy,
           "V_oracle": cmp.oracle, "normalized": cmp.normalized, "spearman_chosen": rho,
           "ineligible": cmp.ineligible_suggestions,
           "contact_share": len(contacted) / max(len(recs[recs["rank"] == 1]), 1),
           "discounted_share": float((contacted["discount_pct"] > 0).mean()) if len(contacted) else 0.0,
           "valid_auc": result.metrics.get("valid_auc", np.nan), "train_s": train_s}
    depth = {"accounts": n_accounts, "seed": seed, "variant": variant, **discount_depth(recs, truth)}
    for d, lifts in step_lifts(dataset, truth, result.pipeline).iterrows():
        depth[f"pred_lift_{d:g}"], depth[f"true_lift_{d:g}"] = lifts["pred_lift"], lifts["true_lift"]
    return row, depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    args = parser.parse_args()
    for v in args.variants:
        config_of(v)  # fail fast on a bad name
    rows, depths = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for seed in args.seeds:
                data_dir, truth_path = Path(tmp) / f"w{n}-{seed}", Path(tmp) / f"w{n}-{seed}.truth.parquet"
                generate(data_dir, n_accounts=n, seed=seed, truth_path=truth_path)
                dataset, truth = load_dataset(data_dir), pd.read_parquet(truth_path)
                for variant in args.variants:
                    row, depth = run_variant(dataset, truth, variant, n, seed)
                    rows.append(row)
                    depths.append(depth)
                    print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print("\nLearners (values are true incremental margin in EUR per account):")
    print(table_text(table.round(3)))
    print("\nMean by size and variant:")
    summary = table.groupby(["accounts", "variant"], sort=False)[
        ["normalized", "spearman_chosen", "ineligible", "discounted_share", "train_s"]].mean()
    print(table_text(summary.reset_index().round(3)))
    print("\nDiscount depth of the chosen actions (true incremental margin, EUR per account):")
    depth = pd.DataFrame(depths)
    print(table_text(depth.groupby(["accounts", "variant"], sort=False)[
        ["V_chosen_discount", "V_largest_discount", "V_no_discount", "V_best_step"]].mean().reset_index().round(3)))
    lift_cols = [c for c in depth.columns if c.startswith(("pred_lift_", "true_lift_"))]
    print("\nMean extra conversion of each discount step over 0 % (same account, offer, channel), "
          "predicted (after shrinkage) and true:")
    print(table_text(depth.groupby(["accounts", "variant"], sort=False)[lift_cols].mean().reset_index(),
                     floatfmt=".4f"))


if __name__ == "__main__":
    main()
