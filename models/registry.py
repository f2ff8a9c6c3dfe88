"""MLflow tracking and model registry: where runs go, how versions are named and resolved.

With no ``MLFLOW_TRACKING_URI`` an embedded store is created on first use under the working
directory ``SYMBIOSE_HOME`` (default ``./.symbiose``): a SQLite database and an artifact folder.

Aliases: every trained version gets ``challenger``; ``champion`` is what is served by default.
Each version that became champion carries the tag ``previous_champion`` (the version it
replaced), so the chain of champions survives restarts and ``rollback`` can walk it back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.errors import SymbioseError

MODEL_NAME = "symbiose-nba"
EXPERIMENT_NAME = "symbiose"
CHAMPION = "champion"
CHALLENGER = "challenger"
#: Model-version tags written when a version becomes champion or is rolled back.
PREVIOUS_CHAMPION_TAG = "previous_champion"
PROMOTED_AT_TAG = "promoted_at"


#: URIs this process chose itself. MLflow copies every URI it is given into MLFLOW_TRACKING_URI /
#: MLFLOW_REGISTRY_URI, so those variables only count as the user's choice when they differ.
_EMBEDDED_URIS: set[str] = set()


class ModelNotFoundError(SymbioseError, LookupError):
    """No registered model version could be resolved."""


class RegistrySettings(BaseSettings):
    """Where models and embedded state live, read from the environment: ``SYMBIOSE_HOME`` (the
    local working directory), ``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI``. The service's
    ``serving.settings.Settings`` extends it: one settings class for everything."""

    model_config = SettingsConfigDict(env_prefix="SYMBIOSE_", extra="ignore", populate_by_name=True)

    home: Path = Field(Path(".symbiose"), description="local working directory for embedded state")
    mlflow_tracking_uri: str | None = Field(None, validation_alias="MLFLOW_TRACKING_URI",
                                            description="MLflow tracking server; default: embedded SQLite")
    mlflow_registry_uri: str | None = Field(None, validation_alias="MLFLOW_REGISTRY_URI",
                                            description="MLflow model registry; default: the tracking URI")


def home() -> Path:
    """The local working directory for embedded state (created on demand)."""
    path = RegistrySettings().home.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_tracking() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or the embedded SQLite store; return the URI."""
    settings = RegistrySettings()
    uri = _users_uri(settings.mlflow_tracking_uri)
    if not uri:
        uri = f"sqlite:///{home() / 'mlflow.db'}"
        _EMBEDDED_URIS.add(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(_users_uri(settings.mlflow_registry_uri) or uri)
    return uri


def _users_uri(value: str | None) -> str | None:
    """The configured URI ``value`` unless it is one this process set for the embedded store."""
    return None if not value or value in _EMBEDDED_URIS else value


def ensure_experiment() -> str:
    """The experiment id of ``symbiose``; created with a local artifact folder when embedded."""
    client = MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT_NAME)
    if exp is not None:
        return exp.experiment_id
    location = None
    if not _users_uri(RegistrySettings().mlflow_tracking_uri):
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
        versions: list[ModelVersion] = list(client.search_model_versions(f"name='{MODEL_NAME}'"))
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


def version_label(version: int) -> str:
    """The human-readable name of a version of MODEL_NAME, e.g. "symbiose-nba/3"."""
    return f"{MODEL_NAME}/{version}"


def alias_version(alias: str) -> int | None:
    """The version of MODEL_NAME that ``alias`` points to, or None (no such alias or model)."""
    try:
        return int(MlflowClient().get_model_version_by_alias(MODEL_NAME, alias).version)
    except MlflowException:
        return None


def champion_version() -> int | None:
    """The version with alias ``champion``, or None."""
    return alias_version(CHAMPION)


def challenger_version() -> int | None:
    """The version with alias ``challenger``, or None."""
    return alias_version(CHALLENGER)


def set_alias(alias: str, version: int) -> None:
    """Point ``alias`` of MODEL_NAME at ``version`` (moving it from whichever version had it)."""
    client = MlflowClient()
    try:
        client.get_model_version(MODEL_NAME, str(version))
    except MlflowException as exc:
        raise ModelNotFoundError(f"cannot set alias {alias!r}: {version_label(version)} is not "
                                 "a registered version") from exc
    client.set_registered_model_alias(MODEL_NAME, alias, str(version))


def version_tags(version: int) -> dict[str, str]:
    """The tags of a registered version of MODEL_NAME."""
    try:
        return dict(MlflowClient().get_model_version(MODEL_NAME, str(version)).tags)
    except MlflowException as exc:
        raise ModelNotFoundError(f"{version_label(version)} is not a registered version") from exc


def tag_version(version: int, tags: dict[str, str]) -> None:
    """Set tags on a registered version of MODEL_NAME (values are stored as text)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, str(version), key, str(value))


def make_champion(version: int, tags: dict[str, str] | None = None) -> int | None:
    """Give ``version`` the ``champion`` alias, remembering the version it replaces.

    The tags ``previous_champion`` and ``promoted_at`` plus ``tags`` are written on ``version``
    first, then the alias moves: a reader never sees a champion without its history.
    Returns the previous champion (None when there was none).
    """
    previous = champion_version()
    record = {PROMOTED_AT_TAG: utc_now(), **(tags or {})}
    if previous is not None and previous != version:
        record[PREVIOUS_CHAMPION_TAG] = str(previous)
    elif previous is None and PREVIOUS_CHAMPION_TAG in version_tags(version):
        MlflowClient().delete_model_version_tag(MODEL_NAME, str(version), PREVIOUS_CHAMPION_TAG)
    tag_version(version, record)
    set_alias(CHAMPION, version)
    return previous


def previous_champion(version: int) -> int | None:
    """The champion that ``version`` replaced when it was promoted, or None."""
    value = version_tags(version).get(PREVIOUS_CHAMPION_TAG)
    return int(value) if value and value.isdigit() else None


def rollback_champion() -> tuple[int, int]:
    """Give ``champion`` back to the version the current champion replaced; (from, to).

    The rolled-back version is tagged ``rolled_back_at`` and ``rolled_back_to``.
    """
    current = champion_version()
    if current is None:
        raise ModelNotFoundError(f"{MODEL_NAME!r} has no champion: nothing to roll back")
    previous = previous_champion(current)
    if previous is None:
        raise ModelNotFoundError(f"the champion {version_label(current)} replaced no earlier "
                                 "champion: there is nothing to roll back to")
    tag_version(current, {"rolled_back_at": utc_now(), "rolled_back_to": str(previous)})
    set_alias(CHAMPION, previous)
    return current, previous


def register_challenger(version: int) -> bool:
    """Mark a newly registered version as ``challenger``; when there is no champion yet it
    becomes the champion too (so serving and recommending work at once). True if it did."""
    set_alias(CHALLENGER, version)
    if champion_version() is not None:
        return False
    make_champion(version, {"promotion": "first registered version"})
    return True


def utc_now() -> str:
    """The current time as ISO 8601 text in UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
