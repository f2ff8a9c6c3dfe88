"""The off-policy evaluator checked against the generator's ground truth.

For each (world preset, accounts, seed): generate the world, train a pipeline as of the generator's
as-of date, and log one decision per account AT as-of with the generator's own randomized logging
policy (``none`` with probability ``P_NONE``, else an eligible action with a chance proportional to
its channel's logging weight: exact propensities, as small as the worlds make them). Each decision's
outcome in the attribution window is drawn from the truth file: per account and category, the
number of order lines has the true probability of at least one (``true_p_convert`` /
``true_p_baseline``) and the true mean (``true_purchases`` / ``true_purchases_baseline``), line
amounts are log-normal around ``true_line_amount`` (as in the simulation), and the margin per unit
of list revenue is the truth's own (so the expected margin of every account x action is exactly the
truth's). The log is drawn ``--draws`` times per world, every draw independent.

Every policy is valued on the same decisions by the estimators the product uses, the pipeline's
predictions as their reward model (replayed exactly as ``models.evaluation.replay`` replays logged
decisions):

- ``ips``, ``snips``, ``dr``: the policy value (window margin minus contact cost per decision,
  ``models.evaluation.off_policy``), as in the evaluation report and the champion comparison;
- ``incremental``: the policy's incremental margin over doing nothing on the action's category
  (``models.evaluation.incremental``), which chooses learners (``models.selection``) and gates
  promotion (``dr_policy_gain_vs_none``, ``models.promotion``);

and its TRUE value on the same accounts from the truth file (the value family: every category's
true baseline margin plus the true incremental margin of the policy's action; the incremental
estimator: the true incremental margin alone). Printed: per estimator, over every (policy, world,
seed, draw), the bias, RMSE, the coverage of the 95 % intervals and their mean width; per (policy,
world, seed) the same over its draws (``--save`` writes these rows as CSV).

    python -m benchmarks.evaluator_check                          # every preset, 2 seeds x 1,500 accounts, 20 logs
    python -m benchmarks.evaluator_check --quick                  # two presets, 1 seed, 600 accounts
    python benchmarks/evaluator_check.py --worlds thin wholesaler --sizes default --save pairs.csv

Generated worlds and trained pipelines are cached under ``--cache`` (default
/tmp/symbiose-evaluator-check); ``--n-boot`` sets the bootstrap of IPS/SNIPS/DR and of the former
percentile interval shown for comparison.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import table_text  # noqa: E402
from features.loading import load_dataset  # noqa: E402
from features.policy import NONE_CHANNEL  # noqa: E402
from features.sample_data import DEFAULT_AS_OF, generate  # noqa: E402
from features.sample_world import LINE_AMOUNT_SIGMA, P_NONE  # noqa: E402
from features.sample_worlds import WORLDS, world_spec  # noqa: E402
from models.evaluation.incremental import (  # noqa: E402
    LOGGED_NONE,
    cluster_weights,
    estimate_mean,
    incremental_terms,
    incremental_variance,
)
from models.evaluation.off_policy import DEFAULT_BOOTSTRAP, ESTIMATORS, TargetPolicy  # noqa: E402
from models.evaluation.replay import Replay, replay  # noqa: E402
from models.pipeline import DecisionPipeline  # noqa: E402
from models.training import train_pipeline  # noqa: E402
from models.training_config import TrainingConfig  # noqa: E402

KEY = ["channel", "offer_id", "discount_pct"]
DEFAULT_CACHE = Path("/tmp/symbiose-evaluator-check")
VALUE_ESTIMATORS = tuple(cls.name for cls in ESTIMATORS)
INCREMENTAL = "incremental"
LEVEL = 0.95
#: Weight 1/p above which the switch variant values a decision with the reward model alone.
SWITCH_WEIGHT = 200.0


@dataclass(frozen=True)
class TruthOnDecisions:
    """The truth of one world on its decisions at as-of, aligned with the replay's actions and
    categories (``n`` accounts, ``m`` actions, ``k`` categories)."""

    incremental: np.ndarray   # (n, m) true expected incremental margin of each action
    baseline: np.ndarray      # (n,) true expected window margin without outreach, every category
    logging: np.ndarray       # (n, m) the logging policy's probability of each action (0 = not eligible)
    logging_none: np.ndarray  # (n,) its probability of `none`
    p_action: np.ndarray      # (n, m) true P(at least one line of the action's category | action)
    mu_action: np.ndarray     # (n, m) true expected lines of the action's category under the action
    rate_action: np.ndarray   # (n, m) margin per unit of list revenue of those lines under the action
    p_none: np.ndarray        # (n, k) true P(at least one line of the category | no outreach)
    mu_none: np.ndarray       # (n, k)
    rate_none: np.ndarray     # (n, k)
    amount: np.ndarray        # (n, k) mean list amount per line
    action_category: np.ndarray  # (m,)
    cost: np.ndarray          # (m,)
    ineligible_logged: int = 0  # account x action pairs eligible for the pipeline but not for the truth


def prepare_world(world: str, n_accounts: int, seed: int, cache: Path) -> tuple[Replay, pd.DataFrame, DecisionPipeline]:
    """(replay of one placeholder decision per account at as-of, truth frame, pipeline), cached."""
    cache.mkdir(parents=True, exist_ok=True)
    stem = cache / f"{world}-{n_accounts}-{seed}"
    data_dir, truth_path, model_path = stem, Path(f"{stem}.truth.parquet"), Path(f"{stem}.pipeline.pkl")
    if not truth_path.exists():
        generate(data_dir, n_accounts=n_accounts, seed=seed, truth_path=truth_path, fmt="parquet", world=world)
    dataset = load_dataset(data_dir)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    if model_path.exists():
        pipeline = pickle.loads(model_path.read_bytes())
    else:
        pipeline = train_pipeline(dataset, as_of, TrainingConfig(learner="s")).pipeline
        tmp = model_path.with_name(model_path.name + ".tmp")
        tmp.write_bytes(pickle.dumps(pipeline))
        tmp.replace(model_path)
    accounts = dataset.accounts["account_id"].astype(str).to_numpy()
    placeholder = pd.DataFrame({
        "touch_id": [f"CHECK{i:07d}" for i in range(len(accounts))], "account_id": accounts,
        "touched_at": pd.Series([as_of] * len(accounts)).astype(dataset.touches["touched_at"].dtype),
        "channel": NONE_CHANNEL, "offer_id": None, "discount_pct": 0.0, "propensity": 1.0})
    rep = replay(pipeline, dataset, placeholder, max_decisions=len(accounts) + 1)
    if rep is None:
        raise RuntimeError(f"{world}: no decision could be replayed")
    return rep, pd.read_parquet(truth_path), pipeline


def align_truth(rep: Replay, truth: pd.DataFrame, world: str) -> TruthOnDecisions:
    """The truth of every (decision, action) and (decision, category) of ``rep``, and the logging
    policy's probabilities (the generator's: ``none`` with ``P_NONE``, the rest by channel weight
    among the actions the truth says were eligible)."""
    accounts = pd.Index(rep.decisions["account_id"].astype(str))
    actions = rep.actions
    cats = pd.Index(sorted(set(actions["category"].astype(str))))
    n, m, k = len(accounts), len(actions), len(cats)
    t = truth.copy()
    t["discount_pct"] = t["discount_pct"].astype(float)
    row = accounts.get_indexer(t["account_id"].astype(str))
    keys = pd.MultiIndex.from_frame(actions[KEY].astype({"discount_pct": float}))
    col = keys.get_indexer(pd.MultiIndex.from_frame(t[KEY]))
    if (row < 0).any() or (col < 0).any():
        raise RuntimeError(f"{world}: truth rows without a decision or action ({int((row < 0).sum())}, "
                           f"{int((col < 0).sum())})")

    def matrix(column: str) -> np.ndarray:
        out = np.full((n, m), np.nan)
        out[row, col] = t[column].to_numpy(dtype=float)
        return out

    incremental, p_a, mu_a = matrix("true_expected_incremental_margin"), matrix("true_p_convert"), matrix("true_purchases")
    eligible_true = matrix("eligible") > 0
    base_margin, p0, mu0, amount_a = (matrix("true_margin_baseline"), matrix("true_p_baseline"),
                                      matrix("true_purchases_baseline"), matrix("true_line_amount"))
    cost = actions["cost"].to_numpy(dtype=float)
    cat_of = cats.get_indexer(actions["category"].astype(str))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_a = np.where(mu_a > 0, (incremental + base_margin + cost[None, :]) / (mu_a * amount_a), 0.0)
    per_cat = {name: np.zeros((n, k)) for name in ("p", "mu", "margin", "amount")}
    for c in range(k):
        j = int(np.flatnonzero(cat_of == c)[0])  # the category's no-outreach truth is the same for all its actions
        per_cat["p"][:, c], per_cat["mu"][:, c] = p0[:, j], mu0[:, j]
        per_cat["margin"][:, c], per_cat["amount"][:, c] = base_margin[:, j], amount_a[:, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate0 = np.where(per_cat["mu"] > 0, per_cat["margin"] / (per_cat["mu"] * per_cat["amount"]), 0.0)
    spec = world_spec(world)
    weight = actions["channel"].map(spec.logging_weight).to_numpy(dtype=float)
    mass = eligible_true * weight[None, :]
    total = mass.sum(axis=1)
    logging = np.where(total[:, None] > 0, (1.0 - P_NONE) * mass / np.where(total > 0, total, 1.0)[:, None], 0.0)
    logging_none = np.where(total > 0, P_NONE, 1.0)
    ineligible = int((rep.eligible & ~eligible_true).sum())
    return TruthOnDecisions(incremental, per_cat["margin"].sum(axis=1), logging, logging_none, p_a, mu_a, rate_a,
                            per_cat["p"], per_cat["mu"], rate0, per_cat["amount"], cat_of, cost, ineligible)


def draw_lines_margin(p: np.ndarray, mu: np.ndarray, amount: np.ndarray, rate: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Realized margin of cells with P(any line) ``p``, expected lines ``mu`` (>= p), mean list
    amount per line ``amount`` and margin per unit of list revenue ``rate``: no line with
    probability 1 - p, else 1 + Poisson(mu / p - 1) lines of log-normal amounts."""
    p = np.clip(p, 0.0, 1.0)
    any_line = rng.random(p.shape) < p
    extra = np.where(p > 0, np.maximum(mu / np.where(p > 0, p, 1.0) - 1.0, 0.0), 0.0)
    lines = np.where(any_line, 1 + rng.poisson(extra), 0)
    flat = lines.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    mean_log = np.log(np.maximum(amount.ravel()[cell], 1e-12)) - LINE_AMOUNT_SIGMA**2 / 2
    amounts = np.exp(mean_log + LINE_AMOUNT_SIGMA * rng.standard_normal(len(cell)))
    revenue = np.bincount(cell, weights=amounts, minlength=flat.size).reshape(p.shape)
    return revenue * rate


def draw_log(rep: Replay, truth: TruthOnDecisions, rng: np.random.Generator) -> Replay:
    """``rep`` with a freshly drawn logged action (and its propensity) and outcome per decision."""
    n, m = truth.logging.shape
    probs = np.concatenate([truth.logging_none[:, None], truth.logging], axis=1)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(n) * cum[:, -1]
    pick = np.minimum((u[:, None] >= cum).sum(axis=1), m)
    logged = np.where(pick == 0, LOGGED_NONE, pick - 1).astype(np.int64)
    propensity = probs[np.arange(n), pick]
    margin = draw_lines_margin(truth.p_none, truth.mu_none, truth.amount, truth.rate_none, rng)
    acted = np.flatnonzero(logged >= 0)
    a = logged[acted]
    c = truth.action_category[a]
    margin[acted, c] = draw_lines_margin(truth.p_action[acted, a], truth.mu_action[acted, a],
                                         truth.amount[acted, c], truth.rate_action[acted, a], rng)
    cost = np.where(logged >= 0, truth.cost[np.maximum(logged, 0)], 0.0)
    acts = rep.actions
    decisions = rep.decisions.assign(
        channel=np.where(logged >= 0, acts["channel"].to_numpy(dtype=object)[np.maximum(logged, 0)], NONE_CHANNEL),
        offer_id=np.where(logged >= 0, acts["offer_id"].to_numpy(dtype=object)[np.maximum(logged, 0)], None),
        discount_pct=np.where(logged >= 0, acts["discount_pct"].to_numpy(dtype=float)[np.maximum(logged, 0)], 0.0),
        propensity=propensity, reward=margin.sum(axis=1) - cost)
    return replace(rep, decisions=decisions, logged_action=logged, margin=margin)


def check_policies(rep: Replay, truth: TruthOnDecisions) -> dict[str, np.ndarray | None]:
    """The evaluated policies: deterministic ones as an action index (or LOGGED_NONE) per decision;
    ``random`` (None) is uniformly random among the eligible actions and `none`."""
    n = len(rep.decisions)
    eligible = rep.eligible
    true_single = np.where(eligible, truth.incremental, 0.0).sum(axis=0)
    best = int(np.argmax(true_single))
    acts = rep.actions
    value = np.where(eligible, rep.value, np.inf)
    worst = np.where(eligible.any(axis=1), value.argmin(axis=1), LOGGED_NONE)
    phone = _first(acts, (acts["channel"] == "phone") & (acts["discount_pct"] == 0))
    email = _first(acts, (acts["channel"] == "email") & (acts["discount_pct"] == acts["discount_pct"].max()))
    visit = _first(acts, (acts["channel"] == "visit") & (acts["discount_pct"] == 0))
    out: dict[str, np.ndarray | None] = {"none": np.full(n, LOGGED_NONE, dtype=np.int64), "model": rep.chosen,
                                         "best_single": np.where(eligible[:, best], best, LOGGED_NONE)}
    for name, j in (("phone_0", phone), ("email_max_discount", email), ("visit_0", visit)):
        if j >= 0:
            out[name] = np.where(eligible[:, j], j, LOGGED_NONE)
    out["worst_predicted"] = worst.astype(np.int64)
    out["random"] = None
    return out


def _first(actions: pd.DataFrame, mask: pd.Series) -> int:
    found = np.flatnonzero(mask.to_numpy())
    return int(found[0]) if len(found) else -1


def true_values(rep: Replay, truth: TruthOnDecisions, chosen: np.ndarray | None) -> float:
    """True mean incremental margin of the policy on these decisions."""
    if chosen is None:
        eligible = rep.eligible
        per = np.where(eligible, truth.incremental, 0.0).sum(axis=1) / (eligible.sum(axis=1) + 1.0)
        return float(per.mean())
    rows = np.flatnonzero(chosen >= 0)
    return float(truth.incremental[rows, chosen[rows]].sum() / len(chosen))


def target_policy(rep: Replay, name: str, chosen: np.ndarray | None) -> TargetPolicy:
    return rep.random_policy() if chosen is None else rep.action_policy(name, chosen)


def evaluate_draw(rep: Replay, truth: TruthOnDecisions, policies: dict[str, np.ndarray | None],
                  n_boot: int, seed: int) -> list[dict[str, object]]:
    """One row per policy and estimator: estimate, interval and truth."""
    logged = rep.logged()
    accounts = rep.decisions["account_id"].to_numpy(dtype=object)
    data = rep.category_decisions()
    rows: list[dict[str, object]] = []
    for name, chosen in policies.items():
        gain = true_values(rep, truth, chosen)
        target = target_policy(rep, name, chosen)
        for cls in ESTIMATORS:
            est = cls(n_boot=n_boot, seed=seed).estimate(logged, target)
            rows.append(_row(name, cls.name, est, float(truth.baseline.mean()) + gain, target))
        if chosen is None or name == "none":  # `none` is exactly 0 here, as is its truth
            continue
        terms = incremental_terms(data, chosen)
        est = estimate_mean(terms, accounts, variance=incremental_variance(data, chosen), level=LEVEL)
        rows.append(_row(name, INCREMENTAL, est, gain, target))
        boot = _percentile_bootstrap(terms, accounts, n_boot, seed)
        rows.append(_row(name, f"{INCREMENTAL}_percentile", replace(est, low=boot[0], high=boot[1]), gain, target))
        switched = incremental_terms(data, chosen, max_weight=SWITCH_WEIGHT)
        est = estimate_mean(switched, accounts, level=LEVEL,
                            variance=incremental_variance(data, chosen, max_weight=SWITCH_WEIGHT))
        rows.append(_row(name, f"{INCREMENTAL}_switch", est, gain, target))
    return rows


def _percentile_bootstrap(terms: np.ndarray, cluster: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """The interval the incremental estimator had before: percentiles of an account-cluster bootstrap."""
    w = cluster_weights(cluster, n_boot, seed)
    boot = w @ terms / np.maximum(w.sum(axis=1), 1e-12)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return float(low), float(high)


def _row(policy: str, estimator: str, est, truth: float, target: TargetPolicy) -> dict[str, object]:
    return {"policy": policy, "estimator": estimator, "estimate": est.value, "low": est.low, "high": est.high,
            "truth": truth, "matches": int((target.action_prob > 0).sum())}


def run_world(world: str, n_accounts: int, seed: int, draws: int, n_boot: int, cache: Path) -> pd.DataFrame:
    started = time.perf_counter()
    rep, truth_frame, _ = prepare_world(world, n_accounts, seed, cache)
    truth = align_truth(rep, truth_frame, world)
    policies = check_policies(rep, truth)
    rng = np.random.default_rng([seed, 7919])
    rows = []
    for d in range(draws):
        drawn = draw_log(rep, truth, rng)
        for row in evaluate_draw(drawn, truth, policies, n_boot, seed=d):
            rows.append({"world": world, "accounts": n_accounts, "seed": seed, "draw": d, **row})
    out = pd.DataFrame(rows)
    out["min_propensity"] = float(truth.logging[truth.logging > 0].min())
    out["ineligible_pairs"] = truth.ineligible_logged
    out["seconds"] = time.perf_counter() - started
    return out


def summarize(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Bias, RMSE, coverage and mean width of the intervals, grouped by ``by``."""
    r = rows.assign(error=rows["estimate"] - rows["truth"], width=rows["high"] - rows["low"],
                    covered=(rows["low"] <= rows["truth"]) & (rows["truth"] <= rows["high"]))
    g = r.groupby(by, sort=False)
    return pd.DataFrame({"n": g.size(), "bias": g["error"].mean(), "rmse": g["error"].apply(lambda e: float(np.sqrt((e**2).mean()))),
                         "coverage": g["covered"].mean(), "width": g["width"].mean(),
                         "mean_truth": g["truth"].mean()}).reset_index()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS), metavar="NAME",
                        help=f"world presets (default: all of {', '.join(WORLDS)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[1500],
                        help="accounts per world (one decision each); 'default' = each preset's own size")
    parser.add_argument("--draws", type=int, default=20, help="independent logs drawn per world and seed")
    parser.add_argument("--n-boot", type=int, default=DEFAULT_BOOTSTRAP)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="generated worlds and trained pipelines")
    parser.add_argument("--save", type=Path, help="write the per-(policy, world, seed) rows as CSV")
    parser.add_argument("--quick", action="store_true", help="wholesaler and digital, seed 0, 600 accounts, 4 draws")
    args = parser.parse_args(argv)
    if args.quick:
        args.worlds, args.seeds, args.sizes, args.draws = ["wholesaler", "digital"], [0], [600], 4
    return args


def size_arg(value: str) -> int | None:
    """An account count, or ``default`` for each preset's own default."""
    return None if value == "default" else int(value)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args = parse_args(argv)
    parts = []
    for world in args.worlds:
        for size in args.sizes:
            n_accounts = world_spec(world).default_accounts if size is None else size
            for seed in args.seeds:
                part = run_world(world, n_accounts, seed, args.draws, args.n_boot, args.cache)
                parts.append(part)
                print(f"{world} ({n_accounts:,} accounts) seed {seed}: {part['seconds'].iloc[0]:.0f} s, smallest "
                      f"logging propensity {part['min_propensity'].iloc[0]:.4f}", flush=True)
    rows = pd.concat(parts, ignore_index=True)
    pairs = summarize(rows, ["policy", "world", "accounts", "seed", "estimator"])
    print(f"\nPer estimator, over {rows.groupby(['policy', 'world', 'accounts', 'seed']).ngroups} (policy, world, "
          f"seed) pairs x {args.draws} drawn logs (one decision per account; EUR per decision):")
    print(table_text(summarize(rows, ["estimator"]).round(3)))
    print("\nPer estimator and world:")
    print(table_text(summarize(rows, ["estimator", "world", "accounts"]).round(3)))
    print("\nPer estimator and policy:")
    print(table_text(summarize(rows, ["estimator", "policy"]).round(3)))
    if args.save:
        pairs.to_csv(args.save, index=False)
        print(f"\nper-pair rows: {args.save}")
    return rows


if __name__ == "__main__":
    main()
