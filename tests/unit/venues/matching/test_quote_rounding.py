"""Quote amounts on a pair whose grid is finer than 10**-8 of the quote (ETH/BTC at tick
10**-8 and step 10**-5): each fill moves price * quantity rounded down to 10**-8, a
resting buy holds its price * quantity rounded up, and what the hold keeps beyond its
fills goes back to free when the order leaves the book."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import Side
from tradewind.venues.simulated.matching import MatchingEngine, MatchingOrderStatus, StopType

from .factories import ETH_BTC, T0, D, fine_eth_btc, make_engine


def engine_without_fees() -> MatchingEngine:
    """The fine ETH/BTC book; "bob" holds 1 BTC, "alice" and "carol" 1 ETH each."""
    engine = make_engine(fine_eth_btc(), maker_fee="0", taker_fee="0")
    engine.deposit("bob", "BTC", D("1"))
    engine.deposit("alice", "ETH", D("1"))
    engine.deposit("carol", "ETH", D("1"))
    return engine


def btc(engine: MatchingEngine, account: str) -> tuple[Decimal, Decimal]:
    balance = engine.balance(account, "BTC")
    return balance.free, balance.locked


def sell(engine: MatchingEngine, account: str, quantity: str, price: str) -> None:
    engine.submit_limit(account, ETH_BTC, Side.SELL, D(quantity), D(price), ts_ns=T0)


def test_a_resting_buy_holds_rounded_up_pays_each_fill_rounded_down_and_gets_the_rest() -> None:
    engine = engine_without_fees()
    # 0.03 x 0.09123457 = 0.0027370371 BTC
    buy = engine.submit_limit("bob", ETH_BTC, Side.BUY, D("0.03"), D("0.09123457"), ts_ns=T0)
    assert btc(engine, "bob") == (D("0.99726296"), D("0.00273704"))

    fills = []
    for _ in range(3):
        # 0.01 x 0.09123457 = 0.0009123457 BTC each
        result = engine.submit_market("alice", ETH_BTC, Side.SELL, quantity=D("0.01"), ts_ns=T0)
        [fill] = result.trades
        fills.append(fill.quote_quantity)
        if len(fills) == 1:
            assert btc(engine, "bob") == (D("0.99726296"), D("0.00182470"))

    assert fills == [D("0.00091234")] * 3
    # Filled: 0.00000002 of the hold was never paid out, and is free again.
    assert btc(engine, "bob") == (D("0.99726298"), D("0"))
    assert btc(engine, "alice") == (D("0.00273702"), D("0"))
    order = engine.get_order("bob", ETH_BTC, order_id=buy.order.order_id)
    assert order.status is MatchingOrderStatus.FILLED
    assert order.cumulative_quote_quantity == D("0.00273702")


def test_a_cancelled_buy_releases_what_its_fills_did_not_pay() -> None:
    engine = engine_without_fees()
    buy = engine.submit_limit("bob", ETH_BTC, Side.BUY, D("0.03"), D("0.09123457"), ts_ns=T0)
    engine.submit_market("alice", ETH_BTC, Side.SELL, quantity=D("0.01"), ts_ns=T0)

    canceled = engine.cancel_order("bob", ETH_BTC, order_id=buy.order.order_id, ts_ns=T0)

    assert canceled.cumulative_quote_quantity == D("0.00091234")
    assert btc(engine, "bob") == (D("1") - D("0.00091234"), D("0"))


def test_a_taker_buy_across_two_levels_pays_each_fill_rounded_down() -> None:
    engine = engine_without_fees()
    sell(engine, "carol", "0.01", "0.09123457")  # 0.0009123457 BTC
    sell(engine, "carol", "0.03", "0.09123459")  # 0.0027370377 BTC

    result = engine.submit_limit("bob", ETH_BTC, Side.BUY, D("0.04"), D("0.09123459"), ts_ns=T0)

    assert [t.quote_quantity for t in result.trades] == [D("0.00091234"), D("0.00273703")]
    # The sum of the rounded fills, one 10**-8 below the rounded exact 0.0036493834.
    assert result.order.cumulative_quote_quantity == D("0.00364937")
    assert result.order.status is MatchingOrderStatus.FILLED
    assert btc(engine, "bob") == (D("0.99635063"), D("0"))
    assert btc(engine, "carol") == (D("0.00364937"), D("0"))
    assert engine.balance("bob", "ETH").free == D("0.04")


def test_a_market_buy_by_quote_amount_spends_no_more_than_the_amount() -> None:
    engine = engine_without_fees()
    sell(engine, "carol", "0.01", "0.09123457")
    sell(engine, "carol", "0.03", "0.09123459")

    result = engine.submit_market("bob", ETH_BTC, Side.BUY, quote_quantity=D("0.002"), ts_ns=T0)

    # 0.01 at 0.09123457, then the 1192 lots the rest of 0.002 affords at 0.09123459
    # (0.0010875163128 BTC exactly).
    assert [(t.quantity, t.quote_quantity) for t in result.trades] == [
        (D("0.01"), D("0.00091234")),
        (D("0.01192"), D("0.00108751")),
    ]
    order = result.order
    assert (order.status, order.quantity) == (MatchingOrderStatus.FILLED, D("0.02192"))
    assert order.cumulative_quote_quantity == D("0.00199985")
    assert btc(engine, "bob") == (D("1") - D("0.00199985"), D("0"))
    assert btc(engine, "carol") == (D("0.00199985"), D("0"))


def test_a_quote_fee_is_charged_on_the_rounded_quote_amount() -> None:
    engine = make_engine(fine_eth_btc(), maker_fee="0.00075", taker_fee="0.00075")
    engine.deposit("bob", "BTC", D("1"))
    engine.deposit("carol", "ETH", D("1"))
    sell(engine, "carol", "0.01", "0.01333399")  # 0.0001333399 BTC

    [trade] = engine.submit_market("bob", ETH_BTC, Side.BUY, quantity=D("0.01"), ts_ns=T0).trades

    assert trade.quote_quantity == D("0.00013333")
    # 0.00013333 x 0.00075 = 0.0000000999975; on the exact amount it would be 0.0000001.
    assert trade.maker_fee == D("0.00000009")
    assert btc(engine, "carol") == (D("0.00013324"), D("0"))
    assert btc(engine, "bob") == (D("1") - D("0.00013333"), D("0"))
    assert engine.fees_collected() == {"BTC": D("0.00000009"), "ETH": D("0.00000750")}


def test_a_waiting_stop_buy_holds_its_quote_rounded_up_and_a_cancel_frees_it() -> None:
    engine = engine_without_fees()
    stop = engine.submit_stop(
        "bob", ETH_BTC, Side.BUY, StopType.STOP_LOSS, D("0.03"), D("0.09123457"),
        price=D("0.09123457"), ts_ns=T0,
    )  # fmt: skip
    assert btc(engine, "bob") == (D("0.99726296"), D("0.00273704"))

    engine.cancel_order("bob", ETH_BTC, order_id=stop.order.order_id, ts_ns=T0)

    assert btc(engine, "bob") == (D("1"), D("0"))
