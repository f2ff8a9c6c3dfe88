"""The decision's numbers against a plain reference: one pandas action frame per pair, every pair's
row built by ``DesignMatrix.with_actions`` and predicted by the learner's ``predict_proba``, the
calibration's maps looked up pair by pair. The fast path must give the same values (1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.actions import action_space, eligible_mask
from features.policy import NONE_CHANNEL
from features.snapshot import build_snapshot
from models.decision import ScoredActions, _ConversionScorer, row_positions, score_actions
from models.design import DISCOUNT_COLUMN, action_frame
from models.effect_calibration import EffectCalibration
from models.pipeline import DecisionPipeline, split_snapshot
from models.shrinkage import shrink

TOL = 1e-9


def _reference_actions(cal: EffectCalibration, p_raw: np.ndarray, p0_raw: np.ndarray, channel: np.ndarray,
                       offer: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """``EffectCalibration.actions`` written out row by row."""
    channel = np.asarray(channel, dtype=object).astype(str)
    offer = np.asarray(offer, dtype=object).astype(str)
    alpha = np.array([cal.pair_alpha.get((c, o), 0.0) for c, o in zip(channel, offer, strict=True)])
    tau = np.asarray(p_raw, dtype=float) - np.asarray(p0_raw, dtype=float)
    f = np.interp(tau, *cal.pooled_map) if cal.pooled_map[0] else tau.copy()
    for name, (xs, ys) in cal.channel_maps.items():
        on = channel == name
        f[on] = np.interp(tau[on], xs, ys) if xs else 0.0
    return np.clip(p0 * (1 + alpha) + f, 0.0, 1.0)


def reference_scores(frame: pd.DataFrame, eligible: np.ndarray, actions: pd.DataFrame,
                     pipeline: DecisionPipeline, category_margin: dict[str, float],
                     calibration: EffectCalibration | None, prior=None) -> dict[str, np.ndarray]:
    """Every eligible pair's P(convert), baseline and expected incremental margin, the slow way."""
    design, classifier, value_model = pipeline.design, pipeline.classifier, pipeline.value_model
    accounts = pd.unique(frame["account_id"].to_numpy())
    categories = sorted(set(actions["category"].astype(str)))
    pos = row_positions(frame, accounts, categories)
    cat_of_action = pd.Index(categories).get_indexer(actions["category"].astype(str))
    encoded = design.encode(frame)
    base_rows = pos[pos >= 0]
    n = len(base_rows)
    none = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
    base_p = np.full(pos.shape, np.nan)
    base_rev = np.full(pos.shape, np.nan)
    base_p[pos >= 0] = classifier.predict_proba(design.with_actions(encoded[base_rows], none))[:, 1]
    base_rev[pos >= 0] = value_model.predict(encoded[base_rows, :len(design.account_columns)])
    pair_account, pair_action = np.nonzero(eligible)
    pair_row = pos[pair_account, cat_of_action[pair_action]]
    keep = pair_row >= 0
    pair_account, pair_action, pair_row = pair_account[keep], pair_action[keep], pair_row[keep]
    acts = actions.iloc[pair_action]
    X = design.with_actions(encoded[pair_row], action_frame(
        acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), acts["discount_pct"].to_numpy(),
        acts["executed_by"].to_numpy()))
    p_a = classifier.predict_proba(X)[:, 1]
    cat = cat_of_action[pair_action]
    p0_raw = base_p[pair_account, cat]
    p0 = p0_raw
    if calibration is not None:
        base_p = calibration.baseline(base_p)
        p0 = base_p[pair_account, cat]
        p_a = _reference_actions(calibration, p_a, p0_raw, acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), p0)
    elif prior is not None:
        lift, weight = prior.arrays(actions)
        p_a = shrink(p_a, p0, lift[pair_action], weight[pair_action])
    rev = base_rev[pair_account, cat]
    m_o = acts["margin_rate"].to_numpy(dtype=float)
    d = acts["discount_pct"].to_numpy(dtype=float) / 100.0
    m_c = np.array([category_margin.get(c, np.nan) for c in categories])[cat]
    m_c = np.where(np.isnan(m_c), m_o, m_c)
    value = p_a * rev * (m_o - d) - p0 * rev * m_c - acts["cost"].to_numpy(dtype=float)
    return {"pair_account": pair_account, "pair_action": pair_action, "pair_row": pair_row,
            "p_convert": p_a, "p_baseline": p0, "value": value, "base_p": base_p}


def _world(small_dataset, as_of, pipeline: DecisionPipeline):
    data = small_dataset.before(as_of)
    actions = action_space(data)
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"]))))
    return data, actions, frame, eligible_mask(state, actions, data.policy)


def _assert_same(scored: ScoredActions, ref: dict[str, np.ndarray]) -> None:
    for key in ("pair_account", "pair_action", "pair_row"):
        np.testing.assert_array_equal(getattr(scored, key), ref[key], err_msg=key)
    for key in ("p_convert", "p_baseline", "value", "base_p"):
        np.testing.assert_allclose(getattr(scored, key), ref[key], rtol=0, atol=TOL, err_msg=key)


def test_fast_scores_equal_the_reference(trained_run, small_dataset, as_of, monkeypatch) -> None:
    """The default S-learner: cross-fitted per-action offsets inside the classifier, lift prior."""
    pipeline = trained_run.result.pipeline
    data, actions, frame, eligible = _world(small_dataset, as_of, pipeline)
    margin = data.category_margin_rates()
    assert pipeline.classifier.action_calibrator_ is not None and pipeline.lift_prior is not None
    account = set(pipeline.design.account_columns)
    split = pipeline.classifier.split_rounds([j for j, c in enumerate(pipeline.design.columns) if c not in account])
    assert split is not None and all(part is not None for part in split), "both parts of the split are exercised"
    common = dict(design=pipeline.design, classifier=pipeline.classifier, value_model=pipeline.value_model,
                  category_margin=margin)
    discount = [pipeline.design.columns.index(DISCOUNT_COLUMN)]
    tiers = pipeline.classifier.split_rounds(
        [j for j, c in enumerate(pipeline.design.columns) if c not in account and j not in discount], discount)
    assert tiers is not None and all(part is not None for part in tiers), "all three parts are exercised"
    grouped = []
    real_raw = _ConversionScorer._raw

    def spy(self, boosters, rows, *args):
        grouped.append(boosters == [tiers[1]])
        return real_raw(self, boosters, rows, *args)

    monkeypatch.setattr(_ConversionScorer, "_raw", spy)
    scored = score_actions(frame, eligible, actions, prior=pipeline.lift_prior, chunk_rows=997, **common)
    assert grouped.count(True) == 1, "the pairs went through the trees that ignore the discount once per group"
    ref = reference_scores(frame, eligible, actions, pipeline, margin, None, prior=pipeline.lift_prior)
    assert len(ref["value"]) > 1000 and (ref["value"] > 0).any()
    _assert_same(scored, ref)
    _assert_same(score_actions(frame, eligible, actions, **common),
                 reference_scores(frame, eligible, actions, pipeline, margin, None))


@pytest.mark.parametrize(("learner", "calibration"), [("s", "effect"), ("x", "default")])
def test_fast_scores_equal_the_reference_with_the_effect_calibration(learner, calibration, small_dataset,
                                                                     as_of) -> None:
    from models.training import TrainingConfig, train_pipeline

    config = TrainingConfig(learner=learner, calibration=calibration, selection_folds=2, history_windows=1)
    pipeline = train_pipeline(small_dataset, as_of, config).pipeline
    assert pipeline.calibration is not None
    data, actions, frame, eligible = _world(small_dataset, as_of, pipeline)
    margin = data.category_margin_rates()
    scored = score_actions(frame, eligible, actions, design=pipeline.design, classifier=pipeline.classifier,
                           value_model=pipeline.value_model, category_margin=margin,
                           calibration=pipeline.calibration, chunk_rows=1500)
    _assert_same(scored, reference_scores(frame, eligible, actions, pipeline, margin, pipeline.calibration))


def test_split_forest_adds_up_and_its_first_part_ignores_the_columns() -> None:
    import pickle

    from models.estimators import ConversionClassifier, split_forest

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 5)).astype(np.float32), columns=list("abcde"))
    y = (X["a"] + 0.5 * X["e"] * (X["d"] > 0) + rng.normal(size=3000) > 0).astype(int)
    model = ConversionClassifier(n_estimators=40, num_leaves=7, colsample_bytree=0.4).fit(X, y)
    independent, dependent = model.split_rounds([3, 4])
    assert independent is not None and dependent is not None
    assert independent.num_trees() + dependent.num_trees() == model.best_iteration_
    Z = X.to_numpy()
    full = model.booster_.predict(Z, raw_score=True, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(independent.predict(Z, raw_score=True) + dependent.predict(Z, raw_score=True),
                               full, rtol=0, atol=1e-12)
    shuffled = Z.copy()
    shuffled[:, 3:] = rng.normal(size=(len(Z), 2))
    np.testing.assert_array_equal(independent.predict(shuffled, raw_score=True), independent.predict(Z, raw_score=True))
    assert not np.allclose(dependent.predict(shuffled, raw_score=True), dependent.predict(Z, raw_score=True))
    np.testing.assert_allclose(model.probability_from_raw(full, Z), model.predict_proba(Z)[:, 1], rtol=0, atol=0)
    assert "_split_rounds" not in pickle.loads(pickle.dumps(model)).__dict__  # a cache, not state
    assert split_forest(model.booster_, 10, {0, 1, 2, 3, 4})[0] is None  # every tree reads one of them


def test_split_forest_by_tiers_adds_up_and_each_part_ignores_the_later_tiers() -> None:
    from models.estimators import ConversionClassifier

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(3000, 5)).astype(np.float32), columns=list("abcde"))
    y = (X["a"] + 0.5 * X["d"] + 0.5 * X["e"] * (X["b"] > 0) + rng.normal(size=3000) > 0).astype(int)
    model = ConversionClassifier(n_estimators=60, num_leaves=7, colsample_bytree=0.4).fit(X, y)
    parts = model.split_rounds([3], [4])
    assert parts is not None and len(parts) == 3 and all(part is not None for part in parts)
    assert sum(part.num_trees() for part in parts) == model.best_iteration_
    Z = X.to_numpy()
    full = model.booster_.predict(Z, raw_score=True, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(sum(part.predict(Z, raw_score=True) for part in parts), full, rtol=0, atol=1e-12)
    for column, unchanged in ((3, parts[:1]), (4, parts[:2])):
        shuffled = Z.copy()
        shuffled[:, column] = rng.normal(size=len(Z))
        for part in unchanged:
            np.testing.assert_array_equal(part.predict(shuffled, raw_score=True), part.predict(Z, raw_score=True))
        assert not np.allclose(parts[column - 2].predict(shuffled, raw_score=True),
                               parts[column - 2].predict(Z, raw_score=True))


def test_action_calibrator_transform_equals_its_sparse_design() -> None:
    from models.calibration import ActionCalibrator

    rng = np.random.default_rng(1)
    n = 4000
    names = ["x", "action_channel", "action_offer_id", "action_discount_pct", "action_is_contact"]
    channel = rng.integers(-1, 4, n).astype(float)
    X = np.column_stack([rng.normal(size=n), np.where(channel < 0, np.nan, channel),
                         rng.integers(0, 6, n).astype(float), rng.choice([0.0, 5.0, 10.0], n),
                         (channel >= 1).astype(float)])
    raw = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-raw))).astype(float)
    cal = ActionCalibrator(l2=1.0).fit(raw, y, X, names)
    assert cal.pairs and cal.channels
    X[:5, 2] = 99.0  # an offer code never fitted: no pair offset
    np.testing.assert_allclose(cal.transform(raw, X), cal._design(raw, X) @ cal.coef_, rtol=0, atol=1e-12)


def _reference_history(contrib: np.ndarray, raw: pd.DataFrame, categories: np.ndarray, specs, columns,
                       currency: str) -> list[list]:
    """History reasons row by row, every sentence rendered anew (the plain form of models.explain)."""
    from features.definitions import spec_reason

    by_name = {s.name: s for s in specs}
    explainable = [i for i, c in enumerate(columns) if c in by_name and by_name[c].reason]
    sub = contrib[:, explainable]
    order = np.argsort(-sub, axis=1)
    values = raw[[columns[i] for i in explainable]].to_numpy(dtype=object)
    out = []
    for r in range(len(raw)):
        sentences, reasons = [], []
        for j in order[r]:
            if sub[r, j] <= 0 or len(sentences) >= 3:
                break
            reason = spec_reason(by_name[columns[explainable[j]]], values[r, j], categories[r], currency)
            text = reason.text("en", currency) if reason is not None else None
            if text and text not in sentences:
                sentences.append(text)
                reasons.append(reason)
        out.append(reasons)
    return out


def test_reasons_equal_the_reference(trained_run, small_dataset, as_of) -> None:
    """Each suggestion's reasons: the contributions of its account × category's best-ranked action,
    computed on a design row built from the raw frame, rendered sentence by sentence; their
    ``reason_codes`` are the same reasons as data (``reasons_to_json``)."""
    from features.reason_texts import join, reasons_from_json, reasons_to_json
    from models.explain import THIN_EVIDENCE, value_reason
    from models.pipeline import EXPLAIN_ROUNDS, THIN_EVIDENCE_WEIGHT

    pipeline = trained_run.result.pipeline
    data, actions, frame, _ = _world(small_dataset, as_of, pipeline)
    state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"]))))[1]
    currency = data.policy.currency
    recs = pipeline.recommend(frame, state, top_k=3, actions=actions, policy=data.policy, offers=data.offers,
                              category_margin=data.category_margin_rates(), reason_codes=True)
    acting = recs[recs["channel"] != "none"].reset_index(drop=True)
    assert len(acting) > 100
    keys = pd.MultiIndex.from_frame(frame[["account_id", "category"]])
    rows = keys.get_indexer(pd.MultiIndex.from_frame(acting[["account_id", "category"]]))
    raw = frame.iloc[rows].reset_index(drop=True)
    act = action_frame(acting["channel"].to_numpy(), acting["offer_id"].to_numpy(),
                       acting["discount_pct"].to_numpy(), acting["executed_by"].to_numpy())
    contrib = pipeline.classifier.predict_contrib(pipeline.design.with_actions(pipeline.design.encode(raw), act),
                                                  max_rounds=EXPLAIN_ROUNDS)
    history = _reference_history(contrib, raw, acting["category"].to_numpy(dtype=object), pipeline.specs,
                                 pipeline.design.columns, currency)
    first = {}  # the best-ranked action of each account × category speaks for the others
    for i, key in enumerate(zip(acting["account_id"], acting["category"], strict=True)):
        first.setdefault(key, i)
    thin = pipeline.lift_prior.arrays(acting)[1] < THIN_EVIDENCE_WEIGHT
    reasons = [[*history[first[key]], value_reason(v, d), *([THIN_EVIDENCE] if t else [])]
               for key, v, d, t in zip(zip(acting["account_id"], acting["category"], strict=True),
                                       acting["expected_incremental_margin"], acting["discount_pct"], thin,
                                       strict=True)]
    assert any(len(h) for h in history) and acting["discount_pct"].gt(0).any() and thin.any()
    assert acting["reasons"].tolist() == [join(r, "en", currency) for r in reasons]
    assert acting["reason_codes"].tolist() == [reasons_to_json(r) for r in reasons]
    none = recs[recs["channel"] == "none"]
    assert len(none) and none["reason_codes"].map(lambda c: len(reasons_from_json(c))).eq(1).all()
    assert none["reasons"].tolist() == [join(reasons_from_json(c), "en", currency) for c in none["reason_codes"]]


def test_frame_order_and_extra_accounts_do_not_change_recommendations(trained_run, small_dataset, as_of) -> None:
    pipeline = trained_run.result.pipeline
    data, actions, frame, _ = _world(small_dataset, as_of, pipeline)
    state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"]))))[1]
    context = dict(top_k=2, actions=actions, policy=data.policy, offers=data.offers,
                   category_margin=data.category_margin_rates(), explain=False)
    some = state.iloc[::3]
    expected = pipeline.recommend(frame, some, **context)
    shuffled = frame.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(pipeline.recommend(shuffled, some, **context), expected)
    assert set(expected["account_id"]) == set(some.index)
