"""Start-up cost of the rep's day look-ahead: ``SuggestionService.build`` with ``later_days`` 14
(calls and visits blocked today scored with the rules as they will stand) against 0, alternating,
wall and CPU seconds per build.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/rep_day_lookahead.py [--accounts N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("SYMBIOSE_HOME", tempfile.mkdtemp(prefix="symbiose-bench-"))
    from features.loading import load_dataset
    from features.sample_data import generate
    from models.training import train_pipeline
    from models.training_config import TrainingConfig
    from serving.suggestions import LATER, SuggestionService

    root = Path(tempfile.mkdtemp(prefix="symbiose-lookahead-"))
    generate(root / "data", n_accounts=args.accounts, seed=3)
    dataset = load_dataset(root / "data")
    as_of = dataset.default_as_of()
    pipeline = train_pipeline(dataset, as_of, TrainingConfig(learner="s")).pipeline
    for round_ in range(args.rounds):
        for days in (0, 14):
            wall, cpu = time.perf_counter(), time.process_time()
            service = SuggestionService.build(dataset, as_of, pipeline, model_version="bench", later_days=days)
            print(f"round {round_} later_days={days:2d}: wall {time.perf_counter() - wall:6.2f} s, "
                  f"CPU {time.process_time() - cpu:6.2f} s, later rows {int(service.cols[LATER].sum())} "
                  f"of {len(service.cols[LATER])}")


if __name__ == "__main__":
    main()
