"""A strategy's view of its account moves with each fill by the amounts the venue moved:
the quote it reported (rounded to its precision), not price x quantity."""

from __future__ import annotations

import time
from decimal import Decimal

from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.services.strategy.account_view import AccountView

D = Decimal
ETH_BTC = Instrument.parse("sim", "ETH/BTC")


def fill(side: Side, trade_id: str, quote: str | None) -> Fill:
    return Fill(
        account_id="a1", client_order_id=f"tw-{trade_id}", venue_order_id="1",
        trade_id=trade_id, instrument=ETH_BTC, side=side, price=D("0.09128012"),
        quantity=D("0.12345"), fee=D(0), fee_asset="BTC", liquidity=Liquidity.TAKER,
        ts_ns=time.time_ns(), quote_quantity=None if quote is None else D(quote),
    )  # fmt: skip


def test_a_fill_moves_the_quote_the_venue_reported() -> None:
    view = AccountView("a1", "sim", {}, {})
    view.apply_portfolio({"BTC": D("1")}, ts_ns=1)
    # 0.12345 x 0.09128012 = 0.0112685308140, which the venue moved as 0.01126853.
    assert view.apply_fill(fill(Side.BUY, "7", "0.01126853"))
    assert view.total("BTC") == D("0.98873147") and view.total("ETH") == D("0.12345")
    assert view.apply_fill(fill(Side.SELL, "8", "0.01126853"))
    assert view.total("BTC") == D("1") and view.total("ETH") == 0


def test_a_fill_without_a_reported_quote_moves_price_times_quantity() -> None:
    view = AccountView("a1", "sim", {}, {})
    view.apply_portfolio({"BTC": D("1")}, ts_ns=1)
    assert view.apply_fill(fill(Side.BUY, "7", None))
    assert view.total("BTC") == D("1") - D("0.0112685308140")
