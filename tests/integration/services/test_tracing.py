"""One order's path, traced: with tracing on, every service that handles an event records
a span in the event's trace (the id of the market event the decision started from), and
the spans reach an OTLP/HTTP collector as OpenTelemetry sends them."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.services.test_risk_service import LIMITS, funds, intent
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.runtime.tracing import start_tracing
from tradewind.services.risk import RiskService


async def decide_one_intent(metrics: RuntimeMetrics) -> Envelope:
    """An intent through a real risk service on the in-process bus; the intent sent."""
    bus = MemoryBus(partitions=2)
    await bus.start()
    approved: list[Envelope] = []
    decided = asyncio.Event()

    async def take(batch: list[Envelope]) -> None:
        approved.extend(batch)
        decided.set()

    await bus.subscribe([topics.ORDERS_APPROVED], "test", take)  # type: ignore[arg-type]
    risk = RiskService(LIMITS)
    log = get_logger("tradewind.services.risk", service="risk")
    await risk.start(ServiceContext(Settings(), bus, log, metrics, Resources()))
    await bus.publish(topics.ORDERS_EVENTS, funds())
    seen = {"group": "risk", "type": "account.balance"}
    name = "tradewind_bus_events_consumed_total"
    async with asyncio.timeout(10):  # the balances first, so that the intent is approved
        while not metrics.registry.get_sample_value(name, seen):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    sent = intent("i-1")
    await bus.publish(topics.ORDERS_INTENT, sent)
    await asyncio.wait_for(decided.wait(), 10)
    assert approved[0].trace_id == sent.trace_id  # the decision keeps the trace
    await risk.stop()
    await bus.close()
    return sent


async def test_each_handled_event_is_a_span_in_its_trace() -> None:
    exporter = InMemorySpanExporter()
    metrics = RuntimeMetrics()
    metrics.tracing = start_tracing("risk", None, exporter)
    sent = await decide_one_intent(metrics)
    assert metrics.tracing is not None
    metrics.tracing.close()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    handled = spans["risk order.intent"]
    assert handled.context is not None
    assert f"{handled.context.trace_id:032x}" == sent.trace_id
    assert handled.attributes is not None
    assert handled.attributes["tradewind.event_id"] == sent.event_id
    assert handled.resource.attributes["service.name"] == "tradewind-risk"


async def test_without_an_endpoint_nothing_is_traced() -> None:
    assert start_tracing("risk", None) is None
    assert start_tracing("risk", "") is None


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector: keeps each export request's trace ids."""

    received: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                Collector.received.extend(span.trace_id.hex() for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    server.shutdown()


async def test_spans_reach_an_otlp_collector(collector: str) -> None:
    metrics = RuntimeMetrics()
    metrics.tracing = start_tracing("risk", collector)
    sent = await decide_one_intent(metrics)
    assert metrics.tracing is not None
    await asyncio.to_thread(metrics.tracing.close)  # sends what is buffered
    assert sent.trace_id in Collector.received


def test_a_trace_id_that_is_not_128_bits_of_hex_is_not_traced() -> None:
    exporter = InMemorySpanExporter()
    tracing = start_tracing("risk", None, exporter)
    assert tracing is not None
    odd = envelope(intent("i-9").payload, "a1", trace_id="not-hex")
    tracing.handled("risk", [odd], 1, 2)
    tracing.close()
    assert exporter.get_finished_spans() == ()
