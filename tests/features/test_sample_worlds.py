"""World presets of the sample generator: the registry, and the wholesaler unchanged byte for byte."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from features.dataset import Dataset
from features.sample_data import generate_dataset
from features.sample_worlds import WORLDS, WorldSpec, world_spec

TABLES = ("accounts", "reps", "offers", "orders", "touches", "web_events")
#: Digests of ``generate_dataset(200, seed=7)`` as generated before the presets existed: of the six
#: tables, and of the truth without its two probabilities (then ``1 - exp(-expected purchases)``,
#: now exact).
WHOLESALER_TABLES = "d34d58d65c9ae9ebe1eb56990cc68f70fd1f810611b00ab7917e2ef3d7932882"
WHOLESALER_TRUTH = "f8e8ea81e23bf152e173ecb1e92367323aa0187c066bd0d9785191c591a872e4"
PROBABILITIES = ["true_p_convert", "true_p_baseline"]


def digest(dataset: Dataset) -> str:
    """SHA-256 over the dtypes and row hashes of every table."""
    h = hashlib.sha256()
    for name in TABLES:
        frame = getattr(dataset, name)
        h.update(name.encode())
        h.update(str(list(frame.dtypes.astype(str))).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def test_wholesaler_is_byte_identical_to_the_generator_before_presets() -> None:
    for world in (None, "wholesaler"):
        dataset, truth = generate_dataset(200, seed=7, **({"world": world} if world else {}))
        assert digest(dataset) == WHOLESALER_TABLES
        assert frame_digest(truth.drop(columns=PROBABILITIES)) == WHOLESALER_TRUTH
    # the exact probabilities lie below the Poisson formula used before, by little
    for p, mu in (("true_p_convert", "true_purchases"), ("true_p_baseline", "true_purchases_baseline")):
        poisson = -np.expm1(-truth[mu])
        assert (truth[p] <= poisson + 1e-12).all() and (poisson - truth[p]).max() < 0.08
        assert 0.001 < (poisson - truth[p]).mean() < 0.02


def test_unknown_world_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="unknown world 'wholeseller'; expected one of: wholesaler"):
        generate_dataset(20, world="wholeseller")
    assert world_spec(WORLDS["wholesaler"]) is WORLDS["wholesaler"]


def test_a_spec_checks_its_shape() -> None:
    with pytest.raises(ValueError, match="archetype_by_segment"):
        WorldSpec(name="x", description="x", archetype_by_segment=((1.0,),) * 3)
    with pytest.raises(ValueError, match="archetype_response"):
        WorldSpec(name="x", description="x", archetype_response=((0.0,) * 4,) * 2)


@pytest.mark.parametrize("name", list(WORLDS))
def test_every_preset_describes_itself(name: str) -> None:
    spec = WORLDS[name]
    assert spec.name == name and spec.description and "\n" not in spec.description
    assert spec.default_accounts >= 100
