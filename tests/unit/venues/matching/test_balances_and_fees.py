"""Deposits, holds and maker/taker fees charged in the asset each side receives."""

from __future__ import annotations

import pytest

from tradewind.domain.model import Side
from tradewind.venues.simulated.matching import MatchingError

from .factories import BTC_USDT, ETH_BTC, T0, D, btc_usdt, eth_btc, make_engine


def test_deposit_credits_the_free_balance() -> None:
    engine = make_engine()

    balance = engine.deposit("alice", "USDT", D("123.45"))
    engine.deposit("alice", "USDT", D("0.55"))

    assert (balance.free, balance.locked) == (D("123.45"), D("0"))
    assert engine.balance("alice", "USDT").free == D("124")
    assert engine.total_deposits() == {"USDT": D("124")}


@pytest.mark.parametrize("amount", ["0", "-1", "1E-19"])
def test_deposit_of_a_non_positive_or_too_precise_amount_is_refused(amount: str) -> None:
    with pytest.raises(MatchingError):
        make_engine().deposit("alice", "USDT", D(amount))


def test_deposit_of_a_float_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="never a float"):
        make_engine().deposit("alice", "USDT", 1.5)  # type: ignore[arg-type]


def test_deposit_of_an_int_is_accepted() -> None:
    assert make_engine().deposit("alice", "USDT", 7).free == D("7")  # type: ignore[arg-type]


def test_unknown_account_has_zero_balances() -> None:
    balance = make_engine().balance("nobody", "BTC")
    assert (balance.free, balance.locked) == (D("0"), D("0"))


def test_maker_and_taker_fees_are_charged_in_the_asset_each_receives() -> None:
    engine = make_engine(maker_fee="0.001", taker_fee="0.002")
    engine.deposit("maker", "BTC", D("1"))
    engine.deposit("taker", "USDT", D("20000"))
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.5"), D("20000"), ts_ns=T0)

    trade = engine.submit_limit("taker", BTC_USDT, Side.BUY, D("0.5"), D("20000"), ts_ns=T0).trades[
        0
    ]

    assert (trade.maker_fee, trade.maker_fee_asset) == (D("10"), "USDT")
    assert (trade.taker_fee, trade.taker_fee_asset) == (D("0.001"), "BTC")
    assert engine.balance("maker", "USDT").free == D("9990")
    assert engine.balance("maker", "BTC").free == D("0.5")
    assert engine.balance("taker", "BTC").free == D("0.499")
    assert engine.balance("taker", "USDT").free == D("10000")
    assert engine.fees_collected() == {"BTC": D("0.001"), "USDT": D("10")}


def test_account_fee_rates_can_be_changed_and_apply_to_resting_orders() -> None:
    engine = make_engine()
    engine.deposit("maker", "BTC", D("1"))
    engine.deposit("taker", "USDT", D("20000"))
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.5"), D("20000"), ts_ns=T0)
    engine.set_fee_rates("maker", maker=D("0"), taker=D("0.00075"))

    trade = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.5"), ts_ns=T0).trades[0]

    assert engine.fee_rates("maker") == (D("0"), D("0.00075"))
    assert trade.maker_fee == 0
    assert engine.balance("maker", "USDT").free == D("10000")


def test_fee_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="fee rate"):
        make_engine().set_fee_rates("alice", maker=D("-0.001"), taker=D("0.001"))


def test_fees_are_rounded_down_to_eight_decimals_as_binance_commissions_are() -> None:
    # Fees of more than 8 decimals gave balances like "9788.93474152889", which
    # Binance clients cannot show or spend.
    engine = make_engine(maker_fee="0.00075", taker_fee="0.0015")
    engine.deposit("maker", "BTC", D("1"))
    engine.deposit("taker", "USDT", D("100"))
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.00103"), D("20000.01"), ts_ns=T0)

    buy = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.00103"), ts_ns=T0)
    [trade] = buy.trades

    assert trade.taker_fee == D("0.00000154")  # 0.00103 * 0.0015 = 0.000001545
    assert trade.maker_fee == D("0.01545000")  # 20.6000103 * 0.00075 = 0.015450007725
    assert engine.balance("taker", "BTC").free == D("0.00103") - D("0.00000154")
    assert engine.balance("maker", "USDT").free == D("20.6000103") - D("0.01545")


def test_an_asset_can_be_base_of_one_book_and_quote_of_another() -> None:
    engine = make_engine(btc_usdt(), eth_btc(), maker_fee="0", taker_fee="0")
    engine.deposit("alice", "USDT", D("30000"))
    engine.deposit("bob", "BTC", D("1"))
    engine.deposit("bob", "ETH", D("10"))
    engine.submit_limit("bob", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("bob", ETH_BTC, Side.SELL, D("10"), D("0.05"), ts_ns=T0)

    engine.submit_market("alice", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)
    engine.submit_market("alice", ETH_BTC, Side.BUY, quantity=D("10"), ts_ns=T0)

    assert {a: b.free for a, b in engine.balances("alice").items()} == {
        "USDT": D("0"),
        "BTC": D("0.5"),
        "ETH": D("10"),
    }
    assert engine.balance("bob", "BTC").free == D("0.5")
