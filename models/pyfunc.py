"""The decision pipeline as one ``mlflow.pyfunc`` model, logged and registered in one step.

Input: one row per account × category with ``account_id``, ``category``, ``rep_id``, the contact
state columns and the feature columns (``features.snapshot.build_snapshot`` produces exactly this).
Output: the recommendations (docs/data-contract.md §3). ``params={"top_k": K}`` sets suggestions per account.
So ``mlflow models serve`` and Spark's ``spark_udf`` run the same decisions as the CLI.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

from models.pipeline import DecisionPipeline, split_snapshot
from models.registry import MODEL_NAME, next_version

PIP_REQUIREMENTS = ["pandas>=2.2", "numpy>=1.26", "scikit-learn>=1.5", "lightgbm>=4.3",
                    "mlflow>=3.1", "pyyaml>=6.0", "joblib>=1.3"]


class SymbiosePyfunc(PythonModel):
    """pyfunc wrapper around a pickled :class:`DecisionPipeline`."""

    def load_context(self, context: Any) -> None:
        self.pipeline: DecisionPipeline = joblib.load(context.artifacts["pipeline"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        top_k = int((params or {}).get("top_k", 3))
        frame, state = split_snapshot(model_input)
        return self.pipeline.recommend(frame, state, top_k=top_k)


def log_and_register(pipeline: DecisionPipeline, example: pd.DataFrame, *,
                     register: bool = True) -> tuple[str, str | None]:
    """Log ``pipeline`` in the active run as pyfunc model ``model``; register it as MODEL_NAME.

    Returns (model URI, version string such as "symbiose-nba/4" or None when not registered).
    The expected version is written into the pipeline before logging so its output names it.
    """
    expected = next_version() if register else None
    pipeline.model_version = f"{MODEL_NAME}/{expected}" if register else "unregistered"
    # Counts are integers here but may be missing elsewhere: declare every integer input as double.
    ints = example.select_dtypes(include=["integer"]).columns
    example = example.astype({c: "float64" for c in ints})
    frame, state = split_snapshot(example)
    output = pipeline.recommend(frame, state, top_k=3)
    with warnings.catch_warnings():  # the output's integer rank is never missing
        warnings.filterwarnings("ignore", message=".*integer column.*")
        signature = infer_signature(example, output, params={"top_k": 3})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.joblib"
        joblib.dump(pipeline, path)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=SymbiosePyfunc(), artifacts={"pipeline": str(path)},
            signature=signature, input_example=example.iloc[: min(len(example), 16)],
            pip_requirements=PIP_REQUIREMENTS,
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
