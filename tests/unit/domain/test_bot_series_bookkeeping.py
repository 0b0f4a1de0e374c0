"""A bot's PnL as its series records it (`BotBook`, `bot_drawdown`): realised at average
cost + unrealised at the last prices - fees, in the quote asset; a fill delivered twice
counted once; the drawdown a fall from the PnL's peak over the account's equity then."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.bot_pnl import BotBook, BotFill, bot_drawdown, bot_results
from tradewind.domain.model import Side
from tradewind.domain.risk_limits import RiskLimits, bot_breach, bot_limit

D = Decimal


def fill(trade_id: str, side: str, price: str, quantity: str, fee: str = "0",
         fee_asset: str = "USDT", symbol: str = "BTC/USDT") -> BotFill:  # fmt: skip
    return BotFill(0, symbol, Side(side.upper()), D(price), D(quantity), D(fee), fee_asset,
                   trade_id)  # fmt: skip


def test_pnl_is_realised_plus_unrealised_at_the_last_price_minus_fees() -> None:
    book = BotBook()
    book.apply(fill("1", "buy", "100", "2", fee="0.2"))  # 2 BTC for 200
    book.apply(fill("2", "buy", "130", "1", fee="0.13"))  # 3 BTC for 330: 110 each
    book.apply(fill("3", "sell", "120", "1.5", fee="0.18"))  # realises 1.5 x (120 - 110)
    book.apply(fill("4", "buy", "10", "5", symbol="ETH/USDT"))  # 5 ETH for 50
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
    book.apply(fill("1", "buy", "100", "1", fee="1"))
    pnl = book.pnl("USDT", {}.get)
    assert pnl is not None and (pnl.unrealized, pnl.total) == (D(0), D(-1))


def test_a_fill_delivered_twice_is_counted_once() -> None:
    book = BotBook()
    assert book.apply(fill("7", "buy", "100", "1", fee="0.1"))
    assert not book.apply(fill("7", "buy", "100", "1", fee="0.1"))  # redelivered
    assert book.apply(fill("7", "buy", "100", "1", symbol="ETH/USDT"))  # another market's 7
    assert book.fills == 2
    pnl = book.pnl("USDT", {"BTC/USDT": D(110), "ETH/USDT": D(100)}.get)
    assert pnl is not None and pnl.total == D(10) - D("0.1")
    # The figures of the API (`bot_results`) are the same book's.
    usdt = bot_results([fill("7", "buy", "100", "1", fee="0.1")] * 2).by_quote["USDT"]
    assert (usdt.bought, usdt.fees) == (D(100), D("0.1"))


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


def test_a_bots_limit_is_the_tighter_of_its_own_and_the_platform_ceiling() -> None:
    ceiling = RiskLimits(max_drawdown=D("0.2"))
    own = bot_limit(D("0.1"), ceiling)
    assert own is not None and (own.value, own.set_by) == (D("0.1"), "bot")
    platform = bot_limit(D("0.3"), ceiling)
    assert platform is not None and (platform.value, platform.set_by) == (D("0.2"), "platform")
    assert bot_limit(None, RiskLimits()) is None
    assert bot_breach(own, -0.099) is None
    assert bot_breach(own, -0.125) == (
        "risk limit: the bot's drawdown 12.50 % reached the bot's limit of 10.00 %"
    )
