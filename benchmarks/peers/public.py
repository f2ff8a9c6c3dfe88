"""Peers and Symbiose on the public randomized experiments, on the same folds and held-out customers.

Folds come from ``benchmarks.public.cv.fold_of`` over the experiment's customers, so every method
sees exactly the same training and held-out customers. Symbiose trains and recommends through the
normal path (``benchmarks.public.cv.cross_validate``: a data directory per fold, ``train_and_log``,
recommendations for the held-out customers as never-seen accounts), once per learner. The peers get
the customers' attribute columns (numbers as they are, text as integer codes of the sorted levels),
the assigned arm, the outcome and the design's propensities, and predict each arm's effect for the
held-out customers; their policy takes the arm with the largest predicted net value if positive:

- Hillstrom: the e-mail with the largest predicted spend uplift (e-mail costs nothing);
- Starbucks: promote when 10 × predicted purchase uplift − 0.15 > 0.

Policy values are pooled over the held-out folds (every customer is held out once); intervals are
95 % percentile bootstraps over customers, paired across methods.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.peers.learners import MISSING, ArmData, fit_peer
from benchmarks.public.convert import (
    DEFAULT_DATA_DIR,
    HILLSTROM_CSV,
    STARBUCKS_CSV,
    Experiment,
    hillstrom_experiment,
    starbucks_experiment,
)
from benchmarks.public.cv import cross_validate, fold_of
from benchmarks.public.hillstrom import policy_values
from benchmarks.public.metrics import bootstrap, irr_nir
from benchmarks.public.starbucks import REFERENCE_CUSTOMERS, REFERENCE_NIR
from features.policy import NONE_CHANNEL
from models.training import TrainingConfig


@dataclass(frozen=True)
class PublicSpec:
    """How a public experiment is judged: its arms (offer ids), the outcome the peers learn and
    the policy maximizes, and the net value of one unit of predicted uplift minus the contact cost."""

    name: str
    csv: str
    load: Callable[..., Experiment]
    arms: tuple[str, ...]
    outcome: str
    binary: bool
    unit_value: float
    contact_cost: float


HILLSTROM = PublicSpec("hillstrom", HILLSTROM_CSV, hillstrom_experiment, ("mens", "womens"), "spend",
                       False, 1.0, 0.0)
STARBUCKS = PublicSpec("starbucks", STARBUCKS_CSV, starbucks_experiment, ("promo",), "purchase",
                       True, 10.0, 0.15)
SPECS = {s.name: s for s in (HILLSTROM, STARBUCKS)}


def attribute_matrix(accounts: pd.DataFrame) -> np.ndarray:
    """The customers' attribute columns as one float matrix, the same for every peer: numbers as
    they are, text as codes of the sorted levels, constant columns dropped, missing = ``MISSING``."""
    cols = [c for c in accounts.columns if c not in ("account_id", "consent_email")
            and accounts[c].nunique(dropna=False) > 1]
    out = np.empty((len(accounts), len(cols)))
    for j, c in enumerate(cols):
        col = accounts[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            out[:, j] = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            levels = sorted(col.dropna().astype(str).unique())
            out[:, j] = pd.Index(levels).get_indexer(col.astype(str)).astype(float)
    return np.where(np.isnan(out), MISSING, out)


def _arm_codes(outcomes: pd.DataFrame, spec: PublicSpec) -> np.ndarray:
    codes = {NONE_CHANNEL: 0, **{a: i + 1 for i, a in enumerate(spec.arms)}}
    unknown = sorted(set(outcomes["arm"]) - set(codes))
    if unknown:
        raise ValueError(f"{spec.name}: arms {unknown} in the data; expected {list(codes)}")
    return outcomes["arm"].map(codes).to_numpy(dtype=int)


def choose_arms(effects: np.ndarray, spec: PublicSpec) -> np.ndarray:
    """Per customer: the arm (offer id or ``none``) with the largest predicted net value if > 0."""
    net = spec.unit_value * effects - spec.contact_cost
    best = net.argmax(axis=1)
    names = np.asarray(spec.arms, dtype=object)[best]
    return np.where(net[np.arange(len(net)), best] > 0, names, NONE_CHANNEL)


def peer_policy(exp: Experiment, spec: PublicSpec, name: str, folds: int, seed: int
                ) -> tuple[np.ndarray, list[dict[str, object]]]:
    """(each customer's held-out arm in the order of ``exp.accounts``, seconds per fold) of one peer."""
    outcomes = exp.outcomes.set_index("account_id").loc[exp.accounts["account_id"]].reset_index()
    X = attribute_matrix(exp.accounts)
    arm = _arm_codes(outcomes, spec)
    y = outcomes[spec.outcome].to_numpy(dtype=float)
    p = outcomes["propensity"].to_numpy(dtype=float)
    # Each arm's design propensity (constant over customers in these experiments).
    shares = np.array([p[arm == k].mean() for k in range(len(spec.arms) + 1)])
    fold = fold_of(len(exp.accounts), folds, seed)
    chosen = np.full(len(X), NONE_CHANNEL, dtype=object)
    times: list[dict[str, object]] = []
    for k in range(folds):
        train, test = fold != k, fold == k
        data = ArmData(X[train], arm[train], y[train], np.tile(shares, (int(train.sum()), 1)), spec.binary)
        started = time.perf_counter()
        predict = fit_peer(name, data, seed)
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        chosen[test] = choose_arms(predict(X[test]), spec)
        times.append({"method": name, "fold": k, "fit_s": fit_s, "predict_s": time.perf_counter() - started})
    return chosen, times


def symbiose_policy(exp: Experiment, learner: str, folds: int, seed: int
                    ) -> tuple[np.ndarray, list[dict[str, object]]]:
    """Like :func:`peer_policy` for Symbiose with one learner, through the normal training path.
    Seconds: fit_s = the model fitting of ``train_pipeline``, predict_s = loading the held-out
    directory and the registered model and recommending; total_s adds writing and loading the
    fold's directory, the evaluation and the MLflow run."""
    with tempfile.TemporaryDirectory() as tmp:
        held, summary = cross_validate(exp, Path(tmp), folds=folds, seed=seed, log=False,
                                       config=TrainingConfig(learner=learner))
    arms = held.set_index("account_id")["policy_arm"].reindex(exp.accounts["account_id"]).to_numpy(dtype=object)
    times = [{"method": f"symbiose-{learner}", "fold": row.fold, "fit_s": row.fit_s, "predict_s": row.recommend_s,
              "total_s": row.train_s + row.recommend_s} for row in summary.itertuples()]
    return arms, times


def _seconds(times: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    t = times.assign(total_s=times.get("total_s", pd.Series(np.nan, index=times.index)))
    t["total_s"] = t["total_s"].fillna(t["fit_s"] + t["predict_s"])
    return t.groupby("method")[["fit_s", "predict_s", "total_s"]].sum().reindex(methods)


def hillstrom_table(exp: Experiment, chosen: pd.DataFrame, times: pd.DataFrame, methods: list[str],
                    replicates: int, seed: int) -> pd.DataFrame:
    """One row per method and reference policy: IPS spend and visits per customer with 95 %
    intervals, the difference to all men's e-mail (spend), arm shares and seconds."""
    held = exp.outcomes.merge(chosen, on="account_id", validate="one_to_one")
    rows = []
    for method in methods:
        v = policy_values(held.assign(policy_arm=held[method]), replicates, seed)
        est = v.set_index(["outcome", "policy"])
        spend, visit = est.loc[("spend", "policy")], est.loc[("visit", "policy")]
        diff = est.loc[("spend", "policy - all mens")]
        rows.append({"method": method, "spend": spend["estimate"], "spend_ci": _ci(spend),
                     "spend_vs_all_mens": diff["estimate"], "spend_vs_all_mens_ci": _ci(diff),
                     "visits": visit["estimate"], "visits_ci": _ci(visit),
                     "mens_share": float((held[method] == "mens").mean()),
                     "womens_share": float((held[method] == "womens").mean()),
                     "none_share": float((held[method] == NONE_CHANNEL).mean())})
    refs = policy_values(held.assign(policy_arm=NONE_CHANNEL), replicates, seed).set_index(["outcome", "policy"])
    for name, arm in (("all mens", "mens"), ("all womens", "womens"), ("all none", NONE_CHANNEL)):
        spend, visit = refs.loc[("spend", name)], refs.loc[("visit", name)]
        rows.append({"method": f"reference: {name.replace('all none', 'no e-mail')}", "spend": spend["estimate"],
                     "spend_ci": _ci(spend), "visits": visit["estimate"], "visits_ci": _ci(visit),
                     "mens_share": float(arm == "mens"), "womens_share": float(arm == "womens"),
                     "none_share": float(arm == NONE_CHANNEL)})
    table = pd.DataFrame(rows)
    return table.merge(_seconds(times, methods).reset_index(), on="method", how="left")


def starbucks_table(exp: Experiment, chosen: pd.DataFrame, times: pd.DataFrame, methods: list[str],
                    replicates: int, seed: int) -> pd.DataFrame:
    """One row per method and reference strategy: promoted share, IRR and NIR per customer with
    95 % intervals (paired bootstrap over held-out customers), the difference in NIR per customer
    to the first method, NIR in all, seconds."""
    held = exp.outcomes.merge(chosen, on="account_id", validate="one_to_one")
    treated = (held["arm"] != NONE_CHANNEL).to_numpy()
    purchase = held["purchase"].to_numpy(dtype=float)
    strategies = {m: (held[m] != NONE_CHANNEL).to_numpy() for m in methods}
    strategies["reference: promote everyone"] = np.ones(len(held), dtype=bool)
    strategies["reference: promote nobody"] = np.zeros(len(held), dtype=bool)

    def statistic(idx: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, promote in strategies.items():
            s = irr_nir(promote[idx], treated[idx], purchase[idx])
            out[f"{name}|IRR"], out[f"{name}|NIR per customer"] = s.irr, s.nir / len(idx)
        for name in strategies:
            out[f"{name}|vs first"] = out[f"{name}|NIR per customer"] - out[f"{methods[0]}|NIR per customer"]
        return out

    boot = bootstrap(statistic, len(held), replicates, seed)
    boot[["method", "metric"]] = boot["name"].str.split("|", expand=True)
    est = boot.set_index(["method", "metric"])
    rows = []
    for name, promote in strategies.items():
        irr, nir, diff = est.loc[(name, "IRR")], est.loc[(name, "NIR per customer")], est.loc[(name, "vs first")]
        rows.append({"method": name, "promoted_share": float(promote.mean()), "IRR": irr["estimate"],
                     "IRR_ci": _ci(irr, 4), "NIR_per_customer": nir["estimate"], "NIR_ci": _ci(nir, 5),
                     f"NIR_per_customer_vs_{methods[0]}": diff["estimate"], "vs_ci": _ci(diff, 5),
                     "NIR": nir["estimate"] * len(held)})
    per_customer = REFERENCE_NIR / REFERENCE_CUSTOMERS
    rows.append({"method": "reference: published (scaled)", "IRR": 0.0188, "NIR_per_customer": per_customer,
                 "NIR": per_customer * len(held)})
    table = pd.DataFrame(rows)
    return table.merge(_seconds(times, methods).reset_index(), on="method", how="left")


def _ci(row: pd.Series, digits: int = 4) -> str:
    return f"{row['ci_low']:.{digits}f} – {row['ci_high']:.{digits}f}"


def run_public(name: str, peers: list[str], learners: list[str], folds: int, seed: int, rows: int | None,
               replicates: int, data_dir: Path = DEFAULT_DATA_DIR, save: Path | None = None,
               log: Callable[[str], None] = print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results table, per-fold seconds) of Symbiose's learners and the peers on one experiment.

    With ``save``, each method's held-out arms and seconds are written to ``save`` as soon as it is
    done (``<name>-arms.csv``, ``<name>-seconds.csv``), and methods already there for the same
    customers are not run again (a long run can be resumed)."""
    spec = SPECS[name]
    exp = spec.load(data_dir / spec.csv, rows=rows, seed=seed)
    log(f"{name}: {len(exp.accounts):,} customers, {folds} folds, seed {seed}")
    chosen = pd.DataFrame({"account_id": exp.accounts["account_id"].to_numpy(),
                           "fold": fold_of(len(exp.accounts), folds, seed)})
    times = pd.DataFrame(columns=["method", "fold", "fit_s", "predict_s", "total_s"])
    arms_csv = save / f"{name}-arms.csv" if save else None
    seconds_csv = save / f"{name}-seconds.csv" if save else None
    if arms_csv is not None and arms_csv.is_file() and seconds_csv is not None and seconds_csv.is_file():
        saved = pd.read_csv(arms_csv, dtype=str)
        if saved[["account_id", "fold"]].equals(chosen.astype({"fold": str})):
            chosen, times = saved.astype({"fold": int}), pd.read_csv(seconds_csv)
            log(f"  resumed from {arms_csv}: {', '.join(c for c in chosen.columns[2:])}")
    methods = [f"symbiose-{lr}" for lr in learners] + list(peers)
    for method in [*peers, *methods[:len(learners)]]:  # the peers first: most are quick
        if method in chosen.columns:
            continue
        if method.startswith("symbiose-"):
            arms, t = symbiose_policy(exp, method.removeprefix("symbiose-"), folds, seed)
        else:
            arms, t = peer_policy(exp, spec, method, folds, seed)
        chosen[method] = arms
        times = pd.concat([times.dropna(axis=1, how="all"), pd.DataFrame(t)], ignore_index=True)
        log(f"  {name} {method}: {sum(x.get('total_s', x['fit_s'] + x['predict_s']) for x in t):.0f} s, "
            f"contact share {(chosen[method] != NONE_CHANNEL).mean():.3f}")
        if arms_csv is not None and seconds_csv is not None:
            save.mkdir(parents=True, exist_ok=True)
            chosen.to_csv(arms_csv, index=False)
            times.to_csv(seconds_csv, index=False)
    make = starbucks_table if name == "starbucks" else hillstrom_table
    return make(exp, chosen, times, methods, replicates, seed), times
