"""What the service serves: one model's suggestions over one data directory at one as-of time,
scored and indexed once (:func:`load_snapshot`), then only read."""

from __future__ import annotations

import gc
import logging
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from features.dataset import Dataset, resolve_as_of
from features.errors import InputError
from models.pipeline import DecisionPipeline
from serving.data_reading import DataReading
from serving.deferred import Deferred
from serving.directory import AccountDirectory
from serving.scores import (
    ScoresError,
    ScoresMeta,
    data_fingerprint,
    read_later,
    read_scores,
    read_scores_meta,
    scores_mismatches,
)
from serving.settings import Settings
from serving.suggestions import SuggestionService

log = logging.getLogger("symbiose.serving")


@dataclass(frozen=True)
class ModelInfo:
    """What ``GET /v1/model`` and ``GET /health`` tell about the served model."""

    version: str
    trained_at: str
    trained_as_of: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """The served model and data, loaded and scored once."""

    model: ModelInfo
    suggestions: SuggestionService
    directory: AccountDirectory
    as_of: pd.Timestamp
    data_dir: Path | None
    #: Order lines before ``as_of`` with their owner and outreach credit
    #: (``features.attribution.attribute_orders``): given, or built once after start
    #: (:meth:`start_background`) or by the first reader.
    attributed: pd.DataFrame | Deferred[pd.DataFrame] | None = None
    #: Guardrail of each offer: the largest discount in percent any suggestion may carry.
    max_discount: dict[str, float] = field(default_factory=dict)
    currency: str = "EUR"
    #: offer_id -> product category; days after a touch in which an order counts as converted.
    offer_category: dict[str, str] = field(default_factory=dict)
    attribution_window_days: int = 30
    #: offer_id -> the offer's name, for offers that have one (shown instead of ids).
    offer_names: dict[str, str] = field(default_factory=dict)
    #: Where the suggestions came from: scored at start, or the batch scores file served.
    scored_from: str = "scored at start"
    #: ``serving.scores.data_fingerprint`` of the data directory's files as read ("" when unknown).
    data_fingerprint: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies the snapshot in caches of what depends on the model: as-of, model
        version, data directory and the attributed order lines it holds (two snapshots of one
        directory may hold other lines)."""
        return self.as_of.isoformat(), self.model.version, str(self.data_dir), str(id(self.attributed))

    @property
    def data_key(self) -> tuple[str, ...]:
        """What identifies the snapshot's order lines in caches of what does not depend on the
        model (revenue, attribution, conversions): as-of, data directory and the attributed order
        lines. Snapshots of two models share it when they share those lines (:meth:`sharing_data_of`)."""
        return self.as_of.isoformat(), str(self.data_dir), str(id(self.attributed))

    def sharing_data_of(self, other: Snapshot) -> Snapshot:
        """This snapshot holding ``other``'s attributed order lines when both were read from the
        same files (same data directory, fingerprint and as-of), so that caches of what does not
        depend on the model stay valid across a reload; else this snapshot unchanged."""
        same = (bool(self.data_fingerprint) and self.data_fingerprint == other.data_fingerprint
                and self.data_dir == other.data_dir and self.as_of == other.as_of
                and other.attributed is not None)
        return replace(self, attributed=other.attributed) if same else self

    def attributed_lines(self) -> pd.DataFrame:
        """The credited order lines (waits while they are being built); a clear error if the
        snapshot was built without them."""
        if self.attributed is None:
            raise RuntimeError("the served snapshot has no attributed order lines; build it with "
                               "serving.snapshot.build_snapshot_state")
        if isinstance(self.attributed, Deferred):
            return self.attributed.get()
        return self.attributed

    def start_background(self) -> None:
        """Build what only some pages need (account histories, attributed order lines) in
        background threads; suggestions are served meanwhile. Once both are built, the objects
        they hold are moved out of the garbage collector's view (``gc.freeze``, see
        ``serving.runtime.settle_heap``), so that later full collections do not walk them."""
        self.directory.start_history()
        if isinstance(self.attributed, Deferred):
            self.attributed.start()
        threading.Thread(target=self._freeze_when_built, name="freeze-snapshot", daemon=True).start()

    def _freeze_when_built(self) -> None:
        try:
            self.prepare()
        except RuntimeError:
            return  # a failed build: its readers get the error; nothing to freeze
        gc.freeze()

    def prepare(self) -> Snapshot:
        """Build now, in this thread, everything :meth:`start_background` would (before a
        snapshot is swapped in, so it is whole when served)."""
        self.directory.history_ready()
        if self.attributed is not None:
            self.attributed_lines()
        return self


def build_snapshot_state(dataset: Dataset, pipeline: DecisionPipeline, version: str, *,
                         as_of: pd.Timestamp, candidates: int = 20, explain_depth: int = 3,
                         explore: float = 0.0, explore_seed: int | None = None,
                         scores: pd.DataFrame | None = None, scored_from: str = "scored at start",
                         later_days: int = 14, data_fingerprint: str = "") -> Snapshot:
    """Score ``dataset`` at ``as_of`` with ``pipeline`` once and index its accounts; with
    ``scores`` (batch scores checked to be of the same model, data and as-of) serve those
    instead, scoring only the accounts they miss, when first asked for. ``later_days``: how far
    ahead the rep actions blocked today are looked for when scoring at start (``SuggestionService``;
    served from a scores file, they are the file's later rows, if any). ``data_fingerprint``: that
    of the files ``dataset`` was read from, if known."""
    if scores is None:
        service = SuggestionService.build(dataset, as_of, pipeline, model_version=version, candidates=candidates,
                                          explain_depth=explain_depth, explore=explore, seed=explore_seed,
                                          later_days=later_days)
    else:
        service = SuggestionService.from_scores(scores, dataset, as_of, pipeline, model_version=version,
                                                candidates=candidates, explain_depth=explain_depth,
                                                explore=explore, seed=explore_seed)
    directory = AccountDirectory(dataset, as_of, service.accounts)
    return Snapshot(model=model_info(pipeline, version), suggestions=service, directory=directory, as_of=pd.Timestamp(as_of),
                    data_dir=dataset.source,
                    attributed=Deferred(lambda: attributed_lines(dataset, as_of), name="attributed order lines"),
                    max_discount=offer_guardrails(dataset), currency=dataset.policy.currency,
                    offer_category=dict(zip(dataset.offers["offer_id"].astype(str),
                                            dataset.offers["product_category"].astype(str), strict=True)),
                    attribution_window_days=dataset.policy.attribution_window_days, scored_from=scored_from,
                    offer_names=offer_names(dataset), data_fingerprint=data_fingerprint)


def model_info(pipeline: DecisionPipeline, version: str) -> ModelInfo:
    """What the service tells about ``pipeline`` registered as ``version``."""
    metrics = {k: float(v) for k, v in (pipeline.metrics or {}).items()
               if isinstance(v, (int, float)) and math.isfinite(float(v))}
    return ModelInfo(version=version, trained_at=str(pipeline.trained_at or ""),
                     trained_as_of=str(pipeline.as_of or ""), metrics=metrics)


def offer_names(dataset: Dataset) -> dict[str, str]:
    """offer_id -> name of the offers that have a name."""
    named = dataset.offers.dropna(subset=["name"])
    return dict(zip(named["offer_id"].astype(str), named["name"].astype(str), strict=True))


def attributed_lines(dataset: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
    """The order lines before ``as_of`` credited to owner and outreach (ownership history from
    the data directory's ``account_owners`` table when it has one)."""
    from features.attribution import attribute_orders
    from features.ownership import load_account_owners

    data = dataset.before(pd.Timestamp(as_of))
    owners = load_account_owners(dataset.source, dataset.accounts) if dataset.source is not None else None
    return attribute_orders(data, owners)


def offer_guardrails(dataset: Dataset) -> dict[str, float]:
    """offer_id -> max_discount_pct (the contract's guardrail; defaults already filled in)."""
    offers = dataset.offers.dropna(subset=["max_discount_pct"])
    return dict(zip(offers["offer_id"].astype(str), offers["max_discount_pct"].astype(float), strict=True))


def load_snapshot(settings: Settings, served: Snapshot | None = None, *,
                  reading: DataReading | None = None) -> Snapshot:
    """Load the data directory and the model named by ``settings`` and score them once (or serve
    the batch scores of ``settings.scores`` when they are of this model, data and as-of).

    The model loads in a worker thread while the data directory is read (both spend much of
    their time outside the interpreter lock: file reads, parsing, the boosters' own code).

    ``served``: the snapshot served now. When the data directory's files are those it was read
    from and the scores file is of its as-of and covers its accounts, the new snapshot is that one
    with the new model's suggestions (:func:`rescored`): nothing that does not depend on the model
    is read or built again.

    ``reading``: the data directory's reading, started earlier (``serving.data_reading``); it
    must be of ``settings.data``."""
    if settings.data is None:
        raise InputError("no data directory: pass --data DIR or set SYMBIOSE_DATA")
    data = Path(settings.data)
    if not data.is_dir():
        raise FileNotFoundError(f"--data {data}: no such directory")
    if reading is not None and reading.directory != data:
        raise ValueError(f"a reading of {reading.directory} given for the data directory {data}")
    with _no_collections():
        return _load_snapshot(settings, data, served, reading)


@contextmanager
def _no_collections() -> Iterator[None]:
    """The cyclic garbage collector paused: loading creates millions of objects that all stay,
    and each full collection on the way walks all of them again (at 20,000 accounts, full
    collections of 0.2 to 1.5 s each during a start on a busy machine). The caller settles the
    heap once after loading (``serving.runtime.settle_heap``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_snapshot(settings: Settings, data: Path, served: Snapshot | None,
                   reading: DataReading | None) -> Snapshot:
    from features.loading import load_dataset
    from models.recommend import load_model

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load") as pool:
        model = pool.submit(load_model, settings.model)
        if served is not None and settings.scores is not None and reading is None:
            # The fingerprint decides whether the files need reading at all.
            fingerprint = data_fingerprint(data)
            same_files = (bool(fingerprint) and served.data_fingerprint == fingerprint
                          and served.data_dir == data)
            dataset = None if same_files else load_dataset(data)
        else:  # tables and fingerprint read side by side (hashing leaves the interpreter lock free)
            dataset, fingerprint = (reading if reading is not None else DataReading(data)).result()
        pipeline, version = model.result()
    if served is not None and dataset is None:
        snapshot = rescored(served, settings, pipeline, version)
        if snapshot is not None:
            return snapshot
    if dataset is None:
        dataset = load_dataset(data)
    as_of = resolve_as_of(dataset, settings.as_of, "SYMBIOSE_AS_OF")
    scores = servable_scores(settings, fingerprint, version, as_of)
    return build_snapshot_state(dataset, pipeline, version, as_of=as_of,
                                candidates=settings.candidates, explain_depth=settings.explain_depth,
                                explore=settings.explore, explore_seed=settings.explore_seed, scores=scores,
                                scored_from="scored at start" if scores is None else f"scores file {settings.scores}",
                                later_days=settings.rep_day_days, data_fingerprint=fingerprint)


def rescored(served: Snapshot, settings: Settings, pipeline: DecisionPipeline, version: str) -> Snapshot | None:
    """``served`` with the suggestions of model ``version`` from the scores file
    ``settings.scores`` when that file is of ``served``'s data (the caller checked the data
    directory's files are unchanged), as-of and settings and covers every account of it; None
    otherwise. The data directory is not read again: the accounts' contact state and histories,
    the attributed order lines and the offers are ``served``'s own, shared."""
    scores, problems = _scores_or_problems(settings, served.data_fingerprint, version, served.as_of)
    if scores is None or problems:
        return None
    if not served.suggestions.accounts.isin(scores["account_id"].astype(str)).all():
        return None
    return replace(served, model=model_info(pipeline, version),
                   suggestions=served.suggestions.with_candidates(scores, model_version=version),
                   scored_from=f"scores file {settings.scores}")


def servable_scores(settings: Settings, fingerprint: str, version: str, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """The rows of the scores file ``settings.scores`` when its sidecar shows they are of model
    ``version``, of the data whose ``data_fingerprint`` is ``fingerprint`` and of ``as_of``, and deep enough;
    None (with a warning saying why) otherwise, and when no scores file is set."""
    scores, problems = _scores_or_problems(settings, fingerprint, version, as_of)
    if problems:
        log.warning("not serving the scores file %s: %s; scoring all accounts now instead",
                    settings.scores, "; ".join(problems))
    return scores


def _scores_or_problems(settings: Settings, fingerprint: str, version: str,
                        as_of: pd.Timestamp) -> tuple[pd.DataFrame | None, list[str]]:
    """(rows, []) of the scores file ``settings.scores`` when they may be served (see
    :func:`servable_scores`), else (None, every reason they may not); (None, []) without a file."""
    if settings.scores is None:
        return None, []
    path = Path(settings.scores)
    try:
        meta = read_scores_meta(path)
        problems = scores_mismatches(meta, model_version=version, as_of=as_of, fingerprint=fingerprint,
                                     candidates=settings.candidates, explore=settings.explore,
                                     explore_seed=settings.explore_seed)
        if not problems:
            scores = read_scores(path, meta, candidates=settings.candidates)
            return _with_later_rows(scores, path, meta, settings), []
    except ScoresError as exc:
        problems = [str(exc)]
    return None, problems


def _with_later_rows(scores: pd.DataFrame, path: Path, meta: ScoresMeta, settings: Settings) -> pd.DataFrame:
    """``scores`` and the later rows written beside them when they look as far ahead as the
    rep's day (``SYMBIOSE_REP_DAY_DAYS``); else ``scores`` alone, with a warning saying why the
    rep's day lists only what is possible today."""
    if settings.rep_day_days <= 0:
        return scores
    if meta.later_days != settings.rep_day_days:
        written = f"with --later-days {meta.later_days}" if meta.later_days else "without --later-days"
        log.warning("the scores file %s was written %s and the rep's day looks %d days ahead "
                    "(SYMBIOSE_REP_DAY_DAYS): it lists only the calls and visits possible today; write the "
                    "file with --later-days %d for the others", path, written, settings.rep_day_days,
                    settings.rep_day_days)
        return scores
    later = read_later(path, meta, candidates=settings.candidates)
    return pd.concat([scores, later], ignore_index=True) if len(later) else scores
