"""Decision invariants: rules before models, nothing negative above `none`, one discount per offer and channel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.actions import action_space
from features.snapshot import build_snapshot
from models.pipeline import OUTPUT_COLUMNS, split_snapshot
from models.recommend import score_dataset


@pytest.fixture(scope="module")
def snapshot(small_dataset, trained_run, as_of):
    data = small_dataset.before(as_of)
    actions = action_space(data)
    snap = build_snapshot(data, as_of, trained_run.result.pipeline.specs, sorted(set(actions["category"])))
    frame, state = split_snapshot(snap)
    return data, actions, frame, state


def _recommend(pipeline, data, actions, frame, state, top_k=3):
    return pipeline.recommend(frame, state, top_k=top_k, actions=actions, policy=data.policy,
                              offers=data.offers, category_margin=data.category_margin_rates())


def test_contract_shape_and_ranks(trained_run, small_dataset, as_of) -> None:
    recs = score_dataset(small_dataset, as_of, trained_run.result.pipeline, top_k=3)
    assert list(recs.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert set(recs["account_id"]) == set(small_dataset.accounts["account_id"])
    ranks = recs.groupby("account_id")["rank"].agg(["min", "max", "count"])
    assert (ranks["min"] == 1).all() and (ranks["max"] == ranks["count"]).all()
    assert (ranks["count"] <= 3).all()
    acting = recs[recs["channel"] != "none"]
    assert (acting["expected_incremental_margin"] > 0).all(), "a non-positive action was suggested"
    none = recs[recs["channel"] == "none"]
    assert none["offer_id"].isna().all() and (none["discount_pct"] == 0).all()
    assert (none["expected_incremental_margin"] == 0).all() and none["executed_by"].isna().all()
    # `none` is always the last row of an account's list: nothing ranks below it.
    last = recs.groupby("account_id")["rank"].transform("max")
    assert (none["rank"] == last[none.index]).all()
    assert recs[["p_convert", "p_convert_baseline"]].apply(lambda c: c.between(0, 1)).all().all()
    assert recs["reasons"].str.len().gt(0).all()
    assert (~recs.duplicated(["account_id", "channel", "offer_id"])).all(), "two discounts of one offer/channel"


def test_do_not_contact_and_consent_are_hard_rules(trained_run, snapshot) -> None:
    data, actions, frame, state = snapshot
    pipeline = trained_run.result.pipeline
    state = state.copy()
    state["do_not_contact"] = True
    recs = _recommend(pipeline, data, actions, frame, state)
    assert (recs["channel"] == "none").all()
    assert recs["reasons"].str.contains("do-not-contact").all()

    state["do_not_contact"] = False
    state["consent_email"] = False
    recs = _recommend(pipeline, data, actions, frame, state)
    assert not (recs["channel"] == "email").any()


def test_contact_caps_and_quiet_period_are_hard_rules(trained_run, snapshot) -> None:
    data, actions, frame, state = snapshot
    pipeline = trained_run.result.pipeline
    state = state.copy()
    for name, rule in data.policy.channels.items():
        if rule.max_per_30d is not None:
            state[f"touches_30d__{name}"] = rule.max_per_30d
    recs = _recommend(pipeline, data, actions, frame, state)
    capped = [n for n, r in data.policy.channels.items() if r.max_per_30d is not None]
    assert not recs["channel"].isin(capped).any()

    state = snapshot[3].copy()
    state["in_quiet_period"] = True
    recs = _recommend(pipeline, data, actions, frame, state)
    assert (recs["channel"] == "none").all()


def test_inactive_offers_and_guardrails_never_suggested(trained_run, snapshot) -> None:
    data, actions, frame, state = snapshot
    pipeline = trained_run.result.pipeline
    offers = data.offers.copy()
    first = offers.loc[offers["active"], "offer_id"].iloc[0]
    offers.loc[offers["offer_id"] == first, "active"] = False
    offers["max_discount_pct"] = 0.0
    from dataclasses import replace

    changed = replace(data, offers=offers)
    recs = _recommend(pipeline, changed, action_space(changed), frame, state)
    assert not (recs["offer_id"] == first).any()
    assert (recs["discount_pct"] == 0).all()


def test_blocks_of_accounts_give_the_recommendations_of_one_pass(trained_run, small_dataset, as_of) -> None:
    pipeline = trained_run.result.pipeline
    n_acc = len(small_dataset.accounts)
    one_pass = score_dataset(small_dataset, as_of, pipeline, top_k=3, reason_codes=True, block_accounts=n_acc)
    for workers in (1, 2):  # blocks made in this process, or in two forked workers
        blocks = score_dataset(small_dataset, as_of, pipeline, top_k=3, reason_codes=True,
                               block_accounts=n_acc // 3, workers=workers)
        pd.testing.assert_frame_equal(blocks, one_pass, check_exact=True)
    shallow = score_dataset(small_dataset, as_of, pipeline, top_k=3, explain_depth=1, block_accounts=n_acc // 3,
                            workers=2)
    pd.testing.assert_frame_equal(shallow, score_dataset(small_dataset, as_of, pipeline, top_k=3, explain_depth=1),
                                  check_exact=True)


def test_rank_by_conversion_reference_policy(trained_run, small_dataset, as_of) -> None:
    by_p = score_dataset(small_dataset, as_of, trained_run.result.pipeline, top_k=1, rank_by="conversion")
    by_value = score_dataset(small_dataset, as_of, trained_run.result.pipeline, top_k=1)
    contact = lambda r: (r["channel"] != "none").mean()  # noqa: E731
    assert contact(by_p) >= contact(by_value)
    with pytest.raises(ValueError, match="rank_by"):
        score_dataset(small_dataset, as_of, trained_run.result.pipeline, rank_by="revenue")


def test_policy_beats_random_on_ground_truth(trained_run, small_dataset, small_data_dir, as_of) -> None:
    from models.evaluation.ground_truth import compare_policies

    recs = score_dataset(small_dataset, as_of, trained_run.result.pipeline, top_k=1)
    truth = pd.read_parquet(small_data_dir.parent / "truth.parquet")
    cmp = compare_policies(recs, truth)
    assert cmp.ineligible_suggestions == 0
    assert cmp.policy > cmp.random
    assert np.isfinite(cmp.normalized) and cmp.normalized > 0.3


def _reasons_with_thin_and_rich_evidence(pipeline, field: str, snapshot) -> dict[str, pd.DataFrame]:
    """The acting suggestions of ``pipeline`` with its ``field`` (the lift prior or the effect
    calibration) claiming no evidence for any action, and plenty for every one."""
    from dataclasses import replace

    data, actions, frame, state = snapshot
    fitted = getattr(pipeline, field)
    acting = {}
    for name, evidence in (("rich", {k: 10**9 for k in fitted.evidence}), ("thin", {})):
        clone = replace(pipeline, **{field: replace(fitted, evidence=evidence)})
        recs = _recommend(clone, data, actions, frame, state)
        acting[name] = recs[recs["channel"] != "none"]
    return acting


def test_thin_evidence_leans_on_average_lift_and_says_so(trained_run, snapshot) -> None:
    pipeline = trained_run.result.pipeline
    assert pipeline.lift_prior is not None and pipeline.lift_prior.lift
    acting = _reasons_with_thin_and_rich_evidence(pipeline, "lift_prior", snapshot)
    for rows in acting.values():
        assert (rows["expected_incremental_margin"] > 0).all()
    assert acting["thin"]["reasons"].str.contains("few past examples").all()
    assert not acting["rich"]["reasons"].str.contains("few past examples").any()


@pytest.fixture(scope="module")
def effect_pipeline(small_dataset, as_of):
    """The S-learner with the effect calibration (cross-fitted over time blocks)."""
    from models.training import TrainingConfig, train_pipeline

    return train_pipeline(small_dataset, as_of, TrainingConfig(learner="s", calibration="effect",
                                                               selection_folds=2)).pipeline


def test_thin_evidence_leans_on_the_channel_map_and_says_so(effect_pipeline, snapshot) -> None:
    """An action whose channel × offer has few logged touches keeps mostly its channel's calibration,
    and its reasons say so; with plenty of evidence they do not."""
    assert effect_pipeline.calibration is not None and effect_pipeline.calibration.evidence
    acting = _reasons_with_thin_and_rich_evidence(effect_pipeline, "calibration", snapshot)
    for rows in acting.values():
        assert len(rows)
        assert (rows["expected_incremental_margin"] > 0).all()
    assert acting["thin"]["reasons"].str.contains("few past examples").all()
    assert not acting["rich"]["reasons"].str.contains("few past examples").any()
