"""How much of the oracle's value can any model reach from the inputs the decision model sees?

For each generated world: train the normal pipeline, build its model input rows (account ×
category features plus the action's features) for every eligible account × action pair, and fit a
LightGBM regressor directly on the generator's TRUE incremental margin of each pair — noise-free
targets no real learner has — cross-fitted over 5 folds of accounts. Its policy (the best predicted
pair per account, ``none`` when none is positive) is valued on the truth like
``benchmarks/policy_value.py``. This is an upper bound of the policy value reachable from these
inputs with this model class; the distance between it and the oracle is information the inputs do
not carry. ``--latent`` repeats the bound with one group of the generator's hidden account traits
added as extra inputs, to show which missing information the oracle's value depends on.

Every row also shows the share of rank-1 suggestions (every account) carrying a discount; per
world, the best single action's normalized value and the share of the oracle's value that comes
from discounts (as in ``benchmarks/policy_value.py``).

    python benchmarks/learnable_bound.py                          # every preset, 3 seeds x 3,000 accounts
    python benchmarks/learnable_bound.py --worlds digital --sizes 500 --seeds 0 1 --latent
    python benchmarks/learnable_bound.py --worlds thin --sizes default
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from policy_value import discount_metrics, size_arg
from report import table_text
from scipy.stats import spearmanr

from features.actions import action_space, eligible_mask
from features.loading import load_dataset
from features.policy import Policy
from features.sample_data import DEFAULT_AS_OF, generate
from features.sample_worlds import WORLDS, world_spec
from features.snapshot import build_snapshot
from models.decision import row_positions
from models.design import action_frame
from models.evaluation.ground_truth import KEY, compare_policies
from models.pipeline import split_snapshot
from models.recommend import score_dataset
from models.training import train_pipeline

FOLDS = 5


def pair_inputs(dataset, as_of: pd.Timestamp, pipeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs: account_id/channel/offer_id/discount_pct/category of every eligible pair, the model's
    input rows of those pairs), built as ``models.decision.score_actions`` builds them."""
    data = dataset.before(as_of)
    actions = pipeline.actions
    categories = sorted(set(action_space(data)["category"].astype(str)))
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, categories))
    frame = frame[frame["account_id"].isin(state.index)]
    order = pd.Index(state.index).get_indexer(frame["account_id"])
    frame = frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    eligible = eligible_mask(state, actions, Policy.from_dict(pipeline.policy), None)
    accounts = pd.unique(frame["account_id"].to_numpy())
    action_categories = sorted(set(actions["category"].astype(str)))
    pos = row_positions(frame, accounts, action_categories)
    cat_of_action = pd.Index(action_categories).get_indexer(actions["category"].astype(str))
    pair_account, pair_action = np.nonzero(eligible)
    pair_row = pos[pair_account, cat_of_action[pair_action]]
    keep = pair_row >= 0
    pair_account, pair_action, pair_row = pair_account[keep], pair_action[keep], pair_row[keep]
    acts = actions.iloc[pair_action]
    encoded = pipeline.design.encode(frame)
    inputs = pipeline.design.with_actions(encoded[pair_row], action_frame(
        acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), acts["discount_pct"].to_numpy(),
        acts["executed_by"].to_numpy()))
    pairs = pd.DataFrame({"account_id": accounts[pair_account], "channel": acts["channel"].to_numpy(),
                          "offer_id": acts["offer_id"].to_numpy(),
                          "discount_pct": acts["discount_pct"].to_numpy(dtype=float),
                          "category": acts["category"].astype(str).to_numpy()})
    return pairs, pd.DataFrame(inputs).reset_index(drop=True)


def latent_traits(world_name: str, n_accounts: int, seed: int, pairs: pd.DataFrame
                  ) -> dict[str, pd.DataFrame]:
    """The generator's hidden traits of each pair's account (and the action's category), by group.

    The world is rebuilt from the seed as ``generate`` builds it; a world with replenishment
    contracts adds whether the pair's category is under one.
    """
    from features.sample_data import _as_of
    from features.sample_world import build_world

    world = build_world(n_accounts, np.random.default_rng(seed), _as_of(DEFAULT_AS_OF), Policy(),
                        world_spec(world_name))
    idx = pd.Index(world.accounts["account_id"].astype(str)).get_indexer(pairs["account_id"].astype(str))
    cat = np.maximum(pd.Index(list(world.categories)).get_indexer(pairs["category"]), 0)
    groups = {
        "price sensitivity": pd.DataFrame({"latent_price": world.price_sensitivity[idx]}),
        "channel responsiveness": pd.DataFrame({f"latent_resp_{ch}": world.responsiveness[idx, j]
                                                for j, ch in enumerate(world.channels)}),
        "category base rate": pd.DataFrame({"latent_base_rate": world.base_rate[idx, cat]}),
        "archetype": pd.DataFrame({"latent_archetype": world.archetype[idx]}),
    }
    if len(world.contracts):
        groups["contract category"] = pd.DataFrame(
            {"latent_contract": (world.contract_start[idx, cat] < world.n_days).astype(float)})
    return groups


def bound(pairs: pd.DataFrame, inputs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Normalized value, out-of-fold R² and Spearman of the cross-fitted true-margin regressor."""
    y = pairs.merge(truth[[*KEY, "true_expected_incremental_margin"]], on=KEY, how="left")[
        "true_expected_incremental_margin"].to_numpy(dtype=float)
    accounts = pd.unique(pairs["account_id"])
    fold_of = pd.Series(np.arange(len(accounts)) % FOLDS,
                        index=pd.Index(accounts).take(np.random.default_rng(0).permutation(len(accounts))))
    fold = fold_of.reindex(pairs["account_id"]).to_numpy()
    pred = np.zeros(len(y))
    known = ~np.isnan(y)
    for k in range(FOLDS):
        model = lgb.LGBMRegressor(n_estimators=400, learning_rate=0.05, num_leaves=63, min_child_samples=20,
                                  n_jobs=1, verbose=-1)
        model.fit(inputs[(fold != k) & known], y[(fold != k) & known])
        pred[fold == k] = model.predict(inputs[fold == k])
    scored = pairs.assign(pred=pred)
    best = scored.sort_values(["account_id", "pred"], ascending=[True, False]).drop_duplicates("account_id")
    best = best[best["pred"] > 0].assign(rank=1)
    cmp = compare_policies(best[["account_id", "channel", "offer_id", "discount_pct", "rank"]], truth)
    given = float((best["discount_pct"] > 0).sum() / truth["account_id"].nunique())
    chosen = best.merge(truth[[*KEY, "true_expected_incremental_margin"]], on=KEY)
    rho = spearmanr(chosen["pred"], chosen["true_expected_incremental_margin"])[0] if len(chosen) > 2 else np.nan
    r2 = 1 - np.mean((pred[known] - y[known]) ** 2) / np.var(y[known])
    return {"normalized": cmp.normalized, "spearman_chosen": float(rho), "r2_true_margin": float(r2),
            "rank1_discount_share": given}


def run_one(world: str, n_accounts: int | None, seed: int, workdir: Path, latent: bool
            ) -> list[dict[str, object]]:
    n_accounts = world_spec(world).default_accounts if n_accounts is None else n_accounts
    data_dir = workdir / f"{world}-{n_accounts}-{seed}"
    truth_path = workdir / f"{world}-{n_accounts}-{seed}.truth.parquet"
    generate(data_dir, n_accounts=n_accounts, seed=seed, truth_path=truth_path, world=world)
    dataset = load_dataset(data_dir)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    started = time.perf_counter()
    pipeline = train_pipeline(dataset, as_of).pipeline
    truth = pd.read_parquet(truth_path)
    truth["discount_pct"] = truth["discount_pct"].astype(float)
    recs = score_dataset(dataset, as_of, pipeline, top_k=1)
    model = compare_policies(recs, truth)
    chosen = recs[(recs["rank"] == 1) & (recs["channel"] != "none")].merge(truth, on=KEY)
    rho = spearmanr(chosen["expected_incremental_margin"], chosen["true_expected_incremental_margin"])[0]
    discounts = discount_metrics(recs, truth)
    scale = model.oracle - model.random
    base = {"world": world, "accounts": n_accounts, "seed": seed,
            "best_single_normalized": (model.best_single_action - model.random) / scale,
            "oracle_discount_value_share": discounts["oracle_discount_value_share"]}
    rows: list[dict[str, object]] = [{**base, "policy": "trained model (observed outcomes)",
                                      "normalized": model.normalized, "spearman_chosen": float(rho),
                                      "r2_true_margin": np.nan,
                                      "rank1_discount_share": discounts["rank1_discount_share"]}]
    pairs, inputs = pair_inputs(dataset, as_of, pipeline)
    rows.append({**base, "policy": "bound: true margins, model inputs", **bound(pairs, inputs, truth)})
    if latent:
        for name, extra in latent_traits(world, n_accounts, seed, pairs).items():
            rows.append({**base, "policy": f"bound + hidden {name}",
                         **bound(pairs, pd.concat([inputs, extra], axis=1), truth)})
    print(f"  {world}, {n_accounts} accounts, seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS), metavar="NAME",
                        help=f"world presets (default: all of {', '.join(WORLDS)})")
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[3000],
                        help="numbers of accounts; 'default' = each preset's default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--latent", action="store_true", help="also add each group of hidden traits")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for n in args.sizes:
                for seed in args.seeds:
                    rows += run_one(world, n, seed, Path(tmp), args.latent)
    table = pd.DataFrame(rows)
    print(table_text(table.round(3)))
    print("\nMean by world, size and policy:")
    columns = ["normalized", "spearman_chosen", "rank1_discount_share", "best_single_normalized",
               "oracle_discount_value_share"]
    print(table_text(table.groupby(["world", "accounts", "policy"], sort=False)[columns].mean()
                     .reset_index().round(3)))


if __name__ == "__main__":
    main()
