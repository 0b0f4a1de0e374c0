"""The venue gate's verdicts for the breaker: what says the venue is unwell opens it, and a
request that never left (its pooled connection was already closing) does not (issue #20,
item 5: the breaker opened in runs without any venue fault)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import structlog
from prometheus_client import CollectorRegistry

from tradewind.domain.rate_limits import RateWindow, WeightLimiter
from tradewind.errors import RateLimited, VenueError, VenueUnavailable, VenueUnreached
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.gate import (
    BACKGROUND_KEEP,
    FETCH_BALANCES,
    FETCH_ORDER,
    PLACE_ORDER,
    NotSent,
    VenueGate,
    VenueGates,
)
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.venues.binance.limits import rules as binance_rules
from tradewind.venues.profile import Call, RateRules

FAILURES = 3


def a_gate() -> tuple[VenueGate, CollectorRegistry]:
    registry = CollectorRegistry()
    settings = ExecutionSettings(execution_breaker_failures=FAILURES)
    log = structlog.get_logger("test")
    return VenueGate("sim", settings, ExecutionMetrics(registry), log, rules=None), registry


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


def a_paced_gate() -> VenueGate:
    log = structlog.get_logger("test")
    metrics = ExecutionMetrics(CollectorRegistry())
    return VenueGate("bn", ExecutionSettings(), metrics, log, rules=binance_rules())


async def refused(gate: VenueGate, error: RateLimited, orders: WeightLimiter | None) -> None:
    async def request() -> None:
        raise error

    await gate.admit(PLACE_ORDER, orders, max_wait_s=0)
    with pytest.raises(RateLimited):
        await gate.run(PLACE_ORDER, request, orders)


async def test_an_accounts_order_count_refusal_holds_that_account_only() -> None:
    gate = a_paced_gate()
    busy, other = gate.account_limiter(), gate.account_limiter()
    assert busy is not None and other is not None
    await refused(gate, RateLimited("bn", "too many new orders", 30, per_account=True), busy)
    with pytest.raises(NotSent, match="rate limits hold place_order"):
        await gate.admit(PLACE_ORDER, busy, max_wait_s=1)
    await gate.admit(PLACE_ORDER, other, max_wait_s=0)  # the others' orders still go
    await gate.admit(FETCH_BALANCES, max_wait_s=0)


async def test_an_addresses_refusal_holds_every_account() -> None:
    gate = a_paced_gate()
    busy, other = gate.account_limiter(), gate.account_limiter()
    await refused(gate, RateLimited("bn", "too much weight", 30), busy)
    for limiter in (busy, other):
        with pytest.raises(NotSent, match="rate limits hold"):
            await gate.admit(PLACE_ORDER, limiter, max_wait_s=1)
    with pytest.raises(NotSent):
        await gate.admit(FETCH_BALANCES, max_wait_s=1)


async def test_each_call_costs_the_venues_weight() -> None:
    gate = a_paced_gate()  # Binance: 6,000 a minute per address; a lookup costs 4
    for _ in range(1500):
        await gate.admit(FETCH_ORDER, max_wait_s=0)
    with pytest.raises(NotSent, match="fetch_order"):
        await gate.admit(FETCH_ORDER, max_wait_s=0)


async def test_each_source_address_has_its_own_budget_and_the_venue_one_breaker() -> None:
    gates = VenueGates(
        ExecutionSettings(execution_breaker_failures=FAILURES),
        ExecutionMetrics(CollectorRegistry()),
        structlog.get_logger("test"),
        rules=lambda venue: binance_rules(),
        local=frozenset(),
    )
    first, second = gates.gate("bn", "127.0.0.2"), gates.gate("bn", "127.0.0.3")
    assert gates.gate("bn", "127.0.0.2") is first
    for _ in range(1500):  # 1,500 lookups x 4 = the address's 6,000 a minute
        await first.admit(FETCH_ORDER, max_wait_s=0)
    with pytest.raises(NotSent, match="rate limits hold"):
        await first.admit(FETCH_ORDER, max_wait_s=0)
    await second.admit(FETCH_ORDER, max_wait_s=0)  # the other address's budget is whole
    # The venue's health is one: failures through either address open its one breaker.
    assert first.breaker is second.breaker
    await fail_with(second, lambda: VenueUnavailable("bn", "503"), FAILURES)
    with pytest.raises(NotSent, match="circuit breaker open"):
        await gates.gate("bn", "127.0.0.4").admit(FETCH_ORDER, max_wait_s=0)
    assert [s.venue for s in gates.statuses()] == ["bn"]
    assert gates.statuses()[0].state == "open"


async def test_reconciliation_reads_leave_a_quarter_of_the_weight_to_orders() -> None:
    gate = a_paced_gate()  # Binance: 6,000 a minute per address; balances cost 20
    read = 0
    while True:
        try:
            await gate.admit(FETCH_BALANCES, max_wait_s=0)
        except NotSent:
            break
        read += 1
    assert read * 20 <= 6000 * (1 - BACKGROUND_KEEP) < (read + 1) * 20
    orders = gate.account_limiter()
    for n in range(90):  # what was kept goes to orders (and their lookups)
        await gate.admit(PLACE_ORDER, orders, max_wait_s=0)
        if n % 3 == 0:
            await gate.admit(FETCH_ORDER, max_wait_s=0)


async def test_a_busy_account_does_not_starve_another_at_a_full_address() -> None:
    """Each account sends its orders one after the other (its placement worker waits for
    each call's answer), and a refused call sleeps until the window it waits for opens:
    the accounts waiting share the next window, so one with many orders queued cannot
    hold the address while another waits."""
    rules = RateRules((RateWindow("W 2s", 3, 2),), (RateWindow("O 10s", 100, 10),))
    log = structlog.get_logger("test")
    gate = VenueGate("v", ExecutionSettings(), ExecutionMetrics(CollectorRegistry()), log,
                     rules=rules)  # fmt: skip
    placed: list[str] = []

    async def worker(account: str, orders: int) -> None:
        limiter = gate.account_limiter()
        for _ in range(orders):
            await gate.admit(PLACE_ORDER, limiter, max_wait_s=30)
            placed.append(account)
            await asyncio.sleep(0.01)  # the venue's answer

    busy = asyncio.create_task(worker("busy", 6))
    await asyncio.sleep(0.005)  # the busy account is first in line, mid-call
    await asyncio.gather(busy, worker("other", 2))
    assert placed.count("other") == 2
    # Three calls per window: the other account's two orders are in the first two
    # windows, not after the busy account's six.
    assert max(i for i, who in enumerate(placed) if who == "other") < 6, placed


async def test_opening_an_order_stream_is_paced_and_counted_as_the_venue_counts_it() -> None:
    gate = a_paced_gate()  # Binance: connecting to the WebSocket API and subscribing: 4
    for _ in range(1500):  # 1,500 streams x 4 = the address's 6,000 a minute
        await gate.pace(Call.WATCH_ORDERS)
    with pytest.raises(NotSent, match="rate limits hold"):
        await gate.admit(FETCH_ORDER, max_wait_s=0)


async def test_the_usage_a_venue_reports_is_paced_by_at_the_address_and_the_account() -> None:
    """What another client spent behind the same address (or an execution instance before
    a restart, within the window), as the venue's answers report it, holds the next
    requests back: the address's weight, and the account's order count."""
    registry = CollectorRegistry()
    gate = VenueGate(
        "sim", ExecutionSettings(), ExecutionMetrics(registry), structlog.get_logger("test"),
        rules=binance_rules(),
    )  # fmt: skip
    orders = gate.account_limiter()
    assert orders is not None
    await gate.admit(FETCH_BALANCES, max_wait_s=0)  # nothing spent yet: goes at once
    await wait_past_window_start(60)
    gate.observe_usage({"X-MBX-USED-WEIGHT-1M": "5995"}, orders)
    with pytest.raises(NotSent, match="rate limits hold fetch_balances"):
        await gate.admit(FETCH_BALANCES, max_wait_s=0)  # 20 more would pass 6,000
    await wait_past_window_start(10)
    gate.observe_usage({"x-mbx-order-count-10s": "100"}, orders)
    with pytest.raises(NotSent, match="rate limits hold place_order"):
        await gate.admit(PLACE_ORDER, orders, max_wait_s=0)  # the account's 100 are used


async def wait_past_window_start(interval_s: int) -> None:
    """Out of the first second of an `interval_s` window, where a report is not taken for
    the new window's (`WeightLimiter.observe_used`), and not in the last one either."""
    into = time.time() % interval_s
    if not 1.0 < into < interval_s - 1.5:
        await asyncio.sleep((1.2 - into) % interval_s)
