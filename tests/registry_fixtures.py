"""A separate, empty MLflow registry per test, filled with versions of the session's trained model.

Registering a new version of an already logged model takes a fraction of a second (no training,
no logging): every version points at the artifacts of the session's ``trained_run``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.registry import MODEL_NAME, configure_tracking


def model_source(model_version: str) -> str:
    """The artifact location of a registered version ("symbiose-nba/1") in the current store."""
    configure_tracking()
    source = MlflowClient().get_model_version(MODEL_NAME, model_version.rsplit("/", 1)[1]).source
    if source.startswith("models:/"):
        return mlflow.get_logged_model(source.removeprefix("models:/")).artifact_location
    return source


_TEMPLATES: dict[str, Path] = {}


def _empty_store(directory: Path) -> Path:
    """An empty, fully created MLflow SQLite store (creating its tables takes seconds, copying
    the file does not): made once per process and test session."""
    key = str(directory)
    if key not in _TEMPLATES:
        with separate_registry(directory / "template"):
            MlflowClient().search_registered_models()
        _TEMPLATES[key] = directory / "template" / "mlflow.db"
    return _TEMPLATES[key]


@contextmanager
def separate_registry(home: Path, templates: Path | None = None) -> Iterator[Path]:
    """Point SYMBIOSE_HOME (and MLflow) at an empty store under ``home``; restore afterwards.

    With ``templates`` (a directory shared by the session, e.g. pytest's base temp) the store is
    a copy of one made there once."""
    if templates is not None:
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_empty_store(templates / "empty-mlflow-store"), home / "mlflow.db")
    old = os.environ.get("SYMBIOSE_HOME")
    os.environ["SYMBIOSE_HOME"] = str(home)
    configure_tracking()
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("SYMBIOSE_HOME", None)
        else:
            os.environ["SYMBIOSE_HOME"] = old
        configure_tracking()


def add_version(source: str) -> int:
    """Register one more version of MODEL_NAME with the artifacts at ``source``; its number."""
    client = MlflowClient()
    try:
        client.get_registered_model(MODEL_NAME)
    except MlflowException:
        client.create_registered_model(MODEL_NAME)
    return int(client.create_model_version(MODEL_NAME, source=source).version)
