"""A new champion's snapshot built without holding up the requests being served.

Scoring every account is minutes of pandas and Python work. Done in a thread of the serving
process, it holds the interpreter lock against the request threads for as long as it runs (in a
10-minute soak, p50 rose from 20 to 115-190 ms in the minute of each reload). So a reload asks a
child process, ``symbiose recommend``, to write the new version's batch scores (with the serving
settings: candidates, explain depth, exploration, the rep's-day look-ahead) at a lower CPU
priority, then loads them as ``symbiose serve --scores`` does at start: only the reading and
indexing stay in the serving process.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import mlflow

from models.registry import resolve_model_uri
from serving.scores import ScoresError, read_scores_meta
from serving.settings import Settings
from serving.snapshot import Snapshot, load_snapshot

log = logging.getLogger("symbiose.serving")

#: How much lower the child's CPU priority is than the service's (``nice``).
CHILD_NICENESS = 10
#: What a snapshot built from the child's scores says it was scored from.
SCORED_IN_CHILD = "scored in a child process at reload"


class ChildScoringError(RuntimeError):
    """The child ``symbiose recommend`` failed or was stopped."""


def recommend_command(settings: Settings, out: Path) -> list[str]:
    """The ``symbiose recommend`` call that writes the batch scores the service with ``settings``
    would score itself (same model, data, as-of, candidates, explain depth, exploration, look-ahead)."""
    if settings.data is None or settings.model is None:
        raise ValueError(f"scoring in a child process needs a data directory and a model URI, got "
                         f"data={settings.data!r}, model={settings.model!r}")
    command = [sys.executable, "-m", "serving.cli", "recommend", "--data", str(Path(settings.data).resolve()),
               "--out", str(out), "--model", settings.model, "--top-k", str(settings.candidates),
               "--explain-depth", str(settings.explain_depth), "--later-days", str(settings.rep_day_days)]
    if settings.as_of is not None:
        command += ["--as-of", settings.as_of]
    if settings.explore > 0:
        command += ["--explore", repr(settings.explore)]
        if settings.explore_seed is not None:
            command += ["--seed", str(settings.explore_seed)]
    return command


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment, pointed at the same MLflow registry and home, with OpenMP
    threads that sleep instead of spinning while they wait (they would take CPU from requests)."""
    env = dict(os.environ)
    env["SYMBIOSE_HOME"] = str(Path(settings.home).resolve())
    env["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
    env["MLFLOW_REGISTRY_URI"] = mlflow.get_registry_uri()
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def score_in_child(settings: Settings, out: Path, *, stop: threading.Event | None = None,
                   poll_seconds: float = 0.5) -> Path:
    """Write the batch scores of ``settings`` (whose ``model`` names one version) to ``out`` with a
    ``symbiose recommend`` child process at lower priority; ``out``. Stopped (and
    :class:`ChildScoringError` raised) when ``stop`` is set; the error holds the end of the
    child's output when it fails."""
    stop = stop or threading.Event()
    output = out.with_suffix(".log")
    with output.open("wb") as sink:
        child = subprocess.Popen(recommend_command(settings, out), env=child_environment(settings),
                                 stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
        _lower_priority(child.pid)
        try:
            while child.poll() is None:
                if stop.wait(poll_seconds):
                    raise ChildScoringError("scoring in a child process: stopped before it finished")
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    if child.returncode != 0:
        tail = output.read_text(errors="replace")[-2000:]
        raise ChildScoringError(f"scoring in a child process: `symbiose recommend` exited with "
                                f"{child.returncode}: {tail}")
    return out


def _lower_priority(pid: int) -> None:
    """Lower the child's priority right after it starts (threads it creates later inherit it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICENESS))
    except (AttributeError, OSError) as exc:  # no such call on this platform, or not allowed
        log.info("could not lower the priority of the scoring child %d: %s", pid, exc)


def load_snapshot_apart(settings: Settings, *, stop: threading.Event | None = None,
                        served: Snapshot | None = None) -> Snapshot:
    """The snapshot of ``settings`` (``model`` naming one version), scored in a child process.

    When ``settings.scores`` already holds that version's scores, they are loaded as they are
    (``load_snapshot`` checks them). When the child fails, the snapshot is scored in this process,
    with a warning saying why. ``served``: the snapshot served now, whose model-independent parts
    the new one shares when the data directory's files are unchanged (``load_snapshot``)."""
    if settings.scores is not None and _scores_version(Path(settings.scores)) == resolve_model_uri(settings.model)[1]:
        return load_snapshot(settings, served)
    with tempfile.TemporaryDirectory(prefix="symbiose-reload-") as folder:
        try:
            scores = score_in_child(settings, Path(folder) / "scores.parquet", stop=stop)
        except (ChildScoringError, OSError) as exc:
            if stop is not None and stop.is_set():
                raise
            log.warning("%s; scoring in the serving process instead", exc)
            return replace(load_snapshot(replace_settings(settings, scores=None)), scored_from="scored at reload")
        snapshot = load_snapshot(replace_settings(settings, scores=scores), served)
    if snapshot.scored_from == f"scores file {scores}":
        return replace(snapshot, scored_from=SCORED_IN_CHILD)
    return snapshot


def replace_settings(settings: Settings, **changes: object) -> Settings:
    """``settings`` with ``changes`` (values of the fields' own types)."""
    return settings.model_copy(update=changes)


def _scores_version(path: Path) -> str | None:
    try:
        return read_scores_meta(path).model_version
    except ScoresError:
        return None
