"""Speed and memory at scale: generate, train and recommend through the CLI, and scoring throughput.

    python benchmarks/scale.py --accounts 20000 100000
    python benchmarks/scale.py --accounts 20000 100000 --data data/w20k data/w100k

For each size: ``symbiose generate`` (skipped when ``--data`` names an existing directory for that
size), ``symbiose train`` (default configuration), ``symbiose recommend`` (pandas engine) and, when
pyspark is importable and ``recommend`` has an ``--engine`` option, ``symbiose recommend --engine
spark --master local[2]``. Each step runs in its own process; the table gives its wall seconds, CPU
seconds and peak memory: the largest resident set of the step's process or of any process it
waited for (``wait4``), and the largest sum of the proportional set sizes of the step's process and
its descendants, sampled every 0.2 s (forked workers share pages, which resident sets count twice). Then the seconds of the scoring snapshot's features and the scoring
throughput of the decision pipeline next to one bare ``Booster.predict`` of the conversion model on
the same rows, and their ratio, measured by ``benchmarks/scoring_ratio.py`` (``--repeats``:
alternating timings, medians).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks.scoring_ratio

BIN = Path(sys.executable).parent / "symbiose"


def _run(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``symbiose ARGS`` in its own process: wall seconds, CPU seconds, peak MiB of the largest
    process, and peak MiB of the step's processes together (proportional set sizes summed)."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(BIN), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_pss = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_pss, args=(proc.pid, done, peak_pss), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"symbiose {' '.join(args)} failed with exit code {code}:\n{stderr[-2000:]}")
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_MiB": usage.ru_maxrss / 1024,
            "peak_all_MiB": peak_pss[0] / 1024}


def _sample_pss(pid: int, done: threading.Event, peak: list[int], every: float = 0.2) -> None:
    """Largest sum of proportional set sizes (KiB) of ``pid`` and its descendants, every ``every``
    seconds until ``done`` (Linux; stays 0 elsewhere). Forked workers share the parent's pages
    until written, so PSS counts each page once across them, unlike resident sets."""
    while not done.wait(every):
        total = 0
        for p in _tree(pid):
            try:
                for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            except OSError:  # gone meanwhile, or not Linux
                continue
        peak[0] = max(peak[0], total)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from ``/proc/PID/task/*/children``."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in children.read_text().split()]
            except OSError:
                continue
    return found


def spark_available(env: dict[str, str]) -> str | None:
    """None when the Spark engine can run; otherwise why not."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    help_text = subprocess.run([str(BIN), "recommend", "--help"], env=env, capture_output=True, text=True).stdout
    if "--engine" not in help_text:
        return "`symbiose recommend` has no --engine option yet"
    return None


def throughput(data_dir: Path, env: dict[str, str], repeats: int = 1) -> dict[str, float]:
    """Seconds of the scoring snapshot's features, then the pipeline / bare-predict throughput of
    ``benchmarks/scoring_ratio.py`` (the one definition of that ratio) on the same snapshot."""
    os.environ.update(env)
    from benchmarks.scoring_ratio import scoring_ratio
    from features.actions import action_space
    from features.loading import load_dataset
    from features.sample_data import DEFAULT_AS_OF
    from features.snapshot import build_snapshot
    from models.pipeline import split_snapshot
    from models.recommend import load_model

    pipeline, _ = load_model(None)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    data = load_dataset(data_dir).before(as_of)
    actions = action_space(data)
    started = time.perf_counter()
    snap = build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"])))
    features_s = time.perf_counter() - started
    frame, state = split_snapshot(snap)
    ratio = scoring_ratio(frame, state, actions, data.policy, data.category_margin_rates(), pipeline, repeats)
    return {"snapshot_features_s": features_s, **ratio}


def run_size(accounts: int, data: Path | None, as_of: str, seed: int, work: Path,
             with_throughput: bool, repeats: int = 1) -> tuple[list[dict[str, object]], dict[str, float] | None]:
    """The CLI steps (and throughput) for one size, in an MLflow store of its own under ``work``."""
    env = {**os.environ, "SYMBIOSE_HOME": str(work / f"home-{accounts}")}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    rows: list[dict[str, object]] = []

    def step(name: str, args: list[str]) -> None:
        rows.append({"accounts": accounts, "step": name, **_run(args, env)})
        print(f"{accounts:,} accounts, {name}: {rows[-1]['seconds']:.1f} s, {rows[-1]['peak_MiB']:.0f} MiB "
              f"(all processes: {rows[-1]['peak_all_MiB']:.0f} MiB)", flush=True)

    if data is None or not data.is_dir():
        data = data or work / f"data-{accounts}"
        step("generate", ["generate", "--out", str(data), "--accounts", str(accounts), "--seed", str(seed),
                          "--format", "parquet"])
    step("train", ["train", "--data", str(data), "--as-of", as_of])
    step("recommend (pandas)", ["recommend", "--data", str(data), "--as-of", as_of,
                                "--out", str(work / f"recs-{accounts}.parquet")])
    why_not = spark_available(env)
    if why_not is None:
        step("recommend (spark, local[2])", ["recommend", "--engine", "spark", "--master", "local[2]", "--data",
                                            str(data), "--as-of", as_of, "--out",
                                            str(work / f"recs-spark-{accounts}.parquet")])
    else:
        print(f"{accounts:,} accounts: Spark step skipped: {why_not}", flush=True)
    if not with_throughput:
        return rows, None
    done = subprocess.run([sys.executable, __file__, "--throughput-of", str(data), "--repeats", str(repeats)],
                          env=env, check=True, capture_output=True, text=True)
    return rows, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[20000])
    parser.add_argument("--data", type=Path, nargs="*", default=[],
                        help="existing data directories, one per --accounts size, used instead of generating")
    parser.add_argument("--as-of", default="2025-07-01")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-throughput", action="store_true", help="skip the scoring throughput")
    parser.add_argument("--repeats", type=int, default=1, help="alternating timings of the throughput (medians)")
    parser.add_argument("--throughput-of", type=Path, help=argparse.SUPPRESS)  # one size's throughput, as JSON
    args = parser.parse_args()
    if args.throughput_of is not None:
        print(json.dumps(throughput(args.throughput_of, dict(os.environ), args.repeats)))
        return
    if args.data and len(args.data) != len(args.accounts):
        parser.error(f"--data names {len(args.data)} directories for {len(args.accounts)} --accounts sizes")
    rows: list[dict[str, object]] = []
    ratios: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, accounts in enumerate(args.accounts):
            data = args.data[i] if args.data else None
            size_rows, tp = run_size(accounts, data, args.as_of, args.seed, Path(tmp), not args.no_throughput,
                                     args.repeats)
            rows += size_rows
            if tp is not None:
                ratios[accounts] = tp
    print("\nCLI steps (each in its own process):")
    print(pd.DataFrame(rows).round(1).to_string(index=False))
    for accounts, tp in ratios.items():
        print(f"\nScoring throughput, {accounts:,} accounts:")
        print(pd.Series(tp).round(2).to_string())


if __name__ == "__main__":
    main()
