"""One trading scenario, run through any `Venue` adapter. It returns what it saw in a
form that does not depend on the moving market (statuses, quantities, assets), so the
ccxt adapter over HTTP and the in-process adapter can be shown to agree. It trades
`SYMBOL` (BTC/USDT, a Binance-style venue's) unless given another (BTC/USD on a
Coinbase-style venue), funded in that symbol's quote asset."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.errors import UnknownOrder
from tradewind.venues.port import OrderRequest, Venue, VenueOrderStatus

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
