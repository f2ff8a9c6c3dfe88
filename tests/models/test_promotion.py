"""Champion/challenger: the gate on hand-made metrics, the registry's aliases and history, and a
whole promotion with a stand-in evaluator (each registry test has its own empty MLflow store)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from models.promotion import (
    Evaluator,
    PromotionError,
    PromotionThresholds,
    decide,
    run_promotion,
)
from models.registry import (
    MODEL_NAME,
    ModelNotFoundError,
    challenger_version,
    champion_version,
    make_champion,
    previous_champion,
    register_challenger,
    resolve_model_uri,
    rollback_champion,
    version_tags,
)
from tests.registry_fixtures import add_version, model_source, separate_registry

GOOD = {"auc": 0.70, "log_loss": 0.40, "calibration_error": 0.010, "dr_policy_value": 12.0,
        "dr_policy_value_low": 10.0, "dr_policy_value_high": 14.0, "snips_policy_value": 11.5,
        "holdout_decisions": 1500, "dr_policy_gain_vs_none": 1.5, "dr_policy_gain_vs_none_low": 0.4,
        "dr_policy_gain_vs_none_high": 2.6, "dr_policy_gain_vs_best_single": 0.8,
        "dr_policy_gain_vs_best_single_low": 0.1, "dr_policy_gain_vs_best_single_high": 1.5}


def metrics(**changes: float) -> dict[str, float]:
    return {**GOOD, **changes}


def by_name(decision) -> dict[str, object]:
    return {c.name: c for c in decision.checks}


# ---------------------------------------------------------------- the gate


def test_equal_models_pass_every_check() -> None:
    decision = decide(metrics(), metrics())

    assert decision.promote
    assert [c.name for c in decision.checks] == ["holdout size", "policy value", "beats doing nothing",
                                                 "beats the best single action", "calibration", "AUC"]
    assert all(c.passed for c in decision.checks) and decision.failed == []


@pytest.mark.parametrize(("key", "check"), [("none", "beats doing nothing"),
                                            ("best_single", "beats the best single action")])
def test_a_challenger_not_better_than_a_simple_policy_beyond_the_interval_is_refused(key: str, check: str) -> None:
    tie = decide(metrics(**{f"dr_policy_gain_vs_{key}_low": -0.2}), metrics())
    assert not tie.promote and [c.name for c in tie.failed] == [check]
    assert "lower bound must be above 0" in by_name(tie)[check].detail
    unknown = decide(metrics(**{f"dr_policy_gain_vs_{key}_low": math.nan}), metrics())
    assert not unknown.promote and "not available" in by_name(unknown)[check].detail


def test_policy_value_below_champions_lower_bound_fails() -> None:
    inside = decide(metrics(dr_policy_value=10.0), metrics())
    below = decide(metrics(dr_policy_value=9.99), metrics())

    assert inside.promote
    assert not below.promote
    assert [c.name for c in below.failed] == ["policy value"]
    detail = by_name(below)["policy value"].detail
    assert "9.99" in detail and "12.00" in detail and "10.00 to 14.00" in detail


def test_policy_value_tolerance_widens_the_bound() -> None:
    loose = PromotionThresholds(policy_value_tolerance=0.5)

    assert decide(metrics(dr_policy_value=9.6), metrics(), loose).promote
    assert not decide(metrics(dr_policy_value=9.4), metrics(), loose).promote


def test_calibration_is_bounded_by_champion_plus_slack_or_the_floor() -> None:
    # champion 0.010: bound max(0.020, 0.02) = 0.020
    assert decide(metrics(calibration_error=0.0199), metrics()).promote
    worse = decide(metrics(calibration_error=0.0201), metrics())
    assert [c.name for c in worse.failed] == ["calibration"]
    assert "0.0201" in by_name(worse)["calibration"].detail
    # champion 0.030: bound 0.040
    assert decide(metrics(calibration_error=0.039), metrics(calibration_error=0.030)).promote
    assert not decide(metrics(calibration_error=0.041), metrics(calibration_error=0.030)).promote


def test_auc_may_drop_by_at_most_the_threshold() -> None:
    assert decide(metrics(auc=0.681), metrics()).promote
    lower = decide(metrics(auc=0.679), metrics())
    assert [c.name for c in lower.failed] == ["AUC"]
    assert "0.6790" in by_name(lower)["AUC"].detail and "0.7000" in by_name(lower)["AUC"].detail


def test_small_holdout_fails() -> None:
    small = decide(metrics(holdout_decisions=150), metrics(holdout_decisions=150))

    assert [c.name for c in small.failed] == ["holdout size"]
    assert "150" in by_name(small)["holdout size"].detail


def test_several_failures_are_all_reported() -> None:
    bad = decide(metrics(auc=0.5, calibration_error=0.2, dr_policy_value=0.0), metrics())

    assert [c.name for c in bad.failed] == ["policy value", "calibration", "AUC"]


def test_a_metric_that_is_not_a_number_fails_its_check() -> None:
    decision = decide(metrics(dr_policy_value=math.nan), metrics())

    assert not decision.promote
    check = by_name(decision)["policy value"]
    assert not check.passed and "not available" in check.detail
    assert by_name(decision)["AUC"].passed


def test_missing_metrics_are_an_error_naming_them() -> None:
    partial = {k: v for k, v in GOOD.items() if k not in ("auc", "dr_policy_value_low")}

    with pytest.raises(ValueError, match="champion metrics: missing auc, dr_policy_value_low"):
        decide(metrics(), partial)


def test_thresholds_reject_negative_values() -> None:
    with pytest.raises(ValueError, match=r"max_auc_drop: expected a finite number >= 0, got -0\.1"):
        PromotionThresholds(max_auc_drop=-0.1)


# ---------------------------------------------------------------- registry: aliases and history


@pytest.fixture
def registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, trained_run) -> Iterator[str]:
    """An empty registry of its own; yields the source of the session's trained model."""
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()):
        yield source


def test_first_version_becomes_challenger_and_champion(registry: str) -> None:
    first = add_version(registry)
    assert register_challenger(first)
    second = add_version(registry)
    assert not register_challenger(second)

    assert challenger_version() == second
    assert champion_version() == first
    assert resolve_model_uri(None) == (f"models:/{MODEL_NAME}/{first}", f"{MODEL_NAME}/{first}")


def test_promotion_history_lets_rollback_walk_back(registry: str) -> None:
    v1, v2, v3 = (add_version(registry) for _ in range(3))
    make_champion(v1)
    assert make_champion(v2) == v1
    assert make_champion(v3) == v2
    assert previous_champion(v3) == v2 and "promoted_at" in version_tags(v3)

    assert rollback_champion() == (v3, v2)
    assert champion_version() == v2
    assert version_tags(v3)["rolled_back_to"] == str(v2)
    assert rollback_champion() == (v2, v1)
    with pytest.raises(ModelNotFoundError, match=f"{MODEL_NAME}/{v1} replaced no earlier champion"):
        rollback_champion()
    assert champion_version() == v1


def test_rollback_without_champion_is_an_error(registry: str) -> None:
    with pytest.raises(ModelNotFoundError, match="has no champion"):
        rollback_champion()


# ---------------------------------------------------------------- a whole promotion


def stand_in(challenger: dict[str, float], champion: dict[str, float], seen: list) -> Evaluator:
    """An evaluator returning fixed metrics: the challenger's for the first pipeline evaluated."""
    window = (pd.Timestamp("2025-05-01"), pd.Timestamp("2025-07-01"))

    def evaluate(pipeline, dataset, start, end):
        seen.append((start, end))
        return challenger if len(seen) == 1 else champion

    return Evaluator(holdout_window=lambda pipeline, dataset: window, evaluate=evaluate)


def two_versions(source: str) -> tuple[int, int]:
    champion = add_version(source)
    register_challenger(champion)
    challenger = add_version(source)
    register_challenger(challenger)
    return champion, challenger


def test_promotion_moves_champion_when_the_gate_passes(registry: str, tmp_path: Path) -> None:
    old, new = two_versions(registry)
    seen: list = []
    outcome = run_promotion(lambda path: object(), data=tmp_path,
                            evaluator=stand_in(metrics(dr_policy_value=13.0), metrics(), seen))

    assert outcome.promoted and not outcome.forced and outcome.decision.promote
    assert champion_version() == new and previous_champion(new) == old
    assert seen[0] == seen[1], "challenger and champion must be evaluated on the same holdout"
    tags = version_tags(new)
    assert tags["promotion_decision"] == "promoted" and tags["promoted_by_force"] == "false"
    run = MlflowClient().get_run(outcome.run_id)
    assert run.data.metrics["challenger_dr_policy_value"] == 13.0
    assert run.data.metrics["champion_dr_policy_value"] == 12.0
    assert run.data.tags["promoted"] == "true"


def test_refused_promotion_keeps_champion_and_is_recorded(registry: str, tmp_path: Path) -> None:
    old, new = two_versions(registry)
    outcome = run_promotion(lambda path: object(), data=tmp_path,
                            evaluator=stand_in(metrics(auc=0.6), metrics(), []))

    assert not outcome.promoted
    assert champion_version() == old
    tags = version_tags(new)
    assert tags["promotion_decision"] == "refused" and tags["promotion_failed_checks"] == "AUC"
    client = MlflowClient()
    record = json.loads(open(client.download_artifacts(outcome.run_id, "promotion.json")).read())
    assert record["promoted"] is False
    assert [c["name"] for c in record["checks"] if not c["passed"]] == ["AUC"]


def test_forced_promotion_records_force_reason_and_failed_checks(registry: str, tmp_path: Path) -> None:
    old, new = two_versions(registry)
    outcome = run_promotion(lambda path: object(), data=tmp_path, force=True, reason="urgent fix",
                            evaluator=stand_in(metrics(calibration_error=0.5), metrics(), []))

    assert outcome.promoted and outcome.forced
    assert champion_version() == new
    tags = version_tags(new)
    assert tags["promoted_by_force"] == "true" and tags["promotion_decision"] == "forced"
    assert tags["promotion_reason"] == "urgent fix"
    assert tags["promotion_failed_checks"] == "calibration"
    assert rollback_champion() == (new, old)


def test_promotion_without_challenger_or_when_already_champion(registry: str, tmp_path: Path) -> None:
    never = stand_in(metrics(), metrics(), [])
    with pytest.raises(PromotionError, match="no challenger"):
        run_promotion(lambda path: object(), data=tmp_path, evaluator=never)
    only = add_version(registry)
    register_challenger(only)
    outcome = run_promotion(lambda path: object(), data=tmp_path, evaluator=never)
    assert not outcome.promoted and outcome.decision is None
    assert "already the champion" in outcome.note
