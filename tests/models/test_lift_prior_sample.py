"""The lift prior's account sample reads only the sampled accounts' events, with the same result as
scoring those accounts against the whole data set."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from features.snapshot import build_snapshot
from models.decision import score_actions
from models.pipeline import split_snapshot
from models.shrinkage import fit_lift_prior
from models.training import reference_lift_prior
from models.training_config import TrainingConfig


def test_sampled_lift_prior_equals_the_prior_over_the_whole_data(trained_run, small_dataset, as_of) -> None:
    pipeline = trained_run.result.pipeline
    data = small_dataset.before(as_of)
    cfg = TrainingConfig(prior_accounts=len(data.accounts) // 4, random_state=7)
    evidence = {("email", "x"): 3}
    prior = reference_lift_prior(data, as_of, pipeline, evidence, cfg)

    accounts = data.accounts.sample(cfg.prior_accounts, random_state=cfg.random_state).reset_index(drop=True)
    whole = replace(data, accounts=accounts)  # the sampled accounts, every account's events
    frame, state = split_snapshot(build_snapshot(whole, as_of, pipeline.specs, pipeline.categories))
    scored = score_actions(frame, np.ones((len(state), len(pipeline.actions)), dtype=bool), pipeline.actions,
                           design=pipeline.design, classifier=pipeline.classifier,
                           value_model=pipeline.value_model, category_margin=pipeline.category_margin)
    expected = fit_lift_prior(pipeline.actions, scored.pair_action, scored.p_convert, scored.p_baseline,
                              evidence, cfg.shrinkage_strength)
    assert len(prior.lift) > 0
    assert prior == expected
