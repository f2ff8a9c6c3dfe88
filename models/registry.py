"""MLflow tracking and model registry: where runs go, how versions are named and resolved.

With no ``MLFLOW_TRACKING_URI`` an embedded store is created on first use under the working
directory ``SYMBIOSE_HOME`` (default ``./.symbiose``): a SQLite database and an artifact folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

MODEL_NAME = "symbiose-nba"
EXPERIMENT_NAME = "symbiose"
CHAMPION = "champion"


class ModelNotFoundError(LookupError):
    """No registered model version could be resolved."""


def home() -> Path:
    """The local working directory for embedded state (created on demand)."""
    path = Path(os.environ.get("SYMBIOSE_HOME", ".symbiose")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_tracking() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or the embedded SQLite store; return the URI."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        uri = f"sqlite:///{home() / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI", uri))
    return uri


def ensure_experiment() -> str:
    """The experiment id of ``symbiose``; created with a local artifact folder when embedded."""
    client = MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT_NAME)
    if exp is not None:
        return exp.experiment_id
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        location = (home() / "artifacts").as_uri()
    return client.create_experiment(EXPERIMENT_NAME, artifact_location=location)


def resolve_model_uri(uri: str | None = None) -> tuple[str, str]:
    """(MLflow model URI, human-readable version "symbiose-nba/3") for ``uri`` or the default:
    the version with alias ``champion``, else the latest registered version."""
    client = MlflowClient()
    if uri:
        if uri.startswith("models:/"):
            rest = uri.removeprefix("models:/")
            if "@" in rest:
                name, alias = rest.split("@", 1)
                try:
                    mv = client.get_model_version_by_alias(name, alias)
                except MlflowException as exc:
                    raise ModelNotFoundError(f"model {name!r} has no alias {alias!r}") from exc
                return f"models:/{name}/{mv.version}", f"{name}/{mv.version}"
            name, _, version = rest.partition("/")
            if not version:  # a logged model id such as models:/m-0123abcd
                return uri, uri
            return uri, f"{name}/{version}"
        return uri, uri
    try:
        mv = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
        return f"models:/{MODEL_NAME}/{mv.version}", f"{MODEL_NAME}/{mv.version}"
    except MlflowException:
        pass
    try:
        versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    except MlflowException:
        versions = []
    if not versions:
        raise ModelNotFoundError(
            f"no registered version of {MODEL_NAME!r} in {mlflow.get_tracking_uri()}; "
            "run `symbiose train --data DIR` first or pass --model URI"
        )
    latest = max(versions, key=lambda v: int(v.version))
    return f"models:/{MODEL_NAME}/{latest.version}", f"{MODEL_NAME}/{latest.version}"


def next_version() -> int:
    """The version number the next registration of MODEL_NAME will get."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    except MlflowException:
        return 1
    return max((int(v.version) for v in versions), default=0) + 1
