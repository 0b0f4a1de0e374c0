"""Quote amounts as the simulated Binance reports them on a pair whose grid is finer than
10**-8 of the quote (ETH/BTC, tick 10**-8 x step 10**-5): `quoteQty`,
`cummulativeQuoteQty` and the executionReport's `Z` / `Y` are sums of the engine's fills,
each price * quantity rounded down to 10**-8, so they have Binance's 8 decimals and add
up to what the balances moved."""

from __future__ import annotations

import json
from decimal import Decimal

from tradewind.domain.model import Side
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.matching import MatchingEngine, OrderSnapshot, SubmitResult, Trade
from tradewind.venues.simulated.order_updates import Happenings, OrderUpdate
from tradewind.venues.simulated.server import stream_payloads as payloads
from tradewind.venues.simulated.server.formatting import (
    account_trade,
    order_full,
    order_query,
    public_trade,
)

D = Decimal
T0 = 1_700_000_000_000_000_000
ETH_BTC, WIRE = "ETH/BTC", "ETHBTC"


def fine_engine() -> MatchingEngine:
    """ETH/BTC as the venue lists it near 0.09 BTC; bob holds BTC, alice ETH, no fees."""
    engine = MatchingEngine(maker_fee=D(0), taker_fee=D(0))
    spec = spec_for("sim", ETH_BTC, D("0.09"))
    assert (spec.filters.tick_size, spec.filters.step_size) == (D("1E-8"), D("0.00001"))
    engine.add_instrument(spec)
    engine.deposit("bob", "BTC", D("1"))
    engine.deposit("alice", "ETH", D("1"))
    return engine


def updates_of(engine: MatchingEngine, result: SubmitResult) -> list[OrderUpdate]:
    def maker_of(trade: Trade) -> OrderSnapshot:
        return engine.get_order(trade.maker_account_id, ETH_BTC, order_id=trade.maker_order_id)

    told = Happenings(lambda account_id: True)
    told.add_result(result, T0 // 1_000_000, maker_of)
    return told.updates


def report(update: OrderUpdate) -> dict[str, object]:
    decoded = json.loads(payloads.encode(payloads.execution_report(WIRE, update, 1)))
    assert isinstance(decoded, dict)
    return decoded


def test_fills_report_quote_amounts_rounded_down_to_eight_decimals() -> None:
    engine = fine_engine()
    # 0.03 x 0.09123457 = 0.0027370371 BTC; each 0.01 fills 0.0009123457 BTC.
    buy = engine.submit_limit("bob", ETH_BTC, Side.BUY, D("0.03"), D("0.09123457"), ts_ns=T0)
    engine.submit_market("alice", ETH_BTC, Side.SELL, quantity=D("0.01"), ts_ns=T0)
    second = engine.submit_market("alice", ETH_BTC, Side.SELL, quantity=D("0.01"), ts_ns=T0)

    [trade] = second.trades
    assert public_trade(trade)["quoteQty"] == "0.00091234"
    assert account_trade(trade, "bob", WIRE, {})["quoteQty"] == "0.00091234"
    taker_new, taker_fill, maker_fill = updates_of(engine, second)
    assert (report(taker_fill)["Z"], report(taker_fill)["Y"]) == ("0.00091234", "0.00091234")
    assert (report(maker_fill)["Z"], report(maker_fill)["Y"]) == ("0.00182468", "0.00091234")
    assert report(taker_new)["Z"] == "0.00000000"

    resting = engine.get_order("bob", ETH_BTC, order_id=buy.order.order_id)
    assert order_query(resting, WIRE)["cummulativeQuoteQty"] == "0.00182468"
    assert order_full(second, WIRE, 0)["cummulativeQuoteQty"] == "0.00091234"
    # What bob's fills paid is exactly what its balance lost.
    bob = engine.balance("bob", "BTC")
    assert bob.free + bob.locked == D("1") - D("0.00182468")
