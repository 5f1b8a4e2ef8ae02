"""Prometheus metrics, named after controller-runtime's so existing dashboards read them.

controller-runtime exports ``controller_runtime_reconcile_total{result}``,
``..._reconcile_errors_total``, ``..._reconcile_time_seconds`` and ``workqueue_depth``/
``workqueue_retries_total``; we keep the shapes under a ``reconciler_`` prefix and add what is
specific to an address book: API requests by method and code, etag conflicts, drift, and broken
manifests. Every series is labelled by account (``name`` for the queue, as client-go does).

Each controller owns its own registry so that tests can run several in one process.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler import __version__

__all__ = ["CONTENT_TYPE", "ApiRequestStats", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

ApiRequestStats = Callable[[], Mapping[tuple[str, str], int]]
"""Returns cumulative API request counts keyed by ``(method id, status code)``."""

_PASS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_BACKOFF_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class _ApiRequests(Collector):
    """Reads the People clients' request counters at scrape time, so nothing is double counted."""

    def __init__(self) -> None:
        self._sources: dict[str, ApiRequestStats] = {}

    def track(self, account: str, stats: ApiRequestStats) -> None:
        self._sources[account] = stats

    def untrack(self, account: str) -> None:
        self._sources.pop(account, None)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "reconciler_api_requests",
            "People API requests, by account, method id and HTTP status code.",
            labels=["account", "method", "code"],
        )
        for account, stats in sorted(self._sources.items()):
            for (method, code), count in sorted(stats().items()):
                family.add_metric([account, method, str(code)], count)
        yield family


class Metrics:
    """Every metric the controller exports, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._labelled: list[tuple[Counter | Gauge | Histogram, tuple[str, ...]]] = []

        def counter(name: str, doc: str, *labels: str) -> Counter:
            metric = Counter(f"reconciler_{name}", doc, labels, registry=r)
            self._labelled.append((metric, labels))
            return metric

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            metric = Gauge(f"reconciler_{name}", doc, labels, registry=r)
            self._labelled.append((metric, labels))
            return metric

        def histogram(name: str, doc: str, label: str, buckets: Sequence[float]) -> Histogram:
            metric = Histogram(f"reconciler_{name}", doc, [label], buckets=buckets, registry=r)
            self._labelled.append((metric, (label,)))
            return metric

        self.reconcile_total = counter(
            "reconcile",
            "Reconcile passes, by account and result (success, error, requeue, skipped).",
            "account",
            "result",
        )
        self.reconcile_errors_total = counter(
            "reconcile_errors", "Reconcile passes that failed.", "account"
        )
        self.reconcile_time_seconds = histogram(
            "reconcile_time_seconds", "Duration of one reconcile pass.", "account", _PASS_BUCKETS
        )
        self.reconcile_keys_total = counter(
            "reconcile_keys",
            "Contacts reconciled, by account and outcome (created, updated, unchanged, ...).",
            "account",
            "outcome",
        )
        self.workqueue_depth = gauge("workqueue_depth", "Keys ready in the work queue.", "name")
        self.workqueue_adds_total = counter(
            "workqueue_adds", "Keys added to the work queue.", "name"
        )
        self.workqueue_retries_total = counter(
            "workqueue_retries", "Keys requeued with backoff after a conflict or failure.", "name"
        )
        self.workqueue_backoff_seconds = histogram(
            "workqueue_backoff_seconds", "Delay given to a requeued key.", "name", _BACKOFF_BUCKETS
        )
        self.conflicts_total = counter(
            "conflicts", "Contacts left in etag conflict after a pass's own retries.", "account"
        )
        self.drift_detected_total = counter(
            "drift_detected",
            "Managed contacts found changed outside the manifests, by account and policy.",
            "account",
            "policy",
        )
        self.polls_total = counter(
            "polls",
            "Incremental polls of the live address book, by result (ok, expired, error).",
            "account",
            "result",
        )
        self.poll_interval_seconds = gauge(
            "poll_interval_seconds",
            "Seconds between two polls of one account: --poll-interval, or longer so that the "
            "replica's polls use at most their share of the project's read budget.",
        )
        self.polls_waiting = gauge(
            "polls_waiting",
            "Accounts whose poll is due but deferred now, while passes wait for a pass slot.",
        )
        self.polls_deferred_total = counter(
            "polls_deferred",
            "Due polls deferred because passes waited for a pass slot (each counted once).",
        )
        self.manifest_errors = gauge(
            "manifest_errors",
            "Errors in the account's manifests as last loaded; non-zero means no writes.",
            "account",
        )
        self.manifest_loads_total = counter(
            "manifest_loads",
            "Manifest loads, by account and result (ok, invalid).",
            "account",
            "result",
        )
        self.suspended = gauge("suspended", "1 while the account is suspended.", "account")
        self.ready = gauge(
            "ready",
            "1 while the account is ready (see /readyz for the reasons when it is not).",
            "account",
        )
        self.deletes_withheld = gauge(
            "deletes_withheld",
            "Contact deletions the last full pass withheld because they exceed the limits.",
            "account",
        )
        self.last_success = gauge(
            "account_last_success_timestamp_seconds",
            "Unix time of the account's last pass that converged everything it looked at.",
            "account",
        )
        self.build_info = gauge(
            "build_info", "Always 1; the labels say which build is running.", "version", "python"
        )
        self.build_info.labels(version=__version__, python=platform.python_version()).set(1)
        self.manifests_revision = gauge(
            "manifests_revision_info",
            "1 for the revision of the manifests in force (git commit, or sha256: digest).",
            "account",
            "revision",
        )
        self.manifests_revision_applied = gauge(
            "manifests_revision_applied_info",
            "1 for the revision of the manifests the account's last successful full pass applied.",
            "account",
            "revision",
        )
        self.manifest_watch_up = gauge(
            "manifest_watch_up",
            "1 while the replica's manifests are watched with inotify; 0 while they are polled "
            "(the OS refused a watch: see the log and /readyz for the limit to raise).",
        )
        self.manifest_watch_failures_total = counter(
            "manifest_watch_failures",
            "Attempts to watch the manifests with inotify that failed or died.",
        )
        self.directory_refreshes_total = counter(
            "directory_refreshes",
            "Askings of the Directory API for a directory entry's users, by result (ok, error).",
            "entry",
            "result",
        )
        self.directory_users = gauge(
            "directory_users",
            "Users the directory entry selects, as its last good refresh found them.",
            "entry",
        )
        self.directory_last_success = gauge(
            "directory_last_success_timestamp_seconds",
            "Unix time of the directory entry's last refresh that worked.",
            "entry",
        )
        self._revisions: dict[tuple[bool, str], str] = {}  # (applied, account) -> revision
        self._api = _ApiRequests()
        r.register(self._api)

    def set_revision(self, account: str, revision: str, *, applied: bool = False) -> None:
        """Export ``revision`` as the one in force for ``account`` (or, ``applied``, the one
        its last successful full pass applied); the previous one goes."""
        gauge = self.manifests_revision_applied if applied else self.manifests_revision
        key = (applied, account)
        before = self._revisions.get(key)
        if before == revision:
            return
        if before is not None:
            gauge.remove(account, before)
        gauge.labels(account=account, revision=revision).set(1)
        self._revisions[key] = revision

    def track_api_requests(self, account: str, stats: ApiRequestStats) -> None:
        """Export ``stats`` (cumulative counts) as ``reconciler_api_requests_total``."""
        self._api.track(account, stats)

    def untrack_api_requests(self, account: str) -> None:
        self._api.untrack(account)

    def forget(self, account: str) -> None:
        """Drop every series of ``account`` (no longer run here), so that a replica whose
        accounts come and go does not export the departed ones for ever."""
        self.untrack_api_requests(account)
        for key in [key for key in self._revisions if key[1] == account]:
            del self._revisions[key]
        for metric, labels in self._labelled:
            where = "account" if "account" in labels else "name" if "name" in labels else None
            if where is None:
                continue
            found = {
                tuple(sample.labels[label] for label in labels)
                for family in metric.collect()
                for sample in family.samples
                if sample.labels.get(where) == account
            }
            for values in found:
                metric.remove(*values)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
