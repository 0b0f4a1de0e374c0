"""One order's path across the services, exported through OpenTelemetry when
`TRADEWIND_OTEL_ENDPOINT` is set (OTLP over HTTP, e.g. `http://collector:4318/v1/traces`).

Every envelope carries a trace id: that of the market event a decision started from (a
tick or a bar), kept by the strategy's intent, risk's decision, execution's order events
and fills, and the portfolio update a fill causes. When tracing is on, every consumer
group records one span per event it handles, in that event's trace, named
`<group> <event type>`, timed as the batch that held it, with the event id, key and type
as attributes; a viewer (Jaeger, Tempo) then shows the path of one order: which services
handled it, when, and how long each batch took. Envelope ids are 32 hex digits, valid W3C
trace ids as they are. The spans of a trace share one parent span id derived from the
trace id, so that they hang together under one root.

Off (the default) it costs a `None` check per batch; on, a span per event handled, sent
in batches by the SDK's background exporter, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    set_span_in_context,
)

from tradewind.bus.envelope import Envelope

_SPAN_ID_MASK = (1 << 64) - 1


class Tracing:
    """Records one OpenTelemetry span per event a consumer group handles, in the event's
    trace, so one order's path across the services can be followed."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer: Tracer = provider.get_tracer("tradewind")

    def handled(
        self, group: str, batch: Sequence[Envelope], started_ns: int, ended_ns: int
    ) -> None:
        """Spans for `batch`, handled by `group` between the two times (ns, epoch)."""
        tracer = self._tracer
        for env in batch:
            trace_id = _trace_id(env.trace_id)
            if trace_id is None:
                continue
            parent = SpanContext(
                trace_id=trace_id,
                span_id=(trace_id & _SPAN_ID_MASK) or 1,
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            span = tracer.start_span(
                f"{group} {env.type}",
                context=set_span_in_context(NonRecordingSpan(parent)),
                kind=SpanKind.CONSUMER,
                start_time=started_ns,
                attributes={
                    "tradewind.event_id": env.event_id,
                    "tradewind.event_type": env.type,
                    "tradewind.key": env.key,
                    "tradewind.group": group,
                },
            )
            span.end(end_time=ended_ns)

    def close(self) -> None:
        """Send what is buffered, then stop the exporter."""
        self._provider.shutdown()


def start_tracing(
    service: str, endpoint: str | None, exporter: SpanExporter | None = None
) -> Tracing | None:
    """Tracing for a process running `service` (names joined by `+` when several), to
    the OTLP/HTTP `endpoint` (or `exporter`, for tests); None when neither is given."""
    if exporter is None:
        if not endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    provider = TracerProvider(resource=Resource.create({"service.name": f"tradewind-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


def _trace_id(text: str) -> int | None:
    """The envelope's trace id as a 128-bit number; None if it is not 32 hex digits."""
    if len(text) != 32:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value or None
