"""A bot's results from its own fills: realised PnL at average cost, fees valued in the
quote (base fees at the fill's price, others apart), a sell of more than the bot bought
realising nothing on the excess, figures per quote asset."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.bot_pnl import BotFill, Holding, bot_results
from tradewind.domain.model import Side

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
