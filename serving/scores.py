"""Batch scores the service can start from: a recommendations file (docs/data-contract.md §3)
written by ``symbiose recommend`` and the small sidecar beside it that says what it was scored from.

The sidecar (``<file>.meta.json``) holds the model version, the as-of time, a fingerprint of the
data directory's tables and policy, how many suggestions per account were kept and the
exploration settings. The service serves the file only when all of them match what it would
score itself (:func:`scores_mismatches`); otherwise it says why and scores the snapshot instead.

With ``recommend --later-days N`` a second file beside it (``<name>.later<ext>``, named by
:func:`later_path`) holds the rep actions blocked at as-of that the contact caps and quiet days
allow within N days (``serving.suggestions.later_rows``), for the rep's day; the sidecar records N.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.contract import TABLES
from features.errors import InputError

SIDECAR_SUFFIX = ".meta.json"
#: Version of the sidecar's layout; a sidecar of another layout is not trusted. Format 2: the file
#: carries ``reason_codes`` (reasons as data, so pages render them in their own language).
SIDECAR_FORMAT = 2
POLICY_FILE = "policy.yaml"
#: Columns of the recommendations file read as text (ids stay text: ``007`` stays ``007``).
TEXT_COLUMNS = ("account_id", "channel", "offer_id", "executed_by", "rep_id", "reasons", "model_version",
                "category", "offer_name", "reason_codes")
REQUIRED_COLUMNS = ("account_id", "rank", "channel", "offer_id", "discount_pct", "p_convert", "p_convert_baseline",
                    "expected_incremental_margin", "executed_by", "reasons", "model_version", "category",
                    "offer_name", "reason_codes")


class ScoresError(InputError):
    """A scores file or its sidecar cannot be read or is not what the service expects."""


@dataclass(frozen=True)
class ScoresMeta:
    """What a recommendations file was scored from (the sidecar's content)."""

    model_version: str
    as_of: str
    data_fingerprint: str
    top_k: int
    explore: float = 0.0
    seed: int | None = None
    accounts: int = 0
    rows: int = 0
    format: int = SIDECAR_FORMAT
    #: Days the later file looks ahead (0: no later file) and its rows.
    later_days: int = 0
    later_rows: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScoresMeta:
        """The sidecar's fields; a clear error naming what is missing or malformed."""
        try:
            return cls(model_version=str(data["model_version"]), as_of=str(data["as_of"]),
                       data_fingerprint=str(data["data_fingerprint"]), top_k=int(data["top_k"]),
                       explore=float(data.get("explore", 0.0)),
                       seed=None if data.get("seed") is None else int(data["seed"]),
                       accounts=int(data.get("accounts", 0)), rows=int(data.get("rows", 0)),
                       format=int(data.get("format", 0)), later_days=int(data.get("later_days", 0)),
                       later_rows=int(data.get("later_rows", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ScoresError(f"scores sidecar: expected model_version, as_of, data_fingerprint and top_k, "
                              f"got {sorted(data)} ({type(exc).__name__}: {exc})") from None


def sidecar_path(scores: str | Path) -> Path:
    """Where the sidecar of the recommendations file ``scores`` lives."""
    path = Path(scores)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def later_path(scores: str | Path) -> Path:
    """Where the later rows of the recommendations file ``scores`` live: ``recs.later.parquet``
    beside ``recs.parquet``."""
    path = Path(scores)
    return path.with_name(f"{path.stem}.later{path.suffix}")


def data_fingerprint(directory: str | Path) -> str:
    """SHA-256 over the names and bytes of the data directory's contract tables, policy file and
    ownership history (``account_owners``, when there is one): the same files give the same
    fingerprint wherever the directory is copied; any changed, added or removed table gives another
    one. Other files in the directory do not count."""
    from features.ownership import ACCOUNT_OWNERS

    directory = Path(directory)
    names = [POLICY_FILE] + [f"{t.name}{ext}" for t in (*TABLES, ACCOUNT_OWNERS) for ext in (".csv", ".parquet")]
    digest = hashlib.sha256()
    for name in sorted(names):
        path = directory / name
        if not path.is_file():
            continue
        digest.update(name.encode() + b"\0")
        with path.open("rb") as handle:
            file_digest = hashlib.file_digest(handle, "sha256").digest()
        digest.update(file_digest)
    return digest.hexdigest()


def write_scores_meta(scores: str | Path, meta: ScoresMeta) -> Path:
    """Write the sidecar of ``scores`` atomically (after the file itself is complete)."""
    path = sidecar_path(scores)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(meta), handle, indent=2)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def read_scores_meta(scores: str | Path) -> ScoresMeta:
    """The sidecar of ``scores``; :class:`ScoresError` when the file or its sidecar is missing or unreadable."""
    scores = Path(scores)
    if not scores.is_file():
        raise ScoresError(f"scores file {scores}: no such file")
    path = sidecar_path(scores)
    if not path.is_file():
        raise ScoresError(f"scores file {scores}: no sidecar {path.name} beside it (written by `symbiose "
                          "recommend`), so what it was scored from is unknown")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoresError(f"scores sidecar {path}: expected JSON, got {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise ScoresError(f"scores sidecar {path}: expected a JSON object, got {type(data).__name__}")
    return ScoresMeta.from_json(data)


def scores_mismatches(meta: ScoresMeta, *, model_version: str, as_of: pd.Timestamp, fingerprint: str,
                      candidates: int, explore: float, explore_seed: int | None) -> list[str]:
    """Every reason the scores described by ``meta`` are not what the service would score now
    (empty when they may be served)."""
    problems = []
    if meta.format != SIDECAR_FORMAT:
        problems.append(f"sidecar format {meta.format}, expected {SIDECAR_FORMAT} (written by another version of "
                        "`symbiose recommend`: write the file again)")
    if meta.model_version != model_version:
        problems.append(f"scored by model {meta.model_version}, the service serves {model_version}")
    if _timestamp(meta.as_of) != pd.Timestamp(as_of):
        problems.append(f"scored as of {meta.as_of}, the service serves as of {pd.Timestamp(as_of).isoformat()}")
    if meta.data_fingerprint != fingerprint:
        problems.append("the data directory changed since it was scored (its tables or policy differ)")
    if meta.top_k < candidates:
        problems.append(f"written with --top-k {meta.top_k}, the service keeps {candidates} suggestions per "
                        f"account (SYMBIOSE_CANDIDATES): write it with --top-k {candidates} or more")
    if meta.explore != explore:
        problems.append(f"written with --explore {meta.explore:g}, the service explores {explore:g} "
                        "(SYMBIOSE_EXPLORE)")
    elif explore > 0 and explore_seed is not None and meta.seed != explore_seed:
        problems.append(f"exploration drawn with seed {meta.seed}, the service asks for {explore_seed} "
                        "(SYMBIOSE_EXPLORE_SEED)")
    return problems


def _timestamp(text: str) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(text)
    except ValueError:
        return None


def read_scores(scores: str | Path, meta: ScoresMeta, *, candidates: int) -> pd.DataFrame:
    """The recommendations file's rows, each account's first ``candidates`` by rank.

    Checks that it has the columns the service needs and that every row carries the sidecar's
    model version; :class:`ScoresError` otherwise."""
    frame = _read_rows(Path(scores), meta, "scores file")
    return frame.loc[frame["rank"] <= candidates].reset_index(drop=True)


def read_later(scores: str | Path, meta: ScoresMeta, *, candidates: int) -> pd.DataFrame:
    """The later rows written beside ``scores`` (``meta.later_days`` > 0), each account's first
    ``candidates`` per look-ahead (rank minus ``serving.suggestions.LATER_RANK``);
    :class:`ScoresError` when the file is missing, unreadable or not the sidecar's."""
    from serving.suggestions import LATER, LATER_RANK

    path = later_path(scores)
    if not path.is_file():
        raise ScoresError(f"later rows {path}: no such file, though the sidecar says --later-days {meta.later_days}")
    frame = _read_rows(path, meta, "later rows")
    if len(frame) != meta.later_rows:
        raise ScoresError(f"later rows {path}: {len(frame)} rows, its sidecar says {meta.later_rows}")
    frame[LATER] = True
    return frame.loc[frame["rank"] - LATER_RANK <= candidates].reset_index(drop=True)


def _read_rows(path: Path, meta: ScoresMeta, what: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            header = pd.read_csv(path, nrows=0).columns
            frame = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS if c in header},
                                keep_default_na=False, na_values={c: [""] for c in header})
        else:
            raise ScoresError(f"{what} {path}: expected .csv or .parquet, got {suffix or 'no extension'!r}")
    except (OSError, ValueError) as exc:
        raise ScoresError(f"{what} {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ScoresError(f"{what} {path}: expected the columns of `symbiose recommend`, missing {missing}")
    versions = set(frame["model_version"].dropna().astype(str).unique().tolist())
    if versions - {meta.model_version}:
        raise ScoresError(f"{what} {path}: rows of model {sorted(versions)}, its sidecar says "
                          f"{meta.model_version}")
    frame["account_id"] = frame["account_id"].astype(str)
    return frame
