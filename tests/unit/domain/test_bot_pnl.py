"""A bot's results from its own fills: realised PnL at average cost, fees valued in the
quote (base fees at the fill's price, others apart), a sell of more than the bot bought
realising nothing on the excess, figures per quote asset; the PnL its series records
(realised + unrealised at the last prices - fees, a fill delivered twice counted once)
and its drawdown (a fall from the PnL's peak over the account's equity then), its one-minute
returns and their VaR."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.bot_pnl import (
    BotBook,
    BotFill,
    Holding,
    MinuteReturns,
    bot_drawdown,
    bot_results,
)
from tradewind.domain.model import Side
from tradewind.domain.performance import value_at_risk

D = Decimal


def fill(side: str, price: str, quantity: str, fee: str = "0", fee_asset: str = "USDT",
         symbol: str = "BTC/USDT") -> BotFill:  # fmt: skip
    return BotFill(0, symbol, Side(side.upper()), D(price), D(quantity), D(fee), fee_asset)


def test_realised_pnl_is_at_average_cost_and_fees_are_valued_in_the_quote() -> None:
    results = bot_results(
        [
            fill("buy", "100", "1", fee="0.001", fee_asset="BTC"),  # 0.999 BTC for 100
            fill("buy", "200", "1"),  # 1.999 BTC for 300
            fill("sell", "300", "0.999", fee="0.3"),  # cost 0.999 x 300/1.999
            fill("sell", "50", "0.5", fee="0.1", fee_asset="BNB"),
        ]
    )
    usdt = results.by_quote["USDT"]
    first = D(300) * D("0.999") - D(300) * D("0.999") / D("1.999")  # 149.779...
    assert abs(usdt.realized[0] - first) < D("1e-20")
    assert usdt.realized[1] < 0  # sold at 50 what cost ~150 each
    assert usdt.fees == D("0.1") + D("0.3")  # 0.001 BTC at 100, and 0.3 USDT
    assert results.unvalued_fees == {"BNB": D("0.1")}
    assert (usdt.bought, usdt.sold, usdt.volume) == (D(300), D("324.7"), D("624.7"))
    assert usdt.holdings["BTC/USDT"].quantity == D("0.5")
    assert usdt.trades.trades == 2 and usdt.trades.win_rate == 0.5


def test_selling_more_than_the_bot_bought_realises_nothing_on_the_excess() -> None:
    results = bot_results([fill("buy", "10", "1"), fill("sell", "12", "3")])
    usdt = results.by_quote["USDT"]
    assert usdt.realized == [D(2)]  # the one it bought; the other two were never its own
    assert usdt.holdings["BTC/USDT"] == Holding(D(0), None)


def test_two_quote_assets_are_two_sets_of_figures() -> None:
    results = bot_results([fill("buy", "0.05", "1", symbol="ETH/BTC"), fill("buy", "100", "1")])
    assert sorted(results.by_quote) == ["BTC", "USDT"]
    assert results.fills == 2


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 1000), st.integers(1, 100)), max_size=30))
def test_what_it_holds_is_what_it_bought_less_what_it_sold_of_it(
    trades: list[tuple[bool, int, int]],
) -> None:
    fills, held = [], D(0)
    for buy, price, quantity in trades:
        fills.append(fill("buy" if buy else "sell", str(price), str(quantity)))
        held = held + quantity if buy else max(D(0), held - quantity)
    results = bot_results(fills)
    if fills:
        assert results.by_quote["USDT"].holdings["BTC/USDT"].quantity == held


# -- the PnL a bot's series records, and its drawdown -----------------------------------


def traded(trade_id: str, side: str, price: str, quantity: str, fee: str = "0",
         fee_asset: str = "USDT", symbol: str = "BTC/USDT") -> BotFill:  # fmt: skip
    return BotFill(0, symbol, Side(side.upper()), D(price), D(quantity), D(fee), fee_asset,
                   trade_id)  # fmt: skip


def test_pnl_is_realised_plus_unrealised_at_the_last_price_minus_fees() -> None:
    book = BotBook()
    book.apply(traded("1", "buy", "100", "2", fee="0.2"))  # 2 BTC for 200
    book.apply(traded("2", "buy", "130", "1", fee="0.13"))  # 3 BTC for 330: 110 each
    book.apply(traded("3", "sell", "120", "1.5", fee="0.18"))  # realises 1.5 x (120 - 110)
    book.apply(traded("4", "buy", "10", "5", symbol="ETH/USDT"))  # 5 ETH for 50
    prices = {"BTC/USDT": D(90), "ETH/USDT": D(12)}
    pnl = book.pnl("USDT", prices.get)
    assert pnl is not None
    assert pnl.realized == D(15)
    # 1.5 BTC left at 110 each, now 90: -30; 5 ETH at 10, now 12: +10.
    assert pnl.unrealized == D(-20)
    assert pnl.fees == D("0.51")
    assert pnl.total == D(15) - D(20) - D("0.51") == D("-5.51")
    assert book.pnl("BTC", prices.get) is None  # no fill in that quote


def test_a_holding_without_a_price_is_valued_at_its_cost() -> None:
    book = BotBook()
    book.apply(traded("1", "buy", "100", "1", fee="1"))
    pnl = book.pnl("USDT", {}.get)
    assert pnl is not None and (pnl.unrealized, pnl.total) == (D(0), D(-1))


def test_a_fill_delivered_twice_is_counted_once() -> None:
    book = BotBook()
    assert book.apply(traded("7", "buy", "100", "1", fee="0.1"))
    assert not book.apply(traded("7", "buy", "100", "1", fee="0.1"))  # redelivered
    assert book.apply(traded("7", "buy", "100", "1", symbol="ETH/USDT"))  # another market's 7
    assert book.fills == 2
    pnl = book.pnl("USDT", {"BTC/USDT": D(110), "ETH/USDT": D(100)}.get)
    assert pnl is not None and pnl.total == D(10) - D("0.1")
    # The figures of the API (`bot_results`) are the same book's.
    usdt = bot_results([traded("7", "buy", "100", "1", fee="0.1")] * 2).by_quote["USDT"]
    assert (usdt.bought, usdt.fees) == (D(100), D("0.1"))


def test_a_book_says_which_fills_it_holds_by_symbol_and_trade_id() -> None:
    book = BotBook()
    book.apply(BotFill(0, "BTC/USDT", Side.BUY, D(100), D(1), D(0), "USDT", trade_id="7"))
    book.apply(BotFill(0, "BTC/USDT", Side.BUY, D(100), D(1), D(0), "USDT"))  # no trade id
    assert book.has("BTC/USDT", "7") and not book.has("ETH/USDT", "7")
    assert not book.has("BTC/USDT", "")  # a fill without a trade id is taken each time


def test_drawdown_is_the_fall_from_the_peak_over_the_account_equity_at_the_peak() -> None:
    points = [
        (D(0), D(10_000)),
        (D(100), D(10_100)),  # the peak, on an account of 10,100
        (D(-202), D(9_798)),  # 302 below it: -2.99 %
        (D(50), D(10_050)),  # 50 below: -0.50 %
    ]
    drawdown = bot_drawdown(points)
    assert drawdown.max == pytest.approx(-302 / 10_100)
    assert drawdown.current == pytest.approx(-50 / 10_100)
    new_peak = bot_drawdown([*points, (D(150), D(10_150)), (D(150), D(20_000))])
    assert (new_peak.current, new_peak.max) == (0.0, pytest.approx(-302 / 10_100))
    unknown = bot_drawdown([(D(100), None), (D(0), D(1000))])  # peak's equity not known
    assert (unknown.current, unknown.max) == (0.0, 0.0)


MINUTE_NS = 60 * 1_000_000_000


def test_a_minutes_return_is_the_pnl_change_over_the_equity_at_its_start() -> None:
    returns = MinuteReturns(keep_minutes=60)
    returns.add(0, D(0), D(10_000))
    returns.add(MINUTE_NS + 5, D(-20), D(9_980))  # -0.2 %
    returns.add(4 * MINUTE_NS, D(10), D(10_010))  # two quiet minutes, then +30 on 9,980
    returns.add(4 * MINUTE_NS + 1, D(-1_000), D(9_000))  # the same minute again: ignored
    assert returns.periods == 4
    assert returns.var_95() == value_at_risk([-0.002, 0.0, 0.0, float(D(30) / D(9_980))], 0.05)


def test_a_return_from_an_unknown_equity_is_left_out_and_old_ones_leave_the_window() -> None:
    returns = MinuteReturns(keep_minutes=2)
    returns.add(0, D(0), None)
    returns.add(MINUTE_NS, D(-50), D(1_000))  # from an unknown equity: no return
    assert (returns.periods, returns.var_95()) == (0, None)
    returns.add(2 * MINUTE_NS, D(-100), D(950))  # -5 %
    returns.add(3 * MINUTE_NS, D(-100), D(950))  # 0
    returns.add(4 * MINUTE_NS, D(-81), D(969))  # +2 %; the -5 % is two minutes old: out
    assert (returns.periods, returns.var_95()) == (2, value_at_risk([0.0, 0.02], 0.05))


@given(
    st.integers(min_value=1, max_value=30),
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=40),  # minutes after the last point
            st.integers(min_value=-10_000, max_value=10_000),  # PnL
            st.one_of(st.none(), st.integers(min_value=-5, max_value=100_000)),  # equity
        ),
        max_size=60,
    ),
)
def test_the_var_is_that_of_every_minutes_return_in_the_window(
    keep: int, points: list[tuple[int, int, int | None]]
) -> None:
    returns = MinuteReturns(keep_minutes=keep)
    every: list[tuple[int, float]] = []  # (minute, return), quiet minutes spelt out
    minute, last = 0, None
    for gap, pnl, equity in points:
        minute += gap
        returns.add(minute * MINUTE_NS, D(pnl), None if equity is None else D(equity))
        if last is not None:
            every += [(m, 0.0) for m in range(minute - gap + 1, minute)]
            if last[1] is not None and last[1] > 0:
                every.append((minute, float(D(pnl - last[0]) / D(last[1]))))
        last = (pnl, equity)
    kept = [r for m, r in every if m > minute - keep]
    assert returns.periods == len(kept)
    assert returns.var_95() == value_at_risk(kept, 0.05)
