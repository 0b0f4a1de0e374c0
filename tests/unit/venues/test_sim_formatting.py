"""Binance's shapes of amounts and of exchangeInfo's filters: balances and commissions
with 8 decimals, real maxima where the instrument leaves them open."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import Instrument
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.matching import InstrumentSpec, SymbolFilters
from tradewind.venues.simulated.server.exchange_info import symbol_info
from tradewind.venues.simulated.server.formatting import (
    commission_amount,
    free_amount,
    locked_amount,
)


def test_balances_and_commissions_are_quantized_to_eight_decimals() -> None:
    assert free_amount(Decimal("1000.123456789")) == "1000.12345678"
    assert locked_amount(Decimal("0.000000001")) == "0.00000001"
    assert commission_amount(Decimal("0.0369184623")) == "0.03691847"
    assert free_amount(Decimal("5")) == locked_amount(Decimal("5")) == "5.00000000"
    assert commission_amount(Decimal("0.00000100")) == "0.00000100"


def test_free_rounded_down_plus_locked_rounded_up_keep_an_eight_decimal_total() -> None:
    total = Decimal("10.00000000")
    locked = Decimal("3.1234567891")
    assert Decimal(free_amount(total - locked)) + Decimal(locked_amount(locked)) == total


def filters_of(spec: InstrumentSpec) -> dict[str, dict[str, object]]:
    info = symbol_info(spec, "BTCUSDT")
    filters = info["filters"]
    assert isinstance(filters, list)
    return {f["filterType"]: f for f in filters}


def test_open_maxima_are_published_as_binance_sets_them() -> None:
    filters = filters_of(spec_for("sim", "BTC/USDT", Decimal("30000")))
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["PRICE_FILTER"]["maxPrice"] == "1000000.00000000"  # 10**8 ticks
    assert filters["NOTIONAL"]["maxNotional"] == "9000000.00000000"


def test_an_instrument_maximum_is_published_as_it_is() -> None:
    spec = InstrumentSpec(
        Instrument.parse("sim", "BTC/USDT"),
        SymbolFilters(
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.001"),
            max_price=Decimal("500000"),
            max_notional=Decimal("250000"),
        ),
    )
    filters = filters_of(spec)
    assert filters["PRICE_FILTER"]["maxPrice"] == "500000.00000000"
    assert filters["NOTIONAL"]["maxNotional"] == "250000.00000000"
