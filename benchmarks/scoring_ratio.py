"""Scoring throughput of the decision pipeline against one bare LightGBM prediction of the same rows.

    python benchmarks/scoring_ratio.py --data DIR [--model URI] [--repeats 3]

Rows: the design rows the decision scores — every eligible (account, action) pair plus one `none`
row per account × category. Pipeline: from the feature frame and the contact state to the value of
every pair (``features.actions.eligible_mask`` + ``models.decision.score_actions``: eligibility,
design matrix, conversion model, calibration, value model, expected incremental margin). Bare: the
conversion model's LightGBM ``Booster.predict`` (its best iteration, the same ``num_threads``) on
those rows' finished design matrix, built beforehand in chunks and not timed. The two are timed
alternately ``repeats`` times; the medians are reported, in wall and in CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BARE_CHUNK_ROWS = 200_000


def _timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _bare_seconds(pipeline: Any, frame: pd.DataFrame, scored: Any, actions: pd.DataFrame,
                  threads: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``Booster.predict`` over the `none` and pair design rows of ``scored``,
    and the number of rows (matrices built chunk by chunk, outside the timing)."""
    from features.policy import NONE_CHANNEL
    from models.design import action_frame

    design, classifier = pipeline.design, pipeline.classifier
    booster, rounds = classifier.booster_, classifier.best_iteration_
    encoded = design.encode(frame)
    base_rows = _base_rows(frame, scored)
    acts = actions.iloc[scored.pair_action]
    row_of = np.concatenate([base_rows, scored.pair_row])
    channel = np.concatenate([np.full(len(base_rows), NONE_CHANNEL, dtype=object), acts["channel"].to_numpy(dtype=object)])
    offer = np.concatenate([np.full(len(base_rows), None, dtype=object), acts["offer_id"].to_numpy(dtype=object)])
    discount = np.concatenate([np.zeros(len(base_rows)), acts["discount_pct"].to_numpy(dtype=float)])
    executed = np.concatenate([np.full(len(base_rows), None, dtype=object), acts["executed_by"].to_numpy(dtype=object)])
    extra: dict[str, Any] = {"num_threads": threads} if threads > 0 else {}
    wall = cpu = 0.0
    for start in range(0, len(row_of), BARE_CHUNK_ROWS):
        part = slice(start, start + BARE_CHUNK_ROWS)
        X = design.with_actions(encoded[row_of[part]], action_frame(channel[part], offer[part], discount[part],
                                                                    executed[part]))
        _, w, c = _timed(partial(booster.predict, X, num_iteration=rounds, **extra))
        wall, cpu = wall + w, cpu + c
    return wall, cpu, len(row_of)


def _base_rows(frame: pd.DataFrame, scored: Any) -> np.ndarray:
    from models.decision import row_positions

    pos = row_positions(frame, scored.accounts, scored.categories)
    return pos[pos >= 0]


def scoring_ratio(frame: pd.DataFrame, state: pd.DataFrame, actions: pd.DataFrame, policy: Any,
                  category_margin: dict[str, float], pipeline: Any, repeats: int = 3) -> dict[str, float]:
    """Rows per second of the decision pipeline and of the bare conversion model on the same rows,
    and their ratio (module docstring); ``frame``/``state`` as ``models.pipeline.split_snapshot`` gives."""
    from features.actions import eligible_mask
    from models.decision import score_actions

    threads = int(pipeline.classifier.booster_.params.get("num_threads", 0) or 0)

    def run_pipeline() -> Any:
        eligible = eligible_mask(state, actions, policy)
        return score_actions(frame, eligible, actions, design=pipeline.design, classifier=pipeline.classifier,
                             value_model=pipeline.value_model, category_margin=category_margin,
                             prior=pipeline.lift_prior, calibration=pipeline.calibration)

    pipe_wall, pipe_cpu, bare_wall, bare_cpu = [], [], [], []
    rows = 0
    for _ in range(repeats):
        scored, w, c = _timed(run_pipeline)
        pipe_wall.append(w)
        pipe_cpu.append(c)
        w, c, rows = _bare_seconds(pipeline, frame, scored, actions, threads)
        bare_wall.append(w)
        bare_cpu.append(c)
    pw, pc, bw, bc = (float(np.median(v)) for v in (pipe_wall, pipe_cpu, bare_wall, bare_cpu))
    return {"rows": rows, "pairs": len(scored.value), "threads": threads,
            "pipeline_s": pw, "bare_predict_s": bw, "pipeline_rows_per_s": rows / pw,
            "bare_predict_rows_per_s": rows / bw, "ratio_pipeline_to_bare": bw / pw,
            "pipeline_cpu_s": pc, "bare_predict_cpu_s": bc, "ratio_cpu": bc / pc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="data directory")
    parser.add_argument("--model", default=None, help="model URI (default: champion, else latest)")
    parser.add_argument("--as-of", default=None, help="as-of date (default: the generator's)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from features.actions import action_space
    from features.loading import load_dataset
    from features.sample_data import DEFAULT_AS_OF
    from features.snapshot import build_snapshot
    from models.pipeline import split_snapshot
    from models.recommend import load_model

    pipeline, version = load_model(args.model)
    data = load_dataset(args.data).before(pd.Timestamp(args.as_of or DEFAULT_AS_OF))
    as_of = pd.Timestamp(args.as_of or DEFAULT_AS_OF)
    actions = action_space(data)
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"]))))
    result = scoring_ratio(frame, state, actions, data.policy, data.category_margin_rates(), pipeline, args.repeats)
    print(f"model {version}, {len(state):,} accounts, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}")
    print(pd.Series(result).round(3).to_string())


if __name__ == "__main__":
    main()
