"""Campaign fixtures: the small data set's recommendations (every positive action) scored once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_recommendations(small_dataset, trained_run, as_of):
    from models.campaigns.candidates import score_recommendations

    return score_recommendations(small_dataset, as_of, trained_run.result.pipeline,
                                 model_version=trained_run.model_version)
