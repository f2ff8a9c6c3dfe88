"""World presets of the sample generator: the registry, and the wholesaler unchanged byte for byte."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from features.dataset import Dataset
from features.sample_data import generate_dataset
from features.sample_worlds import WORLDS, WorldSpec, world_spec

TABLES = ("accounts", "reps", "offers", "orders", "touches", "web_events")
#: Digest of ``generate_dataset(200, seed=7)`` as generated before the presets existed.
WHOLESALER_200_SEED_7 = "377e12ba0d2749af3ce9f87276fd6cfe39b8be6a98d558c2c4b0d2be29df0782"


def digest(dataset: Dataset, truth: pd.DataFrame) -> str:
    """SHA-256 over the dtypes and row hashes of every table and of the truth frame."""
    h = hashlib.sha256()
    for name in TABLES:
        frame = getattr(dataset, name)
        h.update(name.encode())
        h.update(str(list(frame.dtypes.astype(str))).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(truth, index=False).to_numpy().tobytes())
    return h.hexdigest()


def test_wholesaler_is_byte_identical_to_the_generator_before_presets() -> None:
    assert digest(*generate_dataset(200, seed=7)) == WHOLESALER_200_SEED_7
    assert digest(*generate_dataset(200, seed=7, world="wholesaler")) == WHOLESALER_200_SEED_7


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
