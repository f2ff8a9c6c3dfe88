"""Speed and memory at scale: generate, train and recommend through the CLI, and scoring throughput.

    python benchmarks/scale.py --accounts 20000

Prints wall time and peak memory of each CLI step (each in its own process), and the scoring
throughput of the decision pipeline (account-actions per second, eligibility + design matrix +
conversion and value models) next to the learner's bare ``predict_proba`` on the same matrix.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BIN = Path(sys.executable).parent / "symbiose"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    subprocess.run([str(BIN), *args], check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mib


def throughput(data_dir: Path, env: dict[str, str]) -> dict[str, float]:
    os.environ.update(env)
    from features.actions import action_space, eligible_mask
    from features.loading import load_dataset
    from features.sample_data import DEFAULT_AS_OF
    from features.snapshot import build_snapshot
    from models.decision import score_actions
    from models.design import action_frame
    from models.pipeline import split_snapshot
    from models.recommend import load_model

    pipeline, _ = load_model(None)
    ds = load_dataset(data_dir)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    data = ds.before(as_of)
    actions = action_space(data)
    started = time.perf_counter()
    snap = build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"])))
    features_s = time.perf_counter() - started
    frame, state = split_snapshot(snap)
    started = time.perf_counter()
    eligible = eligible_mask(state, actions, data.policy)
    scored = score_actions(frame, eligible, actions, design=pipeline.design, classifier=pipeline.classifier,
                           value_model=pipeline.value_model, category_margin=data.category_margin_rates(),
                           prior=pipeline.lift_prior, calibration=pipeline.calibration)
    score_s = time.perf_counter() - started
    n_pairs = len(scored.value) + int(np.isfinite(scored.base_p).sum())
    # The same pair matrix, scored by the learner's bare conversion model only.
    acts = actions.iloc[scored.pair_action]
    X = pipeline.design.with_actions(
        pipeline.design.encode(frame)[scored.pair_row],
        action_frame(acts["channel"].to_numpy(), acts["offer_id"].to_numpy(),
                     acts["discount_pct"].to_numpy(), acts["executed_by"].to_numpy()))
    started = time.perf_counter()
    pipeline.classifier.predict_proba(X)
    bare_s = time.perf_counter() - started
    return {"snapshot_features_s": features_s, "score_s": score_s, "pairs": n_pairs,
            "pipeline_pairs_per_s": n_pairs / score_s, "bare_predict_rows_per_s": len(X) / bare_s,
            "ratio_pipeline_to_bare": (n_pairs / score_s) / (len(X) / bare_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SYMBIOSE_HOME": str(Path(tmp) / "home")}
        env.pop("MLFLOW_TRACKING_URI", None)
        data = Path(tmp) / "data"
        rows = []
        s, m = _run(["generate", "--out", str(data), "--accounts", str(args.accounts), "--seed", str(args.seed)], env)
        rows.append(("generate", s, m))
        s, m = _run(["train", "--data", str(data), "--as-of", "2025-07-01"], env)
        rows.append(("train", s, m))
        s, m = _run(["recommend", "--data", str(data), "--as-of", "2025-07-01", "--out", str(Path(tmp) / "r.parquet")], env)
        rows.append(("recommend", s, m))
        print(f"\nCLI steps, {args.accounts:,} accounts (peak = largest child process so far):")
        print(pd.DataFrame(rows, columns=["step", "seconds", "peak_MiB"]).round(1).to_string(index=False))
        tp = throughput(data, env)
        print("\nScoring throughput:")
        print(pd.Series(tp).round(2).to_string())


if __name__ == "__main__":
    main()
