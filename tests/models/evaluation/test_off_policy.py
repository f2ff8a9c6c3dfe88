"""Off-policy estimators against known answers on small synthetic logs."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.off_policy import (
    IPS,
    SNIPS,
    DoublyRobust,
    LoggedDecisions,
    TargetPolicy,
    bootstrap_counts,
    estimate_all,
)

MEANS = np.array([1.0, 3.0, 2.0])  # true mean reward of actions 0, 1, 2


def simulate(n: int, rng: np.random.Generator, noisy_model: bool = True
             ) -> tuple[LoggedDecisions, TargetPolicy, float]:
    """A context-dependent log: the logging policy favours action 0, the target takes action 1
    for x = 1 and action 2 for x = 0. Returns (log, target, true value of the target)."""
    x = rng.integers(0, 2, n)
    probs = np.array([[0.6, 0.1, 0.3], [0.5, 0.3, 0.2]])[x]
    action = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    mean = MEANS[action] + x  # context shifts every action by x
    reward = mean + rng.normal(0, 2.0, n)
    target_action = np.where(x == 1, 1, 2)
    q = (MEANS[None, :] + x[:, None]) + (rng.normal(0, 0.5, (n, 1)) if noisy_model else 0.0)
    logged = LoggedDecisions(reward, probs[np.arange(n), action], q[np.arange(n), action])
    target = TargetPolicy("target", (action == target_action).astype(float), q[np.arange(n), target_action])
    true_value = float(np.mean([MEANS[2] + 0, MEANS[1] + 1]))
    return logged, target, true_value


@pytest.mark.parametrize("cls", [IPS, SNIPS, DoublyRobust])
def test_estimators_are_close_to_the_true_value(cls) -> None:
    rng = np.random.default_rng(1)
    logged, target, truth = simulate(20_000, rng)
    est = cls(n_boot=100).estimate(logged, target)
    assert est.name == cls.name and est.n == 20_000 and est.policy == "target"
    assert est.low < truth < est.high
    assert abs(est.value - truth) < 0.15


def test_interval_coverage_is_roughly_right() -> None:
    rng = np.random.default_rng(2)
    hits = {cls.name: 0 for cls in (IPS, SNIPS, DoublyRobust)}
    runs = 80
    for seed in range(runs):
        logged, target, truth = simulate(400, rng)
        for cls in (IPS, SNIPS, DoublyRobust):
            est = cls(n_boot=200, seed=seed).estimate(logged, target)
            hits[cls.name] += est.low <= truth <= est.high
    for name, hit in hits.items():
        assert 0.82 <= hit / runs <= 1.0, (name, hit / runs)


def test_snips_equals_ips_when_weights_average_one() -> None:
    # Two actions logged alternately with propensity 1/2; the target always takes action 0:
    # weights are 2 on exactly half of the decisions, so they average 1.
    n = 1000
    action = np.arange(n) % 2
    reward = np.random.default_rng(3).normal(5, 1, n)
    logged = LoggedDecisions(reward, np.full(n, 0.5))
    target = TargetPolicy("always 0", (action == 0).astype(float))
    ips, snips = IPS(n_boot=0).estimate(logged, target), SNIPS(n_boot=0).estimate(logged, target)
    assert snips.value == pytest.approx(ips.value)
    assert snips.value == pytest.approx(reward[action == 0].mean())


def test_dr_is_exact_with_a_perfect_reward_model() -> None:
    rng = np.random.default_rng(4)
    logged, target, _ = simulate(2000, rng, noisy_model=False)
    # Noise-free rewards: the reward model equals the expected reward everywhere.
    exact = LoggedDecisions(logged.model_reward, logged.propensity, logged.model_reward)
    est = DoublyRobust(n_boot=50).estimate(exact, target)
    assert est.value == pytest.approx(target.model_value.mean())
    ips = IPS(n_boot=0).estimate(exact, target)
    assert abs(ips.value - est.value) > 1e-3  # IPS is not exact on a finite sample


def test_logging_policy_gives_the_mean_reward_for_every_estimator() -> None:
    rng = np.random.default_rng(5)
    logged, _, _ = simulate(500, rng)
    on_policy = TargetPolicy("logging", logged.propensity, logged.model_reward)
    result = estimate_all(logged, on_policy, n_boot=50)
    assert set(result.estimates) == {"ips", "snips", "dr"}
    for est in result.estimates.values():
        assert est.value == pytest.approx(logged.reward.mean())


def test_bootstrap_is_seeded_and_counts_sum_to_n() -> None:
    counts = bootstrap_counts(50, 30, seed=7)
    assert counts.shape == (30, 50) and (counts.sum(axis=1) == 50).all()
    assert np.array_equal(counts, bootstrap_counts(50, 30, seed=7))
    logged, target, _ = simulate(300, np.random.default_rng(6))
    assert DoublyRobust(seed=1).estimate(logged, target) == DoublyRobust(seed=1).estimate(logged, target)


def test_paired_difference_of_a_policy_with_itself_is_zero() -> None:
    logged, target, _ = simulate(300, np.random.default_rng(8))
    diff = DoublyRobust(n_boot=50).compare(logged, target, target)
    assert diff.value == 0 and diff.low == 0 and diff.high == 0


def test_snips_without_any_match_is_nan() -> None:
    logged = LoggedDecisions(np.ones(4), np.full(4, 0.5))
    est = SNIPS(n_boot=20).estimate(logged, TargetPolicy("never", np.zeros(4)))
    assert np.isnan(est.value) and np.isnan(est.low)


def test_bad_inputs_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"propensity must be in \(0, 1\], got \[0.0\]"):
        LoggedDecisions(np.ones(3), np.array([0.5, 0.0, 1.0]))
    with pytest.raises(ValueError, match="equal length"):
        LoggedDecisions(np.ones(3), np.full(2, 0.5))
    logged = LoggedDecisions(np.ones(3), np.full(3, 0.5))
    with pytest.raises(ValueError, match="covers 2 decisions, the log has 3"):
        IPS().estimate(logged, TargetPolicy("short", np.ones(2)))
    with pytest.raises(ValueError, match="needs LoggedDecisions.model_reward"):
        DoublyRobust().estimate(logged, TargetPolicy("p", np.ones(3)))
    with pytest.raises(ValueError, match="n_boot must be >= 0"):
        IPS(n_boot=-1)


def _rare_log(n: int, rng: np.random.Generator) -> tuple[LoggedDecisions, TargetPolicy, float]:
    """50 actions logged uniformly (propensity 0.02), heavy-tailed rewards (zero-inflated
    log-normal); the target takes action 0 where x > 0, else action 1. Returns the true value."""
    x = rng.normal(size=n)
    action = rng.integers(0, 50, n)
    mean = np.where(action == 0, 3.0 + np.maximum(x, 0), 2.0) + 0.5 * np.abs(x)
    buys = rng.random(n) < 0.3
    reward = buys * mean / 0.3 * rng.lognormal(-0.32, 0.8, n)
    want = np.where(x > 0, 0, 1)
    q = np.column_stack([3.0 + np.maximum(x, 0), np.full(n, 2.0)]) + 0.5 * np.abs(x)[:, None]
    q_logged = np.where(action == 0, q[:, 0], 2.0 + 0.5 * np.abs(x)) * 1.2  # a biased reward model
    logged = LoggedDecisions(reward, np.full(n, 0.02), q_logged)
    target = TargetPolicy("target", (action == want).astype(float), q[np.arange(n), want] * 1.2)
    truth = float(np.mean(np.where(x > 0, 3.0 + x, 2.0) + 0.5 * np.abs(x)))
    return logged, target, truth


def test_dr_intervals_cover_with_small_propensities() -> None:
    """About 40 matches per log, weights 50, a reward model 20 % off: DR covers at a nominal 95 %."""
    rng = np.random.default_rng(11)
    hits = 0
    for seed in range(60):
        logged, target, truth = _rare_log(4000, rng)
        est = DoublyRobust(n_boot=200, seed=seed).estimate(logged, target)
        hits += est.low <= truth <= est.high
    assert hits >= 52, f"covered {hits} of 60"


def test_clipping_caps_the_weights_and_biases_toward_the_reward_model() -> None:
    logged, target, truth = _rare_log(20_000, np.random.default_rng(12))
    assert IPS().weights(logged, target).max() == pytest.approx(50.0)
    assert IPS(max_weight=10.0).weights(logged, target).max() == pytest.approx(10.0)
    unclipped = DoublyRobust(n_boot=0).estimate(logged, target).value
    clipped = DoublyRobust(n_boot=0, max_weight=10.0).estimate(logged, target).value
    model_only = target.model_value.mean()  # 20 % above the truth
    assert abs(unclipped - truth) < abs(clipped - truth) < abs(model_only - truth)
    with pytest.raises(ValueError, match="max_weight must be >= 1"):
        IPS(max_weight=0.5)


def test_clustered_resampling_counts_an_accounts_decisions_once() -> None:
    """Every decision copied four times under one account: the clustered interval is as wide as
    the original's; resampling single decisions would halve it."""
    logged, target, _ = simulate(1000, np.random.default_rng(13))
    copies = np.repeat(np.arange(1000), 4)
    logged4 = LoggedDecisions(logged.reward[copies], logged.propensity[copies], logged.model_reward[copies])
    target4 = TargetPolicy("target", target.action_prob[copies], target.model_value[copies])
    def width(e) -> float:
        return e.high - e.low

    base = width(DoublyRobust(n_boot=300).estimate(logged, target))
    clustered = width(DoublyRobust(n_boot=300).estimate(logged4, target4, cluster=copies))
    single = width(DoublyRobust(n_boot=300).estimate(logged4, target4))
    assert clustered == pytest.approx(base, rel=0.2)
    assert single == pytest.approx(base / 2, rel=0.2)
