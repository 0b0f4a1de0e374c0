"""The venue gate's verdicts for the breaker: what says the venue is unwell opens it, and a
request that never left (its pooled connection was already closing) does not (issue #20,
item 5: the breaker opened in runs without any venue fault)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import structlog
from prometheus_client import CollectorRegistry

from tradewind.errors import VenueError, VenueUnavailable, VenueUnreached
from tradewind.services.execution.gate import PLACE_ORDER, NotSent, VenueGate
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.settings import ExecutionSettings

FAILURES = 3


def a_gate() -> tuple[VenueGate, CollectorRegistry]:
    registry = CollectorRegistry()
    settings = ExecutionSettings(execution_breaker_failures=FAILURES)
    log = structlog.get_logger("test")
    return VenueGate("sim", settings, ExecutionMetrics(registry), log, limited=False), registry


async def fail_with(gate: VenueGate, error: Callable[[], Exception], times: int) -> None:
    async def request() -> None:
        raise error()

    for _ in range(times):
        await gate.admit(PLACE_ORDER, max_wait_s=0)
        with pytest.raises(VenueError):
            await gate.run(PLACE_ORDER, request)


async def test_requests_that_never_left_do_not_open_the_breaker() -> None:
    gate, registry = a_gate()
    await fail_with(gate, lambda: VenueUnreached("sim", "never written"), FAILURES * 5)
    assert gate.breaker.state.value == "closed"
    await gate.admit(PLACE_ORDER, max_wait_s=0)  # still admitted
    calls = registry.get_sample_value(
        "tradewind_execution_venue_calls_total",
        {"venue": "sim", "call": "place_order", "outcome": "unreached"},
    )
    assert calls == FAILURES * 5


async def test_requests_that_never_left_do_not_hide_real_failures() -> None:
    """Neither a failure nor a success: unwritten requests between real failures do not
    reset the count that opens the breaker."""
    gate, _ = a_gate()
    for _ in range(FAILURES):
        await fail_with(gate, lambda: VenueUnreached("sim", "never written"), 1)
        await fail_with(gate, lambda: VenueUnavailable("sim", "503"), 1)
    assert gate.breaker.state.value == "open"
    with pytest.raises(NotSent, match="circuit breaker open"):
        await gate.admit(PLACE_ORDER, max_wait_s=0)
