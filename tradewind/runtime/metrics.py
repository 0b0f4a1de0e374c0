"""Prometheus metrics, all named `tradewind_*`, in one registry per runtime.

A `RuntimeMetrics` owns its own `CollectorRegistry` (not the process-global default), so
several runtimes can live in one process, as tests do; the health server exposes it at
`/metrics`. Durations are in seconds, as Prometheus expects.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

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
from tradewind.bus.port import BatchHandler

__all__ = ["PROMETHEUS_CONTENT_TYPE", "RuntimeMetrics", "timed_handler"]

#: Handler batch durations, seconds: 100 µs to 10 s.
_HANDLER_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


class RuntimeMetrics:
    """The metrics one runtime (one process's set of services) reports."""

    def __init__(self) -> None:
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

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (`PROMETHEUS_CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def timed_handler(metrics: RuntimeMetrics, group: str, handler: BatchHandler) -> BatchHandler:
    """`handler`, counting the events it is given by type and timing each batch."""
    seconds = metrics.bus_handler_seconds.labels(group)
    failures = metrics.bus_handler_failures.labels(group)

    async def handle(batch: Sequence[Envelope]) -> None:
        started = time.perf_counter()
        try:
            await handler(batch)
        except Exception:  # a cancelled batch (shutdown, kill) is no failure
            failures.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
        counts: dict[str, int] = {}
        for event in batch:
            counts[event.type] = counts.get(event.type, 0) + 1
        for event_type, count in counts.items():
            metrics.bus_events_consumed.labels(group, event_type).inc(count)

    return handle
