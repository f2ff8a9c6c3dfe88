"""The evaluator check: outcomes drawn with the truth's means, and one tiny run end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.evaluator_check import INCREMENTAL, draw_lines_margin, main, summarize


def test_drawn_margins_have_the_truths_probability_and_mean() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    p, mu, amount, rate = np.full(n, 0.3), np.full(n, 0.9), np.full(n, 200.0), np.full(n, 0.25)
    margin = draw_lines_margin(p, mu, amount, rate, rng)
    assert (margin > 0).mean() == pytest.approx(0.3, abs=0.005)
    assert margin.mean() == pytest.approx(0.9 * 200.0 * 0.25, rel=0.02)
    assert (draw_lines_margin(np.zeros(10), np.zeros(10), np.ones(10), np.ones(10), rng) == 0).all()


def test_summary_counts_coverage_and_bias() -> None:
    rows = pd.DataFrame({"estimator": ["a", "a", "b"], "estimate": [1.0, 3.0, 0.0], "low": [0.0, 2.5, -1.0],
                         "high": [2.0, 3.5, 1.0], "truth": [1.0, 2.0, 0.5]})
    s = summarize(rows, ["estimator"]).set_index("estimator")
    assert s.loc["a", "coverage"] == 0.5 and s.loc["a", "bias"] == pytest.approx(0.5)
    assert s.loc["b", "coverage"] == 1.0 and s.loc["a", "width"] == pytest.approx(1.5)


@pytest.mark.slow
def test_check_runs_on_a_tiny_world(tmp_path, capsys) -> None:
    saved = tmp_path / "pairs.csv"
    rows = main(["--worlds", "thin", "--sizes", "150", "--seeds", "0", "--draws", "2", "--n-boot", "30",
                 "--cache", str(tmp_path / "cache"), "--save", str(saved)])
    assert {"ips", "snips", "dr", INCREMENTAL} <= set(rows["estimator"])
    assert rows["truth"].notna().all() and np.isfinite(rows.loc[rows["estimator"] == "dr", "estimate"]).all()
    assert {"none", "model", "best_single", "random", "worst_predicted"} <= set(rows["policy"])
    pairs = pd.read_csv(saved)
    assert {"policy", "world", "seed", "estimator", "bias", "coverage", "width"} <= set(pairs.columns)
    assert "coverage" in capsys.readouterr().out
