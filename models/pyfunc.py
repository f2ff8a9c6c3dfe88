"""The decision pipeline as one self-contained ``mlflow.pyfunc`` model, logged and registered in one step.

Input and parameters: ``models.model_input`` (snapshot rows, or one packed row per account; the
current ``offers`` and ``policy`` as parameters, so the model decides with the same catalog as
``symbiose recommend``). Output: the recommendations (docs/data-contract.md §3), or for packed
input one row per account with its recommendations as a list of records.

The logged model carries the code it unpickles (the ``features`` and ``models`` packages, as MLflow
``code_paths``) and pins the distributions that code imports at the versions installed when it was
logged, so it loads and predicts outside a Symbiose checkout: in a fresh environment built from its
own ``requirements.txt``, under ``mlflow models serve`` and in Spark's ``spark_udf``.

The signature declares ``account_id`` as required and every snapshot column, and the packed
column ``snapshot_rows``, as optional: one MLflow schema cannot say "either the snapshot columns or
the packed column". :meth:`SymbiosePyfunc.predict` therefore checks that flat input carries the
columns the pipeline reads and names the missing ones.
"""

from __future__ import annotations

import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc.model import PythonModel
from mlflow.types.schema import ColSpec, Schema, TensorSpec

import features
import models
from features.errors import InputError
from models.model_input import (
    DEFAULT_PARAMS,
    PACKED_COLUMN,
    PARAM_OFFERS,
    PARAM_POLICY,
    PARAM_TOP_K,
    catalog_dataset,
    decision_context,
    is_packed,
    pack_recommendations,
    unpack_snapshot,
)
from models.pipeline import STATE_COLUMNS, DecisionPipeline, split_snapshot

#: Distributions the ``features`` and ``models`` code imports when the model loads and predicts
#: (besides the standard library): pinned at the versions installed when the model is logged.
MODEL_DISTRIBUTIONS = ("mlflow", "cloudpickle", "pandas", "numpy", "scipy", "scikit-learn",
                       "lightgbm", "pyarrow", "pyyaml", "joblib")
#: The packages copied into the logged model (``code/features``, ``code/models``).
CODE_PACKAGES = (features, models)


def pip_requirements() -> list[str]:
    """``name==version`` of every MODEL_DISTRIBUTIONS entry as installed now."""
    pins = []
    for name in MODEL_DISTRIBUTIONS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError as exc:
            raise RuntimeError(f"cannot pin {name}: it is not installed; the model imports it") from exc
    return pins


def code_paths() -> list[str]:
    """The package directories the logged model carries."""
    return [str(Path(str(package.__file__)).resolve().parent) for package in CODE_PACKAGES]


class SymbiosePyfunc(PythonModel):
    """pyfunc wrapper around a pickled :class:`DecisionPipeline`."""

    def load_context(self, context: Any) -> None:
        self.pipeline: DecisionPipeline = joblib.load(context.artifacts["pipeline"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        given = {**DEFAULT_PARAMS, **(params or {})}
        top_k = int(given[PARAM_TOP_K])
        packed = is_packed(model_input)
        flat = unpack_snapshot(model_input) if packed else model_input
        self._require_columns(flat)
        catalog = catalog_dataset(given[PARAM_OFFERS], given[PARAM_POLICY], self.pipeline)
        current = decision_context(catalog) if catalog is not None else {}
        frame, state = split_snapshot(flat)
        recs = self.pipeline.recommend(frame, state, top_k=top_k, **current)
        return pack_recommendations(recs, model_input["account_id"]) if packed else recs

    def _require_columns(self, flat: pd.DataFrame) -> None:
        needed = ["account_id", "category", "rep_id", *STATE_COLUMNS, *self.pipeline.design.account_columns]
        missing = [c for c in needed if c not in flat.columns]
        if missing and len(flat):
            raise InputError(f"model input lacks columns {missing[:8]}{' ...' if len(missing) > 8 else ''}; "
                             "expected snapshot rows (features.snapshot.build_snapshot) or packed rows "
                             f"with columns account_id and {PACKED_COLUMN}")


def signature(example: pd.DataFrame, output: pd.DataFrame) -> ModelSignature:
    """The model's signature: ``account_id`` required; snapshot columns and the packed column
    optional (see the module docstring); the parameters with their defaults."""
    with warnings.catch_warnings():  # the output's integer rank is never missing
        warnings.filterwarnings("ignore", message=".*integer column.*")
        inferred = infer_signature(example, output, params=DEFAULT_PARAMS)
    assert inferred.inputs is not None
    columns: list[ColSpec | TensorSpec] = [ColSpec(c.type, c.name, required=c.name == "account_id") for c in inferred.inputs.inputs]
    columns.append(ColSpec("string", PACKED_COLUMN, required=False))
    return ModelSignature(inputs=Schema(columns), outputs=inferred.outputs, params=inferred.params)


def log_and_register(pipeline: DecisionPipeline, example: pd.DataFrame, *,
                     register: bool = True) -> tuple[str, str | None]:
    """Log ``pipeline`` in the active run as pyfunc model ``model``; register it as MODEL_NAME.

    Returns (model URI, version string such as "symbiose-nba/4" or None when not registered).
    The expected version is written into the pipeline before logging so its output names it.
    """
    from models.registry import MODEL_NAME, next_version  # not needed to load the model

    expected = next_version() if register else None
    pipeline.model_version = f"{MODEL_NAME}/{expected}" if register else "unregistered"
    # Counts are integers here but may be missing elsewhere: declare every integer input as double.
    ints = example.select_dtypes(include=["integer"]).columns
    example = example.astype({c: "float64" for c in ints})
    frame, state = split_snapshot(example)
    output = pipeline.recommend(frame, state, top_k=3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.joblib"
        joblib.dump(pipeline, path)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=SymbiosePyfunc(), artifacts={"pipeline": str(path)},
            signature=signature(example, output), input_example=example.iloc[: min(len(example), 16)],
            pip_requirements=pip_requirements(), code_paths=code_paths(),
            registered_model_name=MODEL_NAME if register else None,
        )
    version = None
    if register:
        got = int(info.registered_model_version)
        version = f"{MODEL_NAME}/{got}"
        if got != expected:
            mlflow.set_tag("model_version_mismatch", f"logged as {expected}, registered as {got}")
    return info.model_uri, version


def load_pipeline(model_uri: str) -> DecisionPipeline:
    """The DecisionPipeline inside a logged pyfunc model."""
    model = mlflow.pyfunc.load_model(model_uri)
    return model.unwrap_python_model().pipeline
