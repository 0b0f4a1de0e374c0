"""The gateway's Prometheus metrics, on the runtime's registry (served at `/metrics`).

- `tradewind_gateway_requests_total{method,route,status}`: requests by route template
  (`/api/v1/bots/{bot_id}`, never the id itself, so the label set stays small).
- `tradewind_gateway_request_seconds{method,route}`: their duration, seconds.
- `tradewind_gateway_websocket_clients`: open stream sessions.
- `tradewind_gateway_websocket_dropped_total`: sessions dropped for reading too slowly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.gateway.hub import StreamHub

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry, hub: StreamHub) -> None:
        self.requests = Counter(
            "tradewind_gateway_requests_total",
            "API requests by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.seconds = Histogram(
            "tradewind_gateway_request_seconds",
            "API request duration by method and route template, seconds.",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=registry,
        )
        registry.register(_StreamCollector(hub))


class _StreamCollector(Collector):
    """Reads the hub's own counts when scraped (nothing to update on the hot path)."""

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "tradewind_gateway_websocket_clients",
            "Open stream sessions.",
            value=self._hub.connections,
        )
        yield CounterMetricFamily(
            "tradewind_gateway_websocket_dropped",
            "Stream sessions dropped for reading too slowly.",
            value=self._hub.dropped_slow,
        )


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request by its route template;
    `prefix` is where the routers are mounted (FastAPI's `scope["route"]` is the route
    as its router declared it, without the prefix)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics, prefix: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None)
            template = self.prefix + path if path else "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.seconds.labels(method, template).observe(time.perf_counter() - started)
