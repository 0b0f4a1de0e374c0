"""Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL, and malformed numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.model import Instrument, Side
from tradewind.venues.simulated.matching import (
    InstrumentSpec,
    InvalidInstrumentSpec,
    SubmitRejected,
    SymbolFilters,
    UnknownSymbol,
)

from .factories import BTC_USDT, T0, D, btc_usdt, funded_engine, make_engine


def _reject(price: str, quantity: str, **filters: Decimal) -> SubmitRejected:
    engine = make_engine(btc_usdt(**filters))
    engine.deposit("alice", "USDT", D("10000000"))
    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_limit("alice", BTC_USDT, Side.BUY, D(quantity), D(price), ts_ns=T0)
    assert engine.all_orders("alice") == []
    assert engine.balance("alice", "USDT").locked == 0
    return rejected.value


def test_price_not_on_tick_is_rejected_with_price_filter() -> None:
    rejected = _reject("30000.005", "1")
    assert (rejected.code, rejected.msg) == (-1013, "Filter failure: PRICE_FILTER")


@pytest.mark.parametrize("price", ["1000000.01", "0.005", "1E+40"])
def test_price_outside_the_allowed_range_is_rejected_with_price_filter(price: str) -> None:
    assert _reject(price, "0.001").msg == "Filter failure: PRICE_FILTER"


def test_price_below_min_price_is_rejected_with_price_filter() -> None:
    assert _reject("99.99", "1", min_price=D("100")).msg == "Filter failure: PRICE_FILTER"


def test_quantity_not_on_step_is_rejected_with_lot_size() -> None:
    rejected = _reject("30000", "0.000015")
    assert (rejected.code, rejected.msg) == (-1013, "Filter failure: LOT_SIZE")


def test_quantity_below_min_qty_is_rejected_with_lot_size() -> None:
    assert _reject("30000", "0.0009", min_qty=D("0.001")).msg == "Filter failure: LOT_SIZE"


def test_quantity_above_max_qty_is_rejected_with_lot_size() -> None:
    assert _reject("1", "9000.00001").msg == "Filter failure: LOT_SIZE"


def test_order_below_min_notional_is_rejected_with_notional() -> None:
    rejected = _reject("30000", "0.00016")  # 4.80 USDT < 5
    assert (rejected.code, rejected.msg) == (-1013, "Filter failure: NOTIONAL")


def test_order_above_max_notional_is_rejected_with_notional() -> None:
    assert _reject("30000", "2", max_notional=D("50000")).msg == "Filter failure: NOTIONAL"


def test_order_exactly_at_min_notional_is_accepted() -> None:
    engine = funded_engine("alice")
    result = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("0.0005"), D("10000"), ts_ns=T0)
    assert result.order.is_open


@pytest.mark.parametrize("price", ["0", "-1", "NaN", "Infinity", "-0.01"])
def test_non_positive_or_non_finite_price_is_invalid(price: str) -> None:
    rejected = _reject(price, "1")
    assert (rejected.code, rejected.msg) == (-1013, "Invalid price.")


@pytest.mark.parametrize("quantity", ["0", "-0.5", "NaN"])
def test_non_positive_or_non_finite_quantity_is_invalid(quantity: str) -> None:
    rejected = _reject("30000", quantity)
    assert (rejected.code, rejected.msg) == (-1013, "Invalid quantity.")


def test_quote_amount_with_more_than_18_decimals_is_rejected_with_1111() -> None:
    engine = funded_engine("alice")
    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_market(
            "alice", BTC_USDT, Side.BUY, quote_quantity=D("10.0000000000000000001"), ts_ns=T0
        )
    assert rejected.value.code == -1111


def test_unknown_symbol_is_rejected_with_1121() -> None:
    engine = funded_engine("alice")
    with pytest.raises(UnknownSymbol) as rejected:
        engine.submit_limit("alice", "DOGE/USDT", Side.BUY, D("1"), D("1"), ts_ns=T0)
    assert (rejected.value.code, rejected.value.msg) == (-1121, "Invalid symbol.")


def test_tick_size_that_is_not_a_power_of_ten_is_honoured() -> None:
    engine = make_engine(btc_usdt(tick_size=D("0.05"), min_price=D("0.05")))
    engine.deposit("alice", "USDT", D("1000000"))

    engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000.05"), ts_ns=T0)
    with pytest.raises(SubmitRejected, match="PRICE_FILTER"):
        engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000.07"), ts_ns=T0)


def test_filters_that_cannot_be_represented_exactly_are_refused_at_listing() -> None:
    off_tick = SymbolFilters(tick_size=D("0.01"), step_size=D("1"), min_price=D("0.015"))
    with pytest.raises(InvalidInstrumentSpec, match="min_price"):
        make_engine(InstrumentSpec(Instrument.parse("sim", "X/Y"), off_tick))
    too_fine = SymbolFilters(tick_size=D("1E-10"), step_size=D("1E-10"))
    with pytest.raises(InvalidInstrumentSpec, match="tick_size \\* step_size"):
        make_engine(InstrumentSpec(Instrument.parse("sim", "X/Y"), too_fine))
    # Base amounts are whole lot steps, so a step finer than 10**-8 would move balances
    # in amounts Binance cannot show.
    fine_step = SymbolFilters(tick_size=D("1"), step_size=D("1E-9"))
    with pytest.raises(InvalidInstrumentSpec, match="step_size=1E-9 is finer than 10\\*\\*-8"):
        make_engine(InstrumentSpec(Instrument.parse("sim", "X/Y"), fine_step))


def test_an_instrument_cannot_be_listed_twice() -> None:
    engine = make_engine()
    with pytest.raises(ValueError, match="already listed"):
        engine.add_instrument(btc_usdt())
