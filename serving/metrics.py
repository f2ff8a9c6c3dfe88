"""Prometheus metrics of the running service (``GET /metrics``, see docs/operations.md).

Counted as things happen, in one :class:`ServiceMetrics` per runtime (its own registry, so two
services in one process never mix their numbers): request durations per route template, status
and method (by the access log middleware), suggestions served per channel and model version and
the decision log's group commits (by the decision log's writer thread, after each commit),
feedback per status (when stored). Read at scrape time from the served runtime, so that a hot
reload shows at once: the model version, the snapshot's as-of and age, and the decision log's
queue depth (:func:`exposition`).
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import generate_latest

if TYPE_CHECKING:
    from serving.runtime import Runtime

#: Content type of the text exposition format 0.0.4, which every Prometheus version reads (the
#: metric and label names here need none of the later format's escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Request duration buckets in seconds: served suggestions take about a millisecond, pages tens.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Group-commit buckets in seconds.
WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """The service's counters and histograms in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "symbiose_http_request_duration_seconds",
            "Time from a request's arrival to its answer, per route template, method and status",
            ("route", "method", "status"), buckets=REQUEST_BUCKETS, registry=self.registry)
        self.suggestions = Counter(
            "symbiose_suggestions_served", "Suggestions shown (and written to the decision log)",
            ("channel", "model_version"), registry=self.registry)
        self.feedback = Counter(
            "symbiose_feedback", "Feedback stored by this service, per status", ("status",),
            registry=self.registry)
        self.log_writes = Histogram(
            "symbiose_decision_log_write_seconds", "Duration of one decision-log group commit",
            buckets=WRITE_BUCKETS, registry=self.registry)
        self.log_failures = Counter(
            "symbiose_decision_log_write_failures", "Decision-log group commits that failed",
            registry=self.registry)
        self._request_children: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request (the label lookup is cached: it costs more than the observation)."""
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children.setdefault(key, self.requests.labels(route, method, str(status)))
        child.observe(seconds)

    def observe_feedback(self, status: str) -> None:
        """One feedback stored (a replayed idempotent request is not counted again)."""
        self.feedback.labels(status).inc()

    def observe_log_commit(self, rows: Sequence[dict[str, Any]], seconds: float) -> None:
        """A committed decision-log batch: its duration and its suggestions per channel and model."""
        self.log_writes.observe(seconds)
        for (channel, version), count in Tally((r["channel"], r["model_version"]) for r in rows).items():
            self.suggestions.labels(str(channel), str(version)).inc(count)

    def observe_log_failure(self) -> None:
        """A decision-log batch that could not be committed."""
        self.log_failures.inc()


def served_state(runtime: Runtime, now: float | None = None) -> Iterator[Metric]:
    """What the runtime serves right now: model version, snapshot as-of and age, log queue depth."""
    snap = runtime.snapshot
    info = InfoMetricFamily("symbiose_model", "The served model (changes when a new champion is loaded)",
                            labels=("version", "scoring_version", "trained_at", "trained_as_of"))
    info.add_metric((snap.model.version, snap.suggestions.model_version, snap.model.trained_at,
                     snap.model.trained_as_of), {})
    yield info
    as_of = snap.as_of.tz_localize("UTC") if snap.as_of.tzinfo is None else snap.as_of
    as_of_seconds = as_of.timestamp()
    yield GaugeMetricFamily("symbiose_snapshot_as_of_timestamp_seconds",
                            "As-of time of the served snapshot (Unix time)", value=as_of_seconds)
    now = time.time() if now is None else now
    yield GaugeMetricFamily("symbiose_snapshot_age_seconds",
                            "Seconds since the served snapshot's as-of time", value=now - as_of_seconds)
    yield GaugeMetricFamily("symbiose_snapshot_accounts", "Accounts in the served snapshot",
                            value=len(snap.suggestions.accounts))
    yield GaugeMetricFamily("symbiose_decision_log_queue_depth",
                            "Requests whose shown suggestions wait for the decision log's next commit",
                            value=runtime.decision_log.queue_depth())


class _Scrape:
    """The registry of the runtime's metrics plus its served state, as ``generate_latest`` reads it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self.runtime.metrics.registry.collect()
        yield from served_state(self.runtime)


def exposition(runtime: Runtime) -> bytes:
    """The runtime's metrics in Prometheus' text format."""
    return generate_latest(_Scrape(runtime))


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of sample ``name`` with exactly ``labels`` in an exposition ``text`` (None: absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = labels or {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return float(sample.value)
    return None
