"""Uplift peers in the same run: open-source uplift learners next to Symbiose, same folds and data.

Peers (``benchmarks/peers/learners.py``; install them with the bench extra, ``make bench-peers``):
scikit-uplift SoloModel and TwoModels; causalml S-, T-, X- and DR-learners with LightGBM and its
uplift random forest; econml DRLearner and CausalForestDML. Symbiose runs once per learner it
offers (``--symbiose``; default: every value ``TrainingConfig.learner`` accepts).

- ``hillstrom``, ``starbucks``: K-fold cross-validation over the public experiments' customers
  (``benchmarks/peers/public.py``); IPS spend and visits / IRR and NIR per customer with 95 %
  bootstrap intervals, next to the fixed-arm references and the published Starbucks reference.
- ``worlds``: generated worlds valued on the generator's truth (``benchmarks/peers/worlds.py``):
  the peers learn from Symbiose's own design matrix and decide through its decision arithmetic.

    python -m benchmarks.peers                                         # everything, full size
    python -m benchmarks.peers --quick                                 # a few minutes
    python -m benchmarks.peers --datasets starbucks --peers causalml-t econml-cf --symbiose s
    python -m benchmarks.peers --datasets worlds --sizes 3000 --seeds 0 1 2

On a busy machine run it with ``OMP_WAIT_POLICY=PASSIVE`` (``make bench-peers`` does): LightGBM's
OpenMP threads otherwise spin while they wait for each other, which made a 2-thread fit ten to
twenty times slower here when other jobs kept the cores busy (Symbiose and peers alike).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.peers.learners import PEERS, check_peers
from benchmarks.peers.public import run_public
from benchmarks.peers.worlds import ARM_LEVELS, run_world
from benchmarks.public.convert import DEFAULT_DATA_DIR
from benchmarks.report import table_text
from models.learners import LEARNERS
from models.training import TrainingConfig

DATASETS = ("hillstrom", "starbucks", "worlds")


def symbiose_learners() -> list[str]:
    """Every learner ``TrainingConfig`` accepts: ``models.learners.LEARNERS`` and ``auto`` once it exists."""
    names = list(LEARNERS)
    for extra in ("auto",):
        if extra in names:
            continue
        try:
            TrainingConfig(learner=extra)
        except ValueError:
            continue
        names.append(extra)
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--peers", nargs="+", default=None, help=f"default: all of {', '.join(PEERS)}")
    parser.add_argument("--symbiose", nargs="*", default=None,
                        help="Symbiose's learners (default: every one TrainingConfig accepts); none = peers only")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="fold assignment and sampling seed (public data)")
    parser.add_argument("--rows", type=int, default=None, help="a seeded sample of this many customers (public data)")
    parser.add_argument("--worlds", nargs="+", default=["default"], help="generator world presets")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000], help="accounts per generated world")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="generated worlds' seeds")
    parser.add_argument("--arm-level", choices=ARM_LEVELS, default="offer",
                        help="peers' treatment on generated worlds: channel x offer, or x discount too")
    parser.add_argument("--min-arm-rows", type=int, default=300,
                        help="generated worlds: arms with fewer logged touches are dropped for the peers")
    parser.add_argument("--peer-rows", type=int, default=None,
                        help="generated worlds: a seeded sample of at most this many logged rows for the peers")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder of the public CSV files")
    parser.add_argument("--save", type=Path, default=None,
                        help="folder for each method's results as soon as it is done; a rerun with the same "
                             "options resumes from it (public data) and appends there (worlds)")
    parser.add_argument("--quick", action="store_true",
                        help="development run: 3 folds over 6,000 customers, one 500-account world, "
                             "the fast peers, learner s, 200 replicates (explicit options still apply)")
    args = parser.parse_args(argv)
    if args.quick:
        given = set(argv or [])
        args.folds = args.folds if "--folds" in given else 3
        args.rows = args.rows if "--rows" in given else 6000
        args.sizes = args.sizes if "--sizes" in given else [500]
        args.seeds = args.seeds if "--seeds" in given else [0]
        args.replicates = args.replicates if "--replicates" in given else 200
        if args.peers is None:
            args.peers = ["sklift-two", "causalml-t", "causalml-x", "econml-dr"]
        if args.symbiose is None:
            args.symbiose = ["s"]
    args.peers = check_peers(list(PEERS) if args.peers is None else args.peers)
    allowed = symbiose_learners()
    args.symbiose = allowed if args.symbiose is None else args.symbiose
    unknown = [x for x in args.symbiose if x not in allowed]
    if unknown:
        parser.error(f"--symbiose {unknown}: expected any of {', '.join(allowed)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"peers: {', '.join(args.peers)}; Symbiose: {', '.join(args.symbiose) or '-'}", flush=True)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    started = time.perf_counter()
    for name in args.datasets:
        if name == "worlds":
            rows: list[dict[str, object]] = []

            def save(current: list[dict[str, object]], earlier: list[dict[str, object]] = rows) -> None:
                if args.save is not None:
                    args.save.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(earlier + current).to_csv(args.save / "worlds.csv", index=False)

            for world in args.worlds:
                for n in args.sizes:
                    for seed in args.seeds:
                        rows.extend(run_world(n, seed, world, args.symbiose, args.peers, level=args.arm_level,
                                              min_arm_rows=args.min_arm_rows, max_rows=args.peer_rows,
                                              replicates=args.replicates, done=save))
                        save([])
            print_worlds(pd.DataFrame(rows))
            continue
        table, _ = run_public(name, args.peers, args.symbiose, args.folds, args.seed, args.rows,
                              args.replicates, args.data, args.save)
        print(f"\n{name}: {args.folds} folds, seed {args.seed}"
              + (f", {args.rows:,} customers sampled" if args.rows else "") + " (seconds summed over folds)")
        print(table_text(table, floatfmt=".4f"))
    print(f"\n{time.perf_counter() - started:.0f} s in all")


def print_worlds(table: pd.DataFrame) -> None:
    """Per world and method, then the mean over seeds per world preset, size and method."""
    cols = ["world", "accounts", "seed", "method", "normalized", "V_policy", "V_ci_low", "V_ci_high",
            "ineligible", "contact_share", "discounted_share", "fit_s", "predict_s"]
    print("\nGenerated worlds (V = true incremental margin in EUR per account, 95 % bootstrap over accounts):")
    print(table_text(table[[c for c in cols if c in table]].round(3)))
    table = table.assign(method=table["method"].str.replace(r"best single action \(.*\)", "best single action",
                                                            regex=True))
    summary = table.groupby(["world", "accounts", "method"], sort=False).agg(
        normalized=("normalized", "mean"), normalized_min=("normalized", "min"), V_policy=("V_policy", "mean"),
        ineligible=("ineligible", "sum"), discounted_share=("discounted_share", "mean"),
        seconds=("fit_s", "mean"), predict_s=("predict_s", "mean")).reset_index()
    summary["seconds"] = summary["seconds"] + summary.pop("predict_s")
    print("\nMean over seeds:")
    print(table_text(summary.round(3)))


if __name__ == "__main__":
    main()
