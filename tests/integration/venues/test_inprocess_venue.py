"""The in-process venue adapter runs the shared trading scenario, and its watch
streams deliver live updates."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.integration.venues.scenario import check_expected, trading_scenario
from tradewind.domain.model import OrderType, Side
from tradewind.venues.port import OrderRequest, VenueOrderStatus
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.market import SyntheticMarket


def warmed_exchange() -> SimulatedExchange:
    exchange = SimulatedExchange(SyntheticMarket(seed=9))
    exchange.step()
    return exchange


async def test_the_trading_scenario_through_the_in_process_adapter() -> None:
    exchange = warmed_exchange()
    creds = exchange.create_account({"USDT": Decimal("10000")})
    seen = await trading_scenario(InProcessVenue(exchange, creds.account_id), "run1")
    check_expected(seen)


async def test_watch_orders_sees_new_then_filled() -> None:
    exchange = warmed_exchange()
    creds = exchange.create_account({"USDT": Decimal("10000")})
    venue = InProcessVenue(exchange, creds.account_id)
    stream = venue.watch_orders()
    waiter = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    await venue.place_order(
        OrderRequest(
            client_order_id="w-1",
            symbol="ETH/USDT",
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=Decimal("0.1"),
        )
    )
    updates = await asyncio.wait_for(waiter, 5)
    assert updates[0].status is VenueOrderStatus.NEW
    assert updates[-1].status is VenueOrderStatus.FILLED
    assert updates[-1].filled_quantity == Decimal("0.1")
    await stream.aclose()


async def test_a_market_orders_answer_carries_its_fills() -> None:
    exchange = warmed_exchange()
    creds = exchange.create_account({"USDT": Decimal("10000")})
    venue = InProcessVenue(exchange, creds.account_id)
    request = OrderRequest(
        client_order_id="full-1",
        symbol="ETH/USDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.1"),
    )
    answer = await venue.place_order(request)
    assert answer.status is VenueOrderStatus.FILLED and answer.fills
    assert answer.fills == tuple(await venue.fetch_my_fills("ETH/USDT"))
    assert sum(f.quantity for f in answer.fills) == Decimal("0.1")
    assert {f.client_order_id for f in answer.fills} == {"full-1"}


async def test_a_resting_orders_answer_carries_no_fills() -> None:
    exchange = warmed_exchange()
    creds = exchange.create_account({"USDT": Decimal("10000")})
    venue = InProcessVenue(exchange, creds.account_id)
    book = await venue.fetch_order_book("ETH/USDT", 1)
    far_bid = (book.bids[0][0] / 2).quantize(Decimal("0.01"))
    answer = await venue.place_order(
        OrderRequest(
            client_order_id="rest-1",
            symbol="ETH/USDT",
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            quantity=Decimal("0.1"),
            price=far_bid,
        )
    )
    assert answer.status is VenueOrderStatus.NEW and answer.fills == ()


async def test_watch_trades_and_book_follow_the_living_market() -> None:
    exchange = warmed_exchange()
    venue = InProcessVenue(exchange, "nobody")
    trades = venue.watch_trades("BTC/USDT")
    books = venue.watch_order_book("BTC/USDT")
    next_trades = asyncio.ensure_future(anext(trades))
    next_book = asyncio.ensure_future(anext(books))
    await asyncio.sleep(0)
    for _ in range(50):
        exchange.step()
        await asyncio.sleep(0.01)
        if next_trades.done() and next_book.done():
            break
    got_trades = await asyncio.wait_for(next_trades, 5)
    book = await asyncio.wait_for(next_book, 5)
    assert got_trades and all(t.symbol == "BTC/USDT" for t in got_trades)
    assert book.bids[0][0] < book.asks[0][0]
    await trades.aclose()
    await books.aclose()
