"""Small builders for matching-engine tests: a fresh engine per test, no shared state."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import Instrument
from tradewind.venues.simulated.matching import InstrumentSpec, MatchingEngine, SymbolFilters

D = Decimal
BTC_USDT = "BTC/USDT"
ETH_BTC = "ETH/BTC"
T0 = 1_700_000_000_000_000_000  # ns


def btc_usdt(**overrides: Decimal | bool) -> InstrumentSpec:
    """BTC/USDT with Binance-like filters: tick 0.01, step 0.00001, min notional 5."""
    filters: dict[str, Decimal | bool] = {
        "tick_size": D("0.01"),
        "step_size": D("0.00001"),
        "min_price": D("0.01"),
        "max_price": D("1000000"),
        "min_qty": D("0.00001"),
        "max_qty": D("9000"),
        "min_notional": D("5"),
    }
    filters.update(overrides)
    return InstrumentSpec(Instrument.parse("sim", BTC_USDT), SymbolFilters(**filters))  # type: ignore[arg-type]


def eth_btc() -> InstrumentSpec:
    """ETH/BTC: tick 0.00001 BTC, step 0.0001 ETH, min notional 0.0001 BTC."""
    filters = SymbolFilters(
        tick_size=D("0.00001"),
        step_size=D("0.0001"),
        min_qty=D("0.0001"),
        max_qty=D("100000"),
        min_notional=D("0.0001"),
    )
    return InstrumentSpec(Instrument.parse("sim", ETH_BTC), filters)


def make_engine(
    *specs: InstrumentSpec, maker_fee: str = "0.001", taker_fee: str = "0.001"
) -> MatchingEngine:
    """An engine listing `specs` (BTC/USDT if none) with the given default fees."""
    engine = MatchingEngine(maker_fee=D(maker_fee), taker_fee=D(taker_fee))
    for spec in specs or (btc_usdt(),):
        engine.add_instrument(spec)
    return engine


def funded_engine(*accounts: str, usdt: str = "1000000", btc: str = "100") -> MatchingEngine:
    """A BTC/USDT engine where every account holds `usdt` USDT and `btc` BTC."""
    engine = make_engine()
    for account in accounts:
        engine.deposit(account, "USDT", D(usdt))
        engine.deposit(account, "BTC", D(btc))
    return engine


def fine_eth_btc() -> InstrumentSpec:
    """ETH/BTC on the replays' grid: tick 0.00000001 BTC, step 0.00001 ETH, min notional
    0.0001 BTC. Its notional unit is 10**-13 BTC, finer than the 10**-8 balances move in."""
    filters = SymbolFilters(
        tick_size=D("0.00000001"),
        step_size=D("0.00001"),
        min_price=D("0.00000001"),
        min_qty=D("0.00001"),
        max_qty=D("9000000"),
        min_notional=D("0.0001"),
    )
    return InstrumentSpec(Instrument.parse("sim", ETH_BTC), filters)
