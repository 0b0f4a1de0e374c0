"""The execution service against the simulated exchange served over HTTP, through
unmodified ccxt, with the exchange's fault switches: an order executed but answered with
a 500 is found by its client order id and not sent again; a venue failing with 5xx for a
while is retried with backoff behind a circuit breaker that opens, half-opens and
closes; a 429 with Retry-After holds every request until it has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.services.execution_support import (
    FAST,
    Platform,
    Recorder,
    approved,
    intent,
    platform_on,
    store_account,
)
from tests.integration.venues.sim_rest_support import running_venue
from tests.waiting import wait_until
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.events import (
    BalanceUpdate,
    Fill,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
)
from tradewind.domain.model import OrderType, Side
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.runtime.service import Service
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution import ExecutionService
from tradewind.store.database import Database
from tradewind.store.tracked_orders import order_record
from tradewind.store.trades import get_order, upsert_orders
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.matching import OrderSnapshot
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
CALLS = "tradewind_execution_venue_calls_total"


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as served:
        yield served


@pytest.fixture
async def platform(venue: tuple[str, ServerState], tmp_path: Path) -> AsyncIterator[Platform]:
    url, state = venue
    async with platform_on(CcxtVenues({"sim": url}), tmp_path) as platform:
        yield platform
        state.faults.clear()


async def trading(platform: Platform, state: ServerState) -> tuple[str, str, Recorder]:
    """A funded stored account with its session open: (account id, venue account id,
    recorder of orders.events)."""
    creds = state.exchange.create_account({"USDT": D("10000")})
    assert platform.database is not None
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret
    )
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")
    return account_id, creds.account_id, events


def orders_with(state: ServerState, venue_account: str, cid: str) -> list[OrderSnapshot]:
    return [o for o in state.exchange.engine.all_orders(venue_account) if o.client_order_id == cid]


def calls(platform: Platform, call: str, outcome: str) -> float:
    return platform.metric(CALLS, venue="sim", call=call, outcome=outcome)


async def test_an_order_executed_but_answered_500_is_found_by_its_id_not_sent_again(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    state.faults.fail_after_accept = 1
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )

    await events.wait_for(lambda r: r.payloads(OrderFilled), what="OrderFilled")
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    assert len(orders_with(state, venue_account, cid)) == 1
    assert calls(platform, "place_order", "unavailable") == 1
    assert calls(platform, "place_order", "ok") == 0  # found (lookup or stream), not resent


async def test_a_venue_failing_for_a_while_is_retried_behind_its_circuit_breaker(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    state.faults.http_5xx_until_ms = int(time.time() * 1000) + 1500
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )

    await events.wait_for(lambda r: r.payloads(OrderFilled), timeout_s=20, what="OrderFilled")
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    assert len(orders_with(state, venue_account, cid)) == 1
    transitions = "tradewind_execution_breaker_transitions_total"
    for entered in ("open", "half_open", "closed"):
        assert platform.metric(transitions, venue="sim", state=entered) >= 1, entered
    assert platform.metric("tradewind_execution_breaker_state", venue="sim") == 0
    assert platform.metric("tradewind_execution_retries_total", venue="sim") >= 3
    assert calls(platform, "place_order", "unavailable") == 1
    assert calls(platform, "place_order", "ok") == 1  # the lookup found nothing: sent again
    [service] = platform.started
    assert isinstance(service, ExecutionService)
    assert [(b.venue, b.state) for b in service.breakers()] == [("sim", "closed")]


async def test_a_429_holds_every_request_until_its_retry_after_has_passed(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    state.faults.rate_limit_until_ms = int(time.time() * 1000) + 1000
    refused_at_ms = time.time() * 1000
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )

    await events.wait_for(lambda r: r.payloads(OrderFilled), timeout_s=10, what="OrderFilled")
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    [order] = orders_with(state, venue_account, cid)
    assert order.created_ns / 1e6 >= refused_at_ms + 1000 - 50  # Retry-After: 1 (s)
    rate_limited = [
        sample
        for metric in platform.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == CALLS and sample.labels["outcome"] == "rate_limited"
    ]
    assert [s.labels["call"] for s in rate_limited] == ["place_order"]
    assert rate_limited[0].value == 1  # nothing else went into the back-off
    assert platform.metric("tradewind_execution_throttled_seconds_total", venue="sim") > 0.5


async def an_order_given_up(
    state: ServerState, platform: Platform
) -> tuple[ApiCredentials, str, Recorder, Service]:
    """An account whose order of 0.001 BTC (intent "i-1") met a venue that hung past the
    order's deadline: its outcome unknown, looked up until the venue answered, and
    rejected by execution as never placed. Returns the venue's credentials, the account
    id, the recorder of its order events and the running service."""
    creds = state.exchange.create_account({"USDT": D("10000")})
    assert platform.database is not None
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret
    )
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    impatient = FAST.model_copy(
        update={"execution_order_deadline_s": 1.0, "execution_call_timeout_s": 0.3}
    )
    service = await platform.start(ExecutionService(impatient))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")
    state.faults.hang_s = 1.0
    state.faults.timeout_until_ms = int(time.time() * 1000) + 2500
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )
    await events.wait_for(
        lambda r: r.payloads(OrderRejected), timeout_s=20, what="the order given up"
    )
    return creds, account_id, events, service


async def test_an_order_whose_outcome_stayed_unknown_is_settled_once_the_venue_answers(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    # The venue hangs past the order's deadline: the placement gives up with the outcome
    # unknown. It used to stay UNKNOWN until the next periodic reconciliation (minutes);
    # now it is looked up until the venue answers, and rejected as never placed.
    _, state = venue
    creds, account_id, events, _ = await an_order_given_up(state, platform)
    [rejected] = events.payloads(OrderRejected)
    assert "not placed" in rejected.reason and rejected.source == "execution"
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    assert orders_with(state, creds.account_id, cid) == []


async def test_an_order_given_up_that_the_venue_executed_after_all_is_booked_on_reconciling(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """An order of unknown outcome, rejected as never placed, that the venue executes
    after all (a request delayed in its network) is not settled: the next reconciliation
    still reads its symbol's trade history and books the trade on it."""
    _, state = venue
    creds, account_id, events, service = await an_order_given_up(state, platform)
    state.faults.clear()
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    session = service._pool.peek(account_id)  # type: ignore[attr-defined]
    reconciler = service._pool._reconciler  # type: ignore[attr-defined]
    assert session is not None
    await reconciler.reconcile(session)
    assert cid not in session.orders  # retired, REJECTED by execution: not settled
    state.exchange.submit_order(  # the delayed request reaches the venue after all
        creds.account_id, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=D("0.001"),
        client_order_id=cid,
    )  # fmt: skip
    reads = calls(platform, "fetch_my_fills", "ok")

    await reconciler.reconcile(session)
    assert calls(platform, "fetch_my_fills", "ok") > reads
    await events.wait_for(
        lambda r: any(f.client_order_id == cid for f in r.payloads(Fill)), what="its trade"
    )
    [trade] = state.exchange.engine.account_trades(creds.account_id)
    [fill] = events.payloads(Fill)
    assert (fill.trade_id, fill.quantity) == (str(trade.trade_id), D("0.001"))
    recovered = "tradewind_execution_trades_recovered_total"
    assert platform.metric(recovered, venue="sim") == 1


HUNG = ExecutionSettings(
    **{
        **FAST.model_dump(),
        "execution_call_timeout_s": 1.0,
        "execution_order_deadline_s": 30.0,
        # No breaker here: its NotSent would make B's first call race the fault's end.
        "execution_breaker_failures": 1000,
    }
)


async def test_a_hung_venue_call_holds_up_only_its_own_account(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """The venue hangs; account A's order is caught in its retry loop. B's order, in the
    next batch, still goes out while A's is unsettled (it used to wait behind A's whole
    loop, and the breaker, starved of calls, never opened). Once the venue answers
    again, both end placed once."""
    _, state = venue
    assert platform.database is not None
    accounts = []
    for _ in range(2):
        creds = state.exchange.create_account({"USDT": D("10000")})
        stored = await store_account(
            platform.database, platform.encryptor, creds.api_key, creds.secret
        )
        accounts.append((stored, creds.account_id))
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    await platform.start(ExecutionService(HUNG))
    await events.wait_for(
        lambda r: len({b.account_id for b in r.payloads(BalanceUpdate)}) == 2,
        what="both sessions' balances",
    )
    state.faults.hang_s = 3.0
    state.faults.timeout_until_ms = int(time.time() * 1000) + 3_600_000  # until cleared
    (a, venue_a), (b, venue_b) = accounts
    await platform.bus.publish(ORDERS_APPROVED, approved(intent(a, "i-a", quantity="0.001")))
    await wait_until(lambda: calls(platform, "place_order", "unavailable") == 1)
    await platform.bus.publish(ORDERS_APPROVED, approved(intent(b, "i-b", quantity="0.001")))

    # B's call goes out, and fails the same way, while A's order is still unsettled.
    await wait_until(lambda: calls(platform, "place_order", "unavailable") == 2)
    assert not events.payloads(OrderAccepted) and not events.payloads(OrderRejected)
    state.faults.clear()
    await events.wait_for(
        lambda r: len(r.payloads(OrderFilled)) == 2, timeout_s=30, what="both orders filled"
    )
    for account, venue_account, intent_id in ((a, venue_a, "i-a"), (b, venue_b, "i-b")):
        cid = client_order_id_for(account, "bot-1", intent_id)
        assert len(orders_with(state, venue_account, cid)) == 1


async def test_orders_stored_but_not_sent_when_the_process_stopped_are_sent_after_a_restart(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """The batch is acknowledged once its orders are stored (SENT), before they are
    sent: a process that stops in between leaves SENT rows. On the next start those
    still within their deadline are looked up and, unknown to the venue, sent once;
    older ones are rejected as not placed, never sent late."""
    _, state = venue
    assert platform.database is not None
    creds = state.exchange.create_account({"USDT": D("10000")})
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret
    )
    now = time.time_ns()
    young = TrackedOrder.from_intent(intent(account_id, "young", quantity="0.001"), ts_ns=now)
    stale = TrackedOrder.from_intent(
        intent(account_id, "stale", quantity="0.001"), ts_ns=now - 60 * 1_000_000_000
    )
    async with platform.database.transaction() as conn:  # as write-ahead leaves them
        records = [order_record(o, updated_ns=now, state=OrderState.SENT) for o in (young, stale)]
        await upsert_orders(conn, records)
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    await platform.start(ExecutionService(FAST))

    await events.wait_for(lambda r: r.payloads(OrderFilled), what="the young order filled")
    await events.wait_for(lambda r: r.payloads(OrderRejected), what="the stale one rejected")
    assert len(orders_with(state, creds.account_id, young.client_order_id)) == 1
    assert orders_with(state, creds.account_id, stale.client_order_id) == []
    [rejected] = events.payloads(OrderRejected)
    assert rejected.client_order_id == stale.client_order_id
    assert "not placed" in rejected.reason


class FirstReadFails:
    """The database, but its first read fails as a dropped connection does."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.failed = False

    def read(self) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the database closed the connection")
        return self._database.read()


async def test_a_failed_round_of_following_the_partitions_is_tried_again(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """Opening the sessions of the partitions gained failed once (the accounts could not
    be read): the following used to end there, silently, and no session of those
    partitions opened until the process restarted. The next round opens them."""
    _, state = venue
    assert platform.database is not None
    creds = state.exchange.create_account({"USDT": D("10000")})
    account_id = await store_account(
        platform.database, platform.encryptor, creds.api_key, creds.secret
    )
    lazy = FAST.model_copy(update={"execution_sessions_at_start": False})
    service = await platform.start(ExecutionService(lazy))
    assert isinstance(service, ExecutionService) and service._pool is not None
    pool = service._pool
    flaky = FirstReadFails(platform.database)
    everything = frozenset(range(platform.bus.partitions))
    following = asyncio.create_task(
        pool.follow(lambda: everything, platform.bus.partition_of, flaky, open_stored=True)  # type: ignore[arg-type]
    )
    try:
        await wait_until(lambda: pool.peek(account_id) is not None, timeout_s=15)
        assert flaky.failed
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)


async def test_a_stop_waits_for_the_call_under_way_but_sends_nothing_after_leaving(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """SIGTERM while a slow venue works on an order: the stop waits for the call under
    way (its answer: a 504, nothing executed), but sends nothing once the service left
    its group: a twin may own the account by then and have restored the order, so a
    resend from here could place it twice. The order stays stored, unplaced, and the
    account's next owner (here the restarted service) looks it up and places it once."""
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    state.faults.hang_s = 1.0  # one slow answer (504), then the venue is well again
    state.faults.timeout_until_ms = int(time.time() * 1000) + 500
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    assert platform.database is not None
    database = platform.database

    async def stored_state() -> str | None:
        async with database.read() as conn:
            record = await get_order(conn, cid)
        return None if record is None else record.state

    async with asyncio.timeout(10):  # until the order is stored; its placement under way
        while await stored_state() != "SENT":  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.01)
    [service] = platform.started
    await platform.stop(service)

    assert calls(platform, "place_order", "unavailable") == 1  # the call under way ended
    assert orders_with(state, venue_account, cid) == []
    assert await stored_state() in ("NEW", "SENT", "UNKNOWN")
    assert (
        platform.metric("tradewind_execution_orders_total", venue="sim", outcome="handed_over") == 1
    )

    await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(OrderFilled), what="placed after the restart")
    assert await stored_state() == "FILLED"
    assert len(orders_with(state, venue_account, cid)) == 1


async def test_an_order_whose_account_moved_while_it_waited_is_looked_up_not_sent_again(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """The double send the chaos suite caught: an execution instance paused with orders
    queued; its twin took the account over, restored them and placed them; the first
    resumed and placed them again. Here the account stops being this instance's before
    its order goes out, a twin (played by the test) places it, and the account comes
    back: the order is looked up first, found, and never sent a second time."""
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    [service] = platform.started
    assert isinstance(service, ExecutionService)
    ours = {"now": False}
    everything = frozenset(range(platform.bus.partitions))

    def owned() -> frozenset[int]:
        return everything if ours["now"] else frozenset()

    assert service._pool is not None
    service._pool.fence(owned, platform.bus.partition_of)
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-1", quantity="0.001"))
    )
    cid = client_order_id_for(account_id, "bot-1", "i-1")
    assert platform.database is not None
    database = platform.database

    async def stored() -> bool:
        async with database.read() as conn:
            return await get_order(conn, cid) is not None

    async with asyncio.timeout(10):
        while not await stored():  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.01)
    assert orders_with(state, venue_account, cid) == []  # held back: not ours now
    state.exchange.submit_order(  # the twin that has the account places it
        venue_account, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=D("0.001"),
        client_order_id=cid,
    )  # fmt: skip
    ours["now"] = True

    await events.wait_for(lambda r: r.payloads(OrderFilled), what="the twin's fill tracked")
    assert len(orders_with(state, venue_account, cid)) == 1
    assert calls(platform, "place_order", "ok") == 0


async def test_a_market_orders_fills_come_with_its_placement_not_read_apart(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """The placement's answer (FULL) carries the order's executions: they are booked from
    it, moving the quote the venue moved, and no fill is read apart (a read costs 40
    times a placement's request weight on Binance)."""
    _, state = venue
    account_id, venue_account, events = await trading(platform, state)
    read_before = calls(platform, "fetch_my_fills", "ok")
    await platform.bus.publish(
        ORDERS_APPROVED, approved(intent(account_id, "i-full", quantity="0.003"))
    )
    await events.wait_for(lambda r: r.payloads(OrderFilled), what="OrderFilled")
    await events.wait_for(
        lambda r: sum(f.quantity for f in r.payloads(Fill)) == D("0.003"), what="its fills"
    )
    booked = {f.trade_id: f for f in events.payloads(Fill)}
    traded = {str(t.trade_id): t for t in state.exchange.engine.account_trades(venue_account)}
    assert set(booked) == set(traded)
    for trade_id, fill in booked.items():
        assert (fill.price, fill.quantity) == (traded[trade_id].price, traded[trade_id].quantity)
        assert fill.quote_quantity == traded[trade_id].quote_quantity
    assert calls(platform, "fetch_my_fills", "ok") == read_before
