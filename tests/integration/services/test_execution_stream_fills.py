"""A resting order's fills come from the account's order stream: the execution service,
against the simulated exchange served over HTTP through unmodified ccxt `binance`,
books the fill of a limit order that rested and was filled later by another account
from the user data stream's executionReport alone. No myTrades or allOrders request
reaches the venue for it (a read of the account's fills costs 40 request weight a
symbol on Binance, 40 times the order itself)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from tests.integration.services.execution_support import (
    FAST,
    Platform,
    Recorder,
    approved,
    intent,
    platform_on,
    store_account,
)
from tests.integration.venues.sim_rest_support import running_still_venue
from tests.waiting import wait_until
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.events import BalanceUpdate, Fill, OrderAccepted, OrderFilled
from tradewind.domain.model import Liquidity, OrderType, Side, TimeInForce
from tradewind.services.execution import ExecutionService
from tradewind.services.execution.trade_history import FULL_READING_EVERY
from tradewind.store.schema import fills
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.port import OrderRequest
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
QUANTITY = D("0.002")
#: The requests that read an account's fills apart (`fetch_my_fills`).
FILL_READS = (("GET", "/api/v3/myTrades"), ("GET", "/api/v3/allOrders"))
SUBSCRIBE = ("WS", "userDataStream.subscribe.signature")


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with running_still_venue() as served:
        yield served


@pytest.fixture
async def platform(venue: tuple[str, ServerState], tmp_path: Path) -> AsyncIterator[Platform]:
    url, _ = venue
    async with platform_on(CcxtVenues({"sim": url}), tmp_path) as platform:
        yield platform


def fill_reads(state: ServerState) -> int:
    return sum(state.requests[request] for request in FILL_READS)


async def test_a_resting_orders_fill_is_booked_from_the_stream_without_reading_fills(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    url, state = venue
    assert platform.database is not None
    buyer = state.exchange.create_account({"USDT": D("10000")})
    account_id = await store_account(
        platform.database, platform.encryptor, buyer.api_key, buyer.secret
    )
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    subscribed = state.requests[SUBSCRIBE]
    service = await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")
    # The session's order stream is subscribed (the venue answered its subscription).
    await wait_until(lambda: state.requests[SUBSCRIBE] > subscribed)

    # A limit buy one tick above the best bid: it rests, at the top of a still book.
    price = state.exchange.engine.depth("BTC/USDT", 1).bids[0].price + D("0.01")
    buy = intent(account_id, "i-rest", Side.BUY, str(QUANTITY), price=str(price))
    await platform.bus.publish(ORDERS_APPROVED, approved(buy))
    await events.wait_for(lambda r: r.payloads(OrderAccepted), what="OrderAccepted")
    assert not events.payloads(Fill)
    reads_before = fill_reads(state)

    # Another account sells into it.
    seller = state.exchange.create_account({"BTC": D("1")})
    ws = url.replace("http://", "ws://")
    taker = ccxt_session(url, ws, seller.api_key, seller.secret)
    try:
        await taker.place_order(
            OrderRequest(client_order_id="seller-1", symbol="BTC/USDT", side=Side.SELL,
                         order_type=OrderType.LIMIT, quantity=QUANTITY, price=price,
                         time_in_force=TimeInForce.IOC)
        )  # fmt: skip
    finally:
        await taker.close()

    await events.wait_for(lambda r: r.payloads(OrderFilled), what="OrderFilled")
    [fill] = events.payloads(Fill)
    [trade] = state.exchange.engine.account_trades(buyer.account_id)
    assert fill.client_order_id == client_order_id_for(account_id, "bot-1", "i-rest")
    assert (fill.trade_id, fill.price, fill.quantity) == (str(trade.trade_id), price, QUANTITY)
    assert fill.quote_quantity == trade.quote_quantity == price * QUANTITY
    assert (fill.fee, fill.fee_asset) == trade.fee_for(buyer.account_id)
    assert fill.liquidity is Liquidity.MAKER
    # Booked from the stream: the venue was never asked for the account's fills.
    assert fill_reads(state) == reads_before
    calls = "tradewind_execution_venue_calls_total"
    assert not platform.metric(calls, venue="sim", call="fetch_my_fills", outcome="ok")
    # Finished with all its fills, the order is no longer tracked (no read retired it).
    session = service._pool.peek(account_id)  # type: ignore[attr-defined]
    assert session is not None
    await wait_until(lambda: fill.client_order_id not in session.orders)


async def test_a_reconciliation_reads_no_fills_where_every_order_is_settled(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """A market order filled in its placement answer is settled (the venue reported it
    FILLED with its executions): the periodic reconciliation reads no trade history for
    it. Only every `FULL_READING_EVERY` readings does it read every symbol again (the
    safety net for trades no order announced)."""
    _, state = venue
    assert platform.database is not None
    buyer = state.exchange.create_account({"USDT": D("10000")})
    account_id = await store_account(
        platform.database, platform.encryptor, buyer.api_key, buyer.secret
    )
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    service = await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")

    buy = intent(account_id, "i-market", Side.BUY, str(QUANTITY))
    await platform.bus.publish(ORDERS_APPROVED, approved(buy))
    await events.wait_for(lambda r: r.payloads(OrderFilled), what="OrderFilled")
    await events.wait_for(
        lambda r: sum(f.quantity for f in r.payloads(Fill)) == QUANTITY, what="its fills"
    )
    reads_before = fill_reads(state)
    session = service._pool.peek(account_id)  # type: ignore[attr-defined]
    reconciler = service._pool._reconciler  # type: ignore[attr-defined]
    assert session is not None

    assert await reconciler.reconcile(session)
    assert fill_reads(state) == reads_before  # the old sweep read BTC/USDT here
    assert not session.orders  # retired, settled
    for _ in range(FULL_READING_EVERY - 2):
        await reconciler.reconcile(session)
    assert fill_reads(state) == reads_before
    await reconciler.reconcile(session)  # the full reading
    assert fill_reads(state) > reads_before
    assert sum(f.quantity for f in events.payloads(Fill)) == QUANTITY  # nothing new booked


async def test_a_first_reading_the_venue_failed_is_made_again_in_full(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    """After a restart, a session's first reading reads every symbol the account traded
    lately: it alone finds the fills of an order stored finished whose fills were never
    written (the process died between the two). A first reading the venue failed must
    come again in full at the next reconciliation, not count as done: a restart during a
    venue outage otherwise read that symbol only at the 12th reading, an hour later (the
    restart chaos test caught two trades missing)."""
    _, state = venue
    database = platform.database
    assert database is not None
    buyer = state.exchange.create_account({"USDT": D("10000")})
    account_id = await store_account(database, platform.encryptor, buyer.api_key, buyer.secret)
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    service = await platform.start(ExecutionService(FAST))
    await events.wait_for(lambda r: r.payloads(BalanceUpdate), what="the session's balances")
    buy = intent(account_id, "i-first", Side.BUY, str(QUANTITY))
    await platform.bus.publish(ORDERS_APPROVED, approved(buy))
    await events.wait_for(
        lambda r: sum(f.quantity for f in r.payloads(Fill)) == QUANTITY, what="its fills"
    )
    session = service._pool.peek(account_id)  # type: ignore[attr-defined]
    reconciler = service._pool._reconciler  # type: ignore[attr-defined]
    assert session is not None
    assert await reconciler.reconcile(session)
    assert not session.orders  # settled and retired

    async def recorded() -> int:
        async with database.read() as conn:
            query = select(func.count()).select_from(fills)
            return int((await conn.scalar(query.where(fills.c.account_id == account_id))) or 0)

    assert await recorded() > 0
    # As after a crash between the order's last write and its fills': the order stored
    # FILLED, its fills not; and a session that has not read yet (the restart).
    async with database.transaction() as conn:
        await conn.execute(delete(fills).where(fills.c.account_id == account_id))
    session.trade_cursors = None
    state.faults.http_5xx_until_ms = int(time.time() * 1000) + 60_000
    try:
        assert not await reconciler.reconcile(session)  # the venue fails the first reading
    finally:
        state.faults.clear()
    for _ in range(100):  # until one goes through, past any backoff the failure left
        if await reconciler.reconcile(session):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("no reconciliation went through once the venue answered again")
    assert await recorded() > 0  # the lost fills read from the venue and booked again
