"""Learners, the automatic choice, discounts and calibration across generated worlds, against the truth.

Each world (preset × size × seed) is generated once; every variant is trained on it as of the
generator's as-of date and recommends for the same date. Per world and variant:

- decision quality: normalized policy value ((V − V_random) / (V_oracle − V_random)), the best single
  action's normalized value, ineligible suggestions, contact share, Spearman of predicted and true
  incremental margin of the chosen actions, the policy mode and learner that "auto" chose;
- discounts: share of rank-1 suggestions with a discount, and the true incremental margin per account
  of the chosen rank-1 offers and channels as chosen, with no discount, at the largest allowed step
  and at the truly best step;
- calibration: expected calibration error of the validation period (predicted vs observed), and the
  mean absolute error of ``p_convert`` and ``p_convert_baseline`` against the TRUE probabilities over
  every eligible account × action at as-of;
- training seconds.

    python benchmarks/learners.py                                  # every preset, seeds 0 1 2, 3,000 accounts
    python benchmarks/learners.py --worlds wholesaler --sizes 500 --seeds 0 --variants auto s+crossfit
Variants: ``auto`` (the default), a learner letter (s, x, dr, t), optionally ``+hN`` (N untreated
history windows), ``+pooled`` / ``+action`` / ``+crossfit`` (the S-learner's older calibrations;
``s+crossfit`` is the earlier default), ``+kN`` (shrinkage strength N), ``+fN`` (N selection folds).
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
from features.policy import NONE_CHANNEL
from features.sample_data import DEFAULT_AS_OF, generate
from features.sample_worlds import WORLDS, world_spec
from features.snapshot import build_snapshot
from models.decision import score_actions
from models.evaluation.ground_truth import KEY, compare_policies
from models.pipeline import split_snapshot
from models.recommend import score_dataset
from models.training import TrainingConfig, train_pipeline

DEFAULT_VARIANTS = ["auto", "s+crossfit"]


def config_of(variant: str) -> TrainingConfig:
    """TrainingConfig for a variant name such as ``auto``, ``x+h4`` or ``s+crossfit``."""
    learner, *options = variant.split("+")
    kwargs: dict[str, object] = {"learner": learner}
    for opt in options:
        if opt.startswith("h") and opt[1:].isdigit():
            kwargs["history_windows"] = int(opt[1:])
        elif opt in ("pooled", "action", "crossfit"):
            kwargs["calibration"] = opt
        elif opt.startswith("k") and opt[1:].isdigit():
            kwargs["shrinkage_strength"] = float(opt[1:])
        elif opt.startswith("f") and opt[1:].isdigit():
            kwargs["selection_folds"] = int(opt[1:])
        else:
            raise ValueError(f"unknown variant option {opt!r} in {variant!r}; expected hN, pooled, action, "
                             "crossfit, kN or fN")
    return TrainingConfig.from_mapping(kwargs, source=f"variant {variant!r}")


def discount_depth(recs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """True incremental margin per account of the rank-1 offers and channels: as chosen, at 0 %, at the
    largest eligible step, and at the truly best step; and the share of rank-1 suggestions discounted."""
    n = truth["account_id"].nunique()
    top = recs[(recs["rank"] == 1) & (recs["channel"] != NONE_CHANNEL)][KEY].copy()
    top["discount_pct"] = top["discount_pct"].astype(float)
    t = truth[truth["eligible"]][[*KEY, "true_expected_incremental_margin"]].copy()
    t["discount_pct"] = t["discount_pct"].astype(float)
    keys = ["account_id", "channel", "offer_id"]
    chosen = top.merge(t, on=KEY, how="left")["true_expected_incremental_margin"].fillna(0).sum()
    steps = top[keys].merge(t, on=keys)
    deepest = steps.loc[steps.groupby(keys)["discount_pct"].idxmax(), "true_expected_incremental_margin"].sum()
    none = steps.loc[steps["discount_pct"] == 0, "true_expected_incremental_margin"].sum()
    best = steps.groupby(keys)["true_expected_incremental_margin"].max().sum()
    first = recs[recs["rank"] == 1]
    return {"discounted_share": float((first["discount_pct"] > 0).mean()),
            "V_chosen_discount": chosen / n, "V_never_discount": none / n, "V_largest_step": deepest / n,
            "V_best_step": best / n}


def truth_errors(dataset, truth: pd.DataFrame, pipeline) -> dict[str, float]:
    """Mean absolute error of the calibrated p_convert and p_convert_baseline against the true
    probabilities, over every eligible account × action at as-of."""
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    data = dataset.before(as_of)
    actions = action_space(data)
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, pipeline.categories))
    scored = score_actions(frame, eligible_mask(state, actions, data.policy), actions, design=pipeline.design,
                           classifier=pipeline.classifier, value_model=pipeline.value_model,
                           category_margin=data.category_margin_rates(), prior=pipeline.lift_prior,
                           calibration=pipeline.calibration)
    acts = actions.iloc[scored.pair_action]
    pred = pd.DataFrame({"account_id": scored.accounts[scored.pair_account], "channel": acts["channel"].to_numpy(),
                         "offer_id": acts["offer_id"].to_numpy(), "discount_pct": acts["discount_pct"].to_numpy(dtype=float),
                         "p": scored.p_convert, "p0": scored.p_baseline})
    merged = pred.merge(truth.assign(discount_pct=truth["discount_pct"].astype(float)), on=KEY)
    lift_pred, lift_true = merged["p"] - merged["p0"], merged["true_p_convert"] - merged["true_p_baseline"]
    return {"mae_p_convert": float((merged["p"] - merged["true_p_convert"]).abs().mean()),
            "mae_p_baseline": float((merged["p0"] - merged["true_p_baseline"]).abs().mean()),
            "mean_lift_pred": float(lift_pred.mean()), "mean_lift_true": float(lift_true.mean())}


def run_variant(dataset, truth: pd.DataFrame, variant: str) -> dict[str, object]:
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    started = time.perf_counter()
    result = train_pipeline(dataset, as_of, config_of(variant))
    train_s = time.perf_counter() - started
    recs = score_dataset(dataset, as_of, result.pipeline, top_k=1)
    cmp = compare_policies(recs, truth)
    chosen = recs[(recs["rank"] == 1) & (recs["channel"] != NONE_CHANNEL)].merge(truth, on=KEY)
    rho = spearmanr(chosen["expected_incremental_margin"], chosen["true_expected_incremental_margin"])[0] \
        if len(chosen) > 2 else float("nan")
    denom = cmp.oracle - cmp.random
    pipeline = result.pipeline
    return {"variant": variant, "chosen": result.selection.chosen if result.selection else pipeline.learner,
            "normalized": cmp.normalized, "best_single_norm": (cmp.best_single_action - cmp.random) / denom,
            "V_policy": cmp.policy, "V_oracle": cmp.oracle, "spearman_chosen": rho,
            "ineligible": cmp.ineligible_suggestions,
            "contact_share": float((recs.loc[recs["rank"] == 1, "channel"] != NONE_CHANNEL).mean()),
            "valid_ece": result.metrics.get("valid_calibration_error", np.nan),
            **truth_errors(dataset, truth, pipeline), **discount_depth(recs, truth), "train_s": train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--sizes", nargs="+", default=["3000"],
                        help="numbers of accounts, or 'default' for each preset's own size")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--save", type=Path, default=None, help="append each row to this CSV as it is done")
    args = parser.parse_args()
    for v in args.variants:
        config_of(v)  # fail fast on a bad name
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for size in args.sizes:
                n = world_spec(world).default_accounts if size == "default" else int(size)
                for seed in args.seeds:
                    data_dir = Path(tmp) / f"{world}-{n}-{seed}"
                    truth_path = Path(tmp) / f"{world}-{n}-{seed}.truth.parquet"
                    generate(data_dir, n_accounts=n, seed=seed, truth_path=truth_path, world=world)
                    dataset, truth = load_dataset(data_dir), pd.read_parquet(truth_path)
                    for variant in args.variants:
                        row = {"world": world, "accounts": n, "seed": seed, **run_variant(dataset, truth, variant)}
                        rows.append(row)
                        print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
                        if args.save is not None:
                            pd.DataFrame([row]).to_csv(args.save, mode="a", header=not args.save.exists(), index=False)
    table = pd.DataFrame(rows)
    print("\nEvery world and variant (values: true incremental margin, EUR per account):")
    print(table_text(table.round(3)))
    print("\nMean by world, size and variant:")
    summary = table.groupby(["world", "accounts", "variant"], sort=False)[
        ["normalized", "best_single_norm", "ineligible", "discounted_share", "mae_p_convert", "mae_p_baseline",
         "valid_ece", "train_s"]].mean()
    print(table_text(summary.reset_index().round(3)))


if __name__ == "__main__":
    main()
