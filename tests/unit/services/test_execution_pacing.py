"""Which venues execution's gate paces by Binance's published windows
(`TRADEWIND_EXECUTION_RATE_LIMITS`): in `auto`, only those that publish them — the
simulated Binance-compatible venues served over HTTP and real venues declared `binance`
or `binance-testnet` — not Coinbase or generic ccxt venues (ccxt's own limiter paces
those), nor the in-process simulated exchange."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tradewind.services.execution.service import _unlimited_venues
from tradewind.services.execution.settings import ExecutionSettings
from tradewind.venues.catalog import parse_venues
from tradewind.venues.directory import CcxtVenues, SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec

SIMULATED = {"sim": "http://127.0.0.1:8765"}
DECLARED = "bn=binance,bt=binance-testnet,cb=coinbase,kr=ccxt:kraken"


def networked() -> CcxtVenues:
    return CcxtVenues(SIMULATED, parse_venues(DECLARED, SIMULATED))


@pytest.mark.parametrize(
    ("policy", "unpaced"),
    [
        ("auto", {"cb", "kr"}),
        ("binance", set()),
        ("off", {"sim", "bn", "bt", "cb", "kr"}),
    ],
)
def test_binance_windows_pace_only_the_venues_that_publish_them(
    policy: str, unpaced: set[str]
) -> None:
    settings = ExecutionSettings(execution_rate_limits=policy)  # type: ignore[arg-type]
    assert _unlimited_venues(settings, networked(), frozenset()) == unpaced


def test_the_in_process_exchange_is_never_paced_in_auto() -> None:
    now_ms = time.time_ns() // 1_000_000
    market = SyntheticMarket({"BTC/USDT": SyntheticSpec(Decimal(30_000))}, start_ms=now_ms)
    venues = SimulatedVenues(SimulatedExchange(market))
    local = frozenset(venues.names)
    assert _unlimited_venues(ExecutionSettings(), venues, local) == local
