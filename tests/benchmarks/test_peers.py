"""Smoke tests of the uplift-peers benchmark on tiny samples (skipped without the bench extra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("causalml")
pytest.importorskip("sklift")
pytest.importorskip("econml")

from benchmarks.peers.__main__ import parse_args, symbiose_learners  # noqa: E402
from benchmarks.peers.learners import MISSING, ArmData, fit_peer  # noqa: E402
from benchmarks.peers.public import STARBUCKS, attribute_matrix, choose_arms  # noqa: E402
from benchmarks.peers.worlds import run_world  # noqa: E402
from models.learners import LEARNERS  # noqa: E402


def _randomized(n: int, seed: int = 0) -> tuple[ArmData, np.ndarray]:
    """Two arms; arm 1 helps customers with x0 > 0 a lot, arm 2 hurts everyone a little."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    arm = rng.integers(0, 3, n)
    p = 0.2 + 0.4 * ((arm == 1) & (X[:, 0] > 0)) - 0.1 * (arm == 2)
    y = (rng.random(n) < p).astype(float)
    return ArmData(X, arm, y, np.full((n, 3), 1 / 3), binary=True), X


@pytest.mark.parametrize("name", ["sklift-two", "causalml-t", "causalml-x", "econml-dr"])
def test_peers_find_who_responds(name):
    data, _ = _randomized(6000)
    X_new = np.random.default_rng(1).normal(size=(400, 3))
    effects = fit_peer(name, data, seed=0)(X_new)
    assert effects.shape == (400, 2)
    up = X_new[:, 0] > 0
    assert effects[up, 0].mean() - effects[~up, 0].mean() > 0.2  # arm 1 helps only where x0 > 0
    assert effects[:, 1].mean() < 0.0  # arm 2 hurts


def test_arm_data_rejects_missing_values_and_gaps():
    data, X = _randomized(100)
    with pytest.raises(ValueError, match="missing values"):
        ArmData(np.where(X > 1, np.nan, X), data.arm, data.y, data.propensity, True)
    with pytest.raises(ValueError, match="every arm"):
        ArmData(X, np.where(data.arm == 1, 2, data.arm), data.y, data.propensity, True)


def test_policy_takes_the_best_positive_net_value():
    arms = choose_arms(np.array([[0.02], [0.01], [0.0151]]), STARBUCKS)  # 10 x tau - 0.15
    assert arms.tolist() == ["promo", "none", "promo"]


def test_attribute_matrix_encodes_text_and_missing_values():
    accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "consent_email": True, "region": "all",
                             "zip": ["Urban", "Rural", "Urban"], "history": [1.0, None, 3.0]})
    X = attribute_matrix(accounts)
    assert X.tolist() == [[1.0, 1.0], [0.0, MISSING], [1.0, 3.0]]


def test_command_line_reads_learners_from_the_code_and_rejects_unknown_names():
    assert symbiose_learners()[: len(LEARNERS)] == list(LEARNERS)
    args = parse_args(["--quick", "--datasets", "starbucks"])
    assert args.folds == 3 and args.rows == 6000 and args.symbiose == ["s"]
    with pytest.raises(ValueError, match="unknown peers"):
        parse_args(["--peers", "causalml-q"])
    with pytest.raises(SystemExit):
        parse_args(["--symbiose", "q"])


@pytest.mark.slow
def test_world_peers_decide_through_symbiose_arithmetic():
    rows = run_world(300, 0, "default", ["s"], ["causalml-t"], min_arm_rows=50, replicates=50, log=lambda _: None)
    table = pd.DataFrame(rows).set_index("method")
    peer = table.loc["causalml-t"]
    assert peer["ineligible"] == 0
    assert peer["V_ci_low"] <= peer["V_policy"] <= peer["V_ci_high"]
    assert 0.0 < peer["contact_share"] <= 1.0
    assert table.loc["reference: oracle", "normalized"] == 1.0
    assert np.isfinite(table.loc["symbiose-s", "normalized"])
