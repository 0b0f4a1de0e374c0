"""One trading scenario, run through any `Venue` adapter. It returns what it saw in a
form that does not depend on the moving market (statuses, quantities, assets), so the
ccxt adapter over HTTP and the in-process adapter can be shown to agree. It trades
`SYMBOL` (BTC/USDT, a Binance-style venue's) unless given another (BTC/USD on a
Coinbase-style venue), funded in that symbol's quote asset."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from typing import Any

import pytest

from tests.waiting import wait_until
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.errors import UnknownOrder
from tradewind.venues.port import OrderRequest, Venue, VenueOrder, VenueOrderStatus

SYMBOL = "BTC/USDT"
QUANTITY = Decimal("0.001")


async def trading_scenario(venue: Venue, run_id: str, symbol: str = SYMBOL) -> dict[str, Any]:
    """Needs an account funded with 10,000 of `symbol`'s quote asset and nothing else."""
    seen: dict[str, Any] = {}
    markets = await venue.load_markets()
    market = markets[symbol]
    quote = market.quote
    seen["market"] = (market.base, market.quote, market.tick_size, market.step_size)

    book = await venue.fetch_order_book(symbol, 5)
    assert book.bids and book.asks
    assert book.bids[0][0] < book.asks[0][0], "the book is crossed"
    far_bid = (book.bids[0][0] * Decimal("0.9") / market.tick_size).to_integral_value(
        ROUND_FLOOR
    ) * market.tick_size

    resting = await venue.place_order(
        OrderRequest(
            client_order_id=f"{run_id}-limit",
            symbol=symbol,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            quantity=QUANTITY,
            price=far_bid,
            time_in_force=TimeInForce.GTC,
        )
    )
    seen["limit"] = (resting.status, resting.quantity, resting.filled_quantity, resting.price)
    assert resting.price == far_bid
    open_orders = await venue.fetch_open_orders(symbol)
    seen["open"] = sorted(o.client_order_id.removeprefix(run_id) for o in open_orders)
    balances = (await venue.fetch_balances()).assets
    assert balances[quote].locked == far_bid * QUANTITY

    taken = await venue.place_order(
        OrderRequest(
            client_order_id=f"{run_id}-market",
            symbol=symbol,
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=QUANTITY,
        )
    )
    seen["market_order"] = (taken.status, taken.filled_quantity)
    assert taken.average_price is not None and taken.average_price >= book.asks[0][0] * Decimal(
        "0.99"
    )

    fills = await venue.fetch_my_fills(symbol)
    mine = [f for f in fills if f.client_order_id == f"{run_id}-market"]
    seen["fills"] = (
        sum((f.quantity for f in mine), Decimal(0)),
        {f.fee_asset for f in mine},
        {f.liquidity for f in mine},
        {f.side for f in mine},
    )

    # What the placement's answer carries of them (Binance's FULL answer: all of them,
    # the same trades; an answer with ids only, as Coinbase's: none).
    seen["placement_fills"] = (
        sum((f.quantity for f in taken.fills), Decimal(0)),
        {f.trade_id for f in taken.fills} <= {f.trade_id for f in mine},
    )

    canceled = await venue.cancel_order(symbol, f"{run_id}-limit")
    seen["canceled"] = canceled.status
    assert not await venue.fetch_open_orders(symbol)
    looked_up = await venue.fetch_order(symbol, f"{run_id}-limit")
    seen["looked_up"] = (looked_up.status, looked_up.filled_quantity)
    with pytest.raises(UnknownOrder):
        await venue.fetch_order(symbol, f"{run_id}-never-sent")

    reading = await venue.fetch_balances()
    balances = reading.assets
    seen["btc"] = balances["BTC"].free + balances["BTC"].locked
    seen["quote_locked"] = balances[quote].locked
    # The reading says up to when it holds the account's trades (Binance's updateTime):
    # at least up to the last one, so that books can tell it holds them.
    seen["as_of_holds_the_trades"] = reading.as_of_ms is not None and reading.as_of_ms >= max(
        f.ts_ms for f in mine
    )
    return seen


EXPECTED = {
    "limit": (VenueOrderStatus.NEW, QUANTITY, Decimal(0)),
    "open": ["-limit"],
    "market_order": (VenueOrderStatus.FILLED, QUANTITY),
    "canceled": VenueOrderStatus.CANCELED,
    "looked_up": (VenueOrderStatus.CANCELED, Decimal(0)),
    "btc": QUANTITY * (1 - Decimal("0.001")),
    "quote_locked": Decimal(0),
    "as_of_holds_the_trades": True,
}


def check_expected(seen: dict[str, Any]) -> None:
    assert seen["limit"][:3] == EXPECTED["limit"]
    for key in ("open", "market_order", "canceled", "looked_up", "btc", "quote_locked"):
        assert seen[key] == EXPECTED[key], key
    assert seen["fills"][0] == QUANTITY
    assert seen["fills"][1] == {"BTC"}


async def resting_fill_scenario(
    maker: Venue, taker: Venue, run_id: str, symbol: str = SYMBOL
) -> dict[str, Any]:
    """A limit buy rests at the top of the book on `maker`'s account (10,000 of the quote
    asset) and is filled later by `taker`'s account (holding the base asset) selling into
    it. What `maker`'s order stream reported of it: each update's status and the fills
    it carried, checked against the account's fills read apart (`fetch_my_fills`), the
    same trades to the digit. The market must stand still (nothing else takes the bid)."""
    updates: list[VenueOrder] = []
    stream = maker.watch_orders()
    reader = asyncio.ensure_future(_collect(stream, updates))
    try:
        market = (await maker.load_markets())[symbol]
        book = await maker.fetch_order_book(symbol, 1)
        price = book.bids[0][0] + market.tick_size
        assert price < book.asks[0][0], "no room inside the spread"
        tick = market.tick_size
        far_bid = (book.bids[0][0] * Decimal("0.9") / tick).to_integral_value(ROUND_FLOOR) * tick
        cid = f"{run_id}-resting"
        await _live(maker, updates, symbol, f"{run_id}-probe", far_bid)
        await maker.place_order(
            OrderRequest(client_order_id=cid, symbol=symbol, side=Side.BUY,
                         order_type=OrderType.LIMIT, quantity=QUANTITY, price=price)
        )  # fmt: skip
        await wait_until(lambda: any(u.client_order_id == cid for u in updates))
        await taker.place_order(
            OrderRequest(client_order_id=f"{run_id}-taker", symbol=symbol, side=Side.SELL,
                         order_type=OrderType.LIMIT, quantity=QUANTITY, price=price,
                         time_in_force=TimeInForce.IOC)
        )  # fmt: skip
        await wait_until(
            lambda: any(
                u.client_order_id == cid and u.status is VenueOrderStatus.FILLED for u in updates
            )
        )
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await stream.aclose()
    mine = [u for u in updates if u.client_order_id == cid]
    streamed = [fill for update in mine for fill in update.fills]
    read_apart = [f for f in await maker.fetch_my_fills(symbol) if f.client_order_id == cid]
    assert streamed == read_apart, "the stream's fills are the account's fills, exactly"
    [fill] = streamed
    assert (fill.price, fill.quantity) == (price, QUANTITY)
    assert fill.quote_quantity == price * QUANTITY  # 5 decimals: nothing to round
    return {
        "statuses": [(u.status, u.filled_quantity, len(u.fills)) for u in mine],
        "fill": (fill.side, fill.quantity, fill.liquidity, fill.fee_asset),
        "venue_order_id": bool(fill.venue_order_id),
    }


def _reports(updates: list[VenueOrder], client_order_id: str) -> bool:
    return any(u.client_order_id == client_order_id for u in updates)


async def _collect(stream: AsyncIterator[list[VenueOrder]], into: list[VenueOrder]) -> None:
    async for updates in stream:
        into.extend(updates)


async def _live(
    venue: Venue, updates: list[VenueOrder], symbol: str, probe: str, price: Decimal
) -> None:
    """Wait until the order stream is live: the stream's subscription is ready at a moment
    no client is told of, so a far-away order is placed and canceled until the stream
    reports one back."""
    for attempt in range(50):
        cid = f"{probe}-{attempt}"
        await venue.place_order(
            OrderRequest(client_order_id=cid, symbol=symbol, side=Side.BUY,
                         order_type=OrderType.LIMIT, quantity=QUANTITY, price=price)
        )  # fmt: skip
        await venue.cancel_order(symbol, cid)
        reported = partial(_reports, updates, cid)
        try:
            await wait_until(reported, 0.2)
        except AssertionError:
            continue
        return
    raise AssertionError("the order stream never reported the account's orders")
