"""Prometheus metrics, all named `tradewind_*`, in one registry per runtime.

A `RuntimeMetrics` owns its own `CollectorRegistry` (not the process-global default), so
several runtimes can live in one process, as tests do; the health server exposes it at
`/metrics`. Durations are in seconds, as Prometheus expects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from tradewind import __version__
from tradewind.bus.envelope import Envelope
from tradewind.bus.port import BatchHandler, Bus

if TYPE_CHECKING:  # OpenTelemetry is imported only by a process that traces
    from tradewind.runtime.tracing import Tracing

__all__ = ["PROMETHEUS_CONTENT_TYPE", "RuntimeMetrics", "timed_handler"]

_log = logging.getLogger(__name__)

#: How long one scrape waits for a member's lag (a broker round trip), seconds.
_LAG_TIMEOUT_S = 2.0

#: Handler batch durations, seconds: 100 µs to 10 s.
_HANDLER_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


class RuntimeMetrics:
    """The metrics one runtime (one process's set of services) reports."""

    def __init__(self) -> None:
        #: Set by the runtime when `TRADEWIND_OTEL_ENDPOINT` is: spans of handled events.
        self.tracing: Tracing | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        Info("tradewind_build", "The running Tradewind version.", registry=self.registry).info(
            {"version": __version__}
        )
        self.bus_events_consumed = Counter(
            "tradewind_bus_events_consumed_total",
            "Events handed to a consumer group's handler, by event type.",
            ("group", "type"),
            registry=self.registry,
        )
        self.bus_handler_seconds = Histogram(
            "tradewind_bus_handler_seconds",
            "Time a consumer group's handler took per batch, in seconds.",
            ("group",),
            buckets=_HANDLER_BUCKETS,
            registry=self.registry,
        )
        self.bus_handler_failures = Counter(
            "tradewind_bus_handler_failures_total",
            "Batches whose handler raised (the bus retries them, then dead-letters).",
            ("group",),
            registry=self.registry,
        )
        self.bus_dead_letters = Counter(
            "tradewind_bus_dead_letters_total",
            "Events a consumer group gave up on, by the topic they came from.",
            ("topic", "group"),
            registry=self.registry,
        )
        self.service_up = Gauge(
            "tradewind_service_up",
            "1 while the service is started, 0 once stopped.",
            ("service",),
            registry=self.registry,
        )
        self.ready = Gauge(
            "tradewind_ready",
            "1 while the service is ready (as /readyz reports), else 0; set per scrape.",
            ("service",),
            registry=self.registry,
        )
        self.bus_consumer_lag = Gauge(
            "tradewind_bus_consumer_lag",
            "Events published but not yet handled by this process's members of a group, on "
            "the partitions they read; sampled per scrape.",
            ("group", "topic"),
            registry=self.registry,
        )
        self.bus_event_age = Gauge(
            "tradewind_bus_event_age_seconds",
            "Age of the newest event of a group's last handled batch when it was handled "
            "(handled minus created), in seconds.",
            ("group", "topic"),
            registry=self.registry,
        )
        self.bus_partitions_owned = Gauge(
            "tradewind_bus_partitions_owned",
            "Partitions this process's members of a group read now (a take-over shows as "
            "a survivor's count rising); sampled per scrape.",
            ("group",),
            registry=self.registry,
        )
        self.tls_certificate_expiry = Gauge(
            "tradewind_tls_certificate_expiry_timestamp_seconds",
            "When the certificate this process serves with expires, Unix time in seconds.",
            ("file",),
            registry=self.registry,
        )
        self._bus: Bus | None = None

    def watch_bus(self, bus: Bus) -> None:
        """Report the lag and event age of `bus`'s subscriptions (see `sample_bus`)."""
        self._bus = bus

    def watch_certificate(self, cert_file: str | None) -> None:
        """Export the expiry of the PEM certificate `cert_file` (nothing if None)."""
        if not cert_file:
            return
        from cryptography import x509  # only processes serving TLS need it

        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        expiry = cert.not_valid_after_utc.timestamp()
        self.tls_certificate_expiry.labels(cert_file).set(expiry)

    async def sample_bus(self) -> None:
        """Set `tradewind_bus_consumer_lag`, `..._event_age_seconds` and
        `..._partitions_owned` from the watched bus's subscriptions: called per scrape, so
        the hot path pays nothing. Members of one group in this process add up their lag
        and their partitions; the oldest age wins. A member whose lag cannot be had in
        time (broker unreachable) is left out of this sample."""
        if self._bus is None:
            return
        lags: dict[tuple[str, str], int] = {}
        ages: dict[tuple[str, str], float] = {}
        owned: dict[str, set[int]] = {}
        for sub in self._bus.subscriptions():
            group = sub.group
            owned.setdefault(group, set()).update(sub.partitions())
            try:
                async with asyncio.timeout(_LAG_TIMEOUT_S):
                    member_lag = await sub.lag()
            except Exception as exc:  # the scrape must answer even with the broker gone
                _log.warning("consumer lag of group %r unknown: %r", group, exc)
                member_lag = {}
            for topic, lag in member_lag.items():
                lags[group, topic] = lags.get((group, topic), 0) + lag
            for topic, age in sub.event_age_s().items():
                ages[group, topic] = max(age, ages.get((group, topic), age))
        # No await from here on: a concurrent scrape never sees the gauges half set.
        self.bus_consumer_lag.clear()
        for (group, topic), lag in lags.items():
            self.bus_consumer_lag.labels(group, topic).set(lag)
        self.bus_event_age.clear()
        for (group, topic), age in ages.items():
            self.bus_event_age.labels(group, topic).set(age)
        self.bus_partitions_owned.clear()
        for group, numbers in owned.items():
            self.bus_partitions_owned.labels(group).set(len(numbers))

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (`PROMETHEUS_CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def timed_handler(metrics: RuntimeMetrics, group: str, handler: BatchHandler) -> BatchHandler:
    """`handler`, counting the events it is given by type and timing each batch (and, with
    `metrics.tracing`, recording a span per event handled)."""
    seconds = metrics.bus_handler_seconds.labels(group)
    failures = metrics.bus_handler_failures.labels(group)

    async def handle(batch: Sequence[Envelope]) -> None:
        started = time.perf_counter()
        tracing = metrics.tracing
        began_ns = time.time_ns() if tracing is not None else 0
        try:
            await handler(batch)
        except Exception:  # a cancelled batch (shutdown, kill) is no failure
            failures.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
        if tracing is not None:
            tracing.handled(group, batch, began_ns, time.time_ns())
        counts: dict[str, int] = {}
        for event in batch:
            counts[event.type] = counts.get(event.type, 0) + 1
        for event_type, count in counts.items():
            metrics.bus_events_consumed.labels(group, event_type).inc(count)

    return handle
